//! ConsoleHub + proxy with real ptys and forked shells: tty grants, busy
//! tracking, detach/reconnect with the shell's state intact, the console
//! relay and ring buffer, and the non-tty `lxc-start -F` stream.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use lxcbox::console::{encode_winsize, get_winsize, proxy, ConsoleHub, HubConfig, ProxyEnd};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::time::Timespec;

/// A shell whose stdio is a pty slave; killed on drop.
struct Shell(Child);

impl Shell {
    fn on(slave_path: &std::path::Path) -> Shell {
        let open = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(slave_path)
                .unwrap()
        };
        let child = // A session of its own with the pty as controlling terminal, as the
        // container's init has: otherwise an interactive sh opens /dev/tty
        // (our terminal) and takes its foreground away from us.
        Command::new("setsid")
        .args(["-c", "/bin/sh"])
            .stdin(Stdio::from(open()))
            .stdout(Stdio::from(open()))
            .stderr(Stdio::from(open()))
            .spawn()
            .unwrap();
        Shell(child)
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The monitor's poll loop in a thread; stopped and joined on drop.
struct HubLoop {
    hub: Arc<Mutex<ConsoleHub>>,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl HubLoop {
    fn start(hub: ConsoleHub) -> HubLoop {
        let hub = Arc::new(Mutex::new(hub));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hub.clone(), stop.clone());
        let handle = thread::spawn(move || {
            let tick = Timespec {
                tv_sec: 0,
                tv_nsec: 20_000_000,
            };
            while !s.load(Ordering::Relaxed) {
                let mut hub = h.lock().unwrap();
                let ready: Vec<(i32, PollFlags)> = {
                    let fds = hub.poll_fds();
                    let mut pfds: Vec<PollFd> = fds
                        .iter()
                        .map(|(fd, fl)| PollFd::from_borrowed_fd(*fd, *fl))
                        .collect();
                    poll(&mut pfds, Some(&tick)).unwrap();
                    pfds.iter()
                        .map(|p| (p.as_fd().as_raw_fd(), p.revents()))
                        .collect()
                };
                for (fd, ev) in ready {
                    hub.on_ready(fd, ev).unwrap();
                }
                drop(hub);
                thread::yield_now();
            }
        });
        HubLoop {
            hub,
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for HubLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A simulated lxc-console: proxy() between pipes and the granted peer, in a
/// thread. `input` feeds the user's keystrokes; `output` collects the screen.
struct Client {
    input: Option<OwnedFd>,
    output: Arc<Mutex<Vec<u8>>>,
    handle: Option<thread::JoinHandle<ProxyEnd>>,
}

impl Client {
    fn connect(peer: OwnedFd, session: OwnedFd) -> Client {
        let (in_r, in_w) = rustix::pipe::pipe().unwrap();
        let (out_r, out_w) = rustix::pipe::pipe().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let o = output.clone();
        thread::spawn(move || {
            let mut b = [0u8; 4096];
            while let Ok(n) = rustix::io::read(&out_r, &mut b) {
                if n == 0 {
                    break;
                }
                o.lock().unwrap().extend_from_slice(&b[..n]);
            }
        });
        let handle = thread::spawn(move || {
            let end = proxy(
                in_r.as_fd(),
                out_w.as_fd(),
                peer.as_fd(),
                Some(session.as_fd()),
                Some(1),
            )
            .unwrap();
            drop(session); // the session closes when lxc-console exits
            end
        });
        Client {
            input: Some(in_w),
            output,
            handle: Some(handle),
        }
    }

    fn type_(&self, s: &str) {
        rustix::io::write(self.input.as_ref().unwrap(), s.as_bytes()).unwrap();
    }

    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned();
            if text.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; screen: {text:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ctrl-a q, then wait for the proxy to end.
    fn detach(mut self) -> ProxyEnd {
        self.type_("\x01q");
        let end = self.handle.take().unwrap().join().unwrap();
        self.input = None;
        end
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            if let Some(i) = &self.input {
                let _ = rustix::io::write(i, b"\x01q");
            }
            let _ = h.join();
        }
    }
}

fn cfg(ttys: u32) -> HubConfig {
    HubConfig {
        tty_max: ttys,
        ..Default::default()
    }
}

#[test]
fn tty_detach_reconnect_keeps_state_and_busy_is_refused() {
    let hub = ConsoleHub::new(&cfg(2)).unwrap();
    let tty1 = hub.tty_slaves()[0].to_path_buf();
    let _sh = Shell::on(&tty1);
    let hl = HubLoop::start(hub);

    let g = hl.hub.lock().unwrap().take_tty(Some(1)).unwrap();
    assert_eq!(g.tty, 1);
    let c = Client::connect(g.peer, g.session);
    c.type_("cd /tmp; X=41\necho ready$((X+1))\n");
    c.wait_for("ready42");

    // While held: busy. The first free one is tty2.
    let err = hl.hub.lock().unwrap().take_tty(Some(1)).unwrap_err();
    assert!(format!("{err:#}").contains("already in use"), "{err:#}");
    let g2 = hl.hub.lock().unwrap().take_tty(None).unwrap();
    assert_eq!(g2.tty, 2);
    drop(g2); // its client "exits" without ever connecting
    assert_eq!(c.detach(), ProxyEnd::Detached);

    // Reconnect at once: the shell is the same one, cwd and variable intact.
    let g = hl.hub.lock().unwrap().take_tty(Some(1)).unwrap();
    let c = Client::connect(g.peer, g.session);
    c.type_("echo again$X:$PWD\n");
    c.wait_for("again41:/tmp");
    assert_eq!(c.detach(), ProxyEnd::Detached);
    let busy = hl.hub.lock().unwrap().busy();
    assert_eq!(busy.len(), 3);
    assert!(
        hl.hub.lock().unwrap().take_tty(Some(3)).is_err(),
        "tty3 does not exist"
    );
}

#[test]
fn console_relay_buffers_output_while_detached() {
    let hub = ConsoleHub::new(&cfg(0)).unwrap();
    let console = hub.console_slave().unwrap().to_path_buf();
    let _sh = Shell::on(&console);
    let hl = HubLoop::start(hub);
    assert!(hl.hub.lock().unwrap().take_tty(None).is_err(), "no ttys");

    let g = hl.hub.lock().unwrap().take_tty(Some(0)).unwrap();
    assert_eq!(g.tty, 0);
    let c = Client::connect(g.peer, g.session);
    c.type_("echo con$((6*7))\n");
    c.wait_for("con42");
    assert!(hl.hub.lock().unwrap().take_tty(Some(0)).is_err());
    // Output after detaching still reaches the ring buffer.
    c.type_("(sleep 0.3; echo late$((1+1))) &\n");
    assert_eq!(c.detach(), ProxyEnd::Detached);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let buf = hl.hub.lock().unwrap().buffer_contents();
        let text = String::from_utf8_lossy(&buf).into_owned();
        if text.contains("late2") {
            assert!(text.contains("con42"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "late output not buffered: {text:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
    // and the console is free again
    let g = hl.hub.lock().unwrap().take_tty(Some(0)).unwrap();
    assert_eq!(g.tty, 0);
}

#[test]
fn foreground_non_tty_stream_prints_hi() {
    // `echo 'echo hi; exit' | lxc-start -F -- /bin/sh`, minus the container.
    let mut hub = ConsoleHub::new(&cfg(0)).unwrap();
    let (in_r, in_w) = rustix::pipe::pipe().unwrap();
    let (out_r, out_w) = rustix::pipe::pipe().unwrap();
    hub.attach_local(in_r.as_fd(), out_w.as_fd(), false)
        .unwrap();
    drop((in_r, out_w));
    rustix::io::write(&in_w, b"echo hi; exit\n").unwrap();
    drop(in_w);
    let console = hub.console_slave().unwrap().to_path_buf();
    let mut sh = Shell::on(&console);
    let reader = thread::spawn(move || {
        let mut all = Vec::new();
        let mut b = [0u8; 4096];
        while let Ok(n) = rustix::io::read(&out_r, &mut b) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&b[..n]);
        }
        all
    });
    let tick = Timespec {
        tv_sec: 0,
        tv_nsec: 20_000_000,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while sh.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "shell did not exit");
        let ready: Vec<(i32, PollFlags)> = {
            let fds = hub.poll_fds();
            let mut pfds: Vec<PollFd> = fds
                .iter()
                .map(|(fd, fl)| PollFd::from_borrowed_fd(*fd, *fl))
                .collect();
            poll(&mut pfds, Some(&tick)).unwrap();
            pfds.iter()
                .map(|p| (p.as_fd().as_raw_fd(), p.revents()))
                .collect()
        };
        for (fd, ev) in ready {
            hub.on_ready(fd, ev).unwrap();
        }
    }
    hub.drain().unwrap();
    drop(hub); // closes our copy of stdout
    let out = String::from_utf8(reader.join().unwrap()).unwrap();
    assert!(
        // an interactive sh on a tty prompts ("# ") before the output
        out.lines()
            .any(|l| l.trim_end_matches('\r').trim_start_matches("# ") == "hi"),
        "no 'hi' line in {out:?}"
    );
}

#[test]
fn console_window_size_follows_session_messages() {
    let hub = ConsoleHub::new(&cfg(0)).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(hub.console_slave().unwrap())
        .unwrap();
    let hl = HubLoop::start(hub);
    let g = hl.hub.lock().unwrap().take_tty(Some(0)).unwrap();
    let ws = rustix::termios::Winsize {
        ws_row: 51,
        ws_col: 132,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::net::send(
        &g.session,
        &encode_winsize(&ws),
        rustix::net::SendFlags::empty(),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = get_winsize(&slave).unwrap();
        if (got.ws_row, got.ws_col) == (51, 132) {
            break;
        }
        assert!(Instant::now() < deadline, "size not applied");
        thread::sleep(Duration::from_millis(20));
    }
    // piped stdin ending on the client side becomes EOF for the console
    let mut t = rustix::termios::tcgetattr(&slave).unwrap();
    assert!(t.local_modes.contains(rustix::termios::LocalModes::ICANON));
    t.local_modes.remove(rustix::termios::LocalModes::ECHO);
    rustix::termios::tcsetattr(&slave, rustix::termios::OptionalActions::Now, &t).unwrap();
    rustix::io::write(&g.peer, b"line\n").unwrap();
    rustix::net::shutdown(&g.peer, rustix::net::Shutdown::Write).unwrap();
    let mut b = [0u8; 64];
    assert_eq!(rustix::io::read(&slave, &mut b).unwrap(), 5);
    assert_eq!(&b[..5], b"line\n");
    // the next read sees end of file (0 bytes), not a hang
    assert_eq!(rustix::io::read(&slave, &mut b).unwrap(), 0);
}

#[test]
fn console_config_none_file_and_log() {
    let dir = std::env::temp_dir().join(format!("lxcbox-hubcfg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _c = Cleanup(dir.clone());

    // lxc.console.path = none: no console pty, tty 0 refused, ttys still work
    let mut hub = ConsoleHub::new(&HubConfig {
        console_path: Some("none".into()),
        tty_max: 1,
        ..Default::default()
    })
    .unwrap();
    assert!(hub.console_slave().is_none());
    let err = hub.take_tty(Some(0)).unwrap_err();
    assert!(format!("{err:#}").contains("disabled"), "{err:#}");
    assert_eq!(hub.take_tty(None).unwrap().tty, 1);

    // lxc.console.path = FILE plus lxc.console.logfile: output lands in both
    // and in the ring buffer
    let (path, log) = (dir.join("console.out"), dir.join("console.log"));
    let mut hub = ConsoleHub::new(&HubConfig {
        console_path: Some(path.display().to_string()),
        logfile: Some(log.clone()),
        ..Default::default()
    })
    .unwrap();
    let slave = hub.console_slave().unwrap().to_path_buf();
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .open(&slave)
        .unwrap();
    std::io::Write::write_all(&mut w, b"boot message\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&hub.buffer_contents()).contains("boot message") {
        assert!(Instant::now() < deadline, "console output not read");
        let ready: Vec<(i32, PollFlags)> = {
            let fds = hub.poll_fds();
            let mut p: Vec<PollFd> = fds
                .iter()
                .map(|(fd, fl)| PollFd::from_borrowed_fd(*fd, *fl))
                .collect();
            let t = Timespec {
                tv_sec: 0,
                tv_nsec: 20_000_000,
            };
            poll(&mut p, Some(&t)).unwrap();
            p.iter()
                .map(|p| (p.as_fd().as_raw_fd(), p.revents()))
                .collect()
        };
        for (fd, ev) in ready {
            hub.on_ready(fd, ev).unwrap();
        }
    }
    // the tty turned \n into \r\n (onlcr), as a real console does
    assert_eq!(std::fs::read(&path).unwrap(), b"boot message\r\n");
    assert_eq!(std::fs::read(&log).unwrap(), b"boot message\r\n");
    hub.rotate_log().unwrap();
    assert!(dir.join("console.log.1").exists());
    hub.clear_buffer();
    assert!(hub.buffer_contents().is_empty());
}
