//! The proxy on a real terminal, driven through tmux: raw mode, typing,
//! window size at start and after a resize, Ctrl-a q detach, and the user's
//! terminal settings identical afterwards (also when killed by SIGTERM).
//!
//! The test binary re-runs itself inside tmux as the "helper" below, which
//! plays lxc-start -F / lxc-console: a shell on a fresh pty, proxied to the
//! tmux pane.

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use lxcbox::console::{get_winsize, proxy, PtyPair, RawGuard};

const HELPER_ENV: &str = "LXCBOX_CONSOLE_TMUX_HELPER";

/// Run inside tmux by the tests below (`--ignored --exact`), never on its own.
#[test]
#[ignore = "helper process for the tmux tests"]
fn helper_proxy_terminal() {
    let Some(dir) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::write(dir.join("pid"), std::process::id().to_string()).unwrap();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let pair = PtyPair::open(get_winsize(stdin.as_fd())).unwrap();
    let open = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&pair.slave_path)
            .unwrap()
    };
    let mut sh = // A session of its own with the pty as controlling terminal, as the
        // container's init has: otherwise an interactive sh opens /dev/tty
        // (our terminal) and takes its foreground away from us.
        Command::new("setsid")
        .args(["-c", "/bin/sh"])
        .env("PS1", "lxcbox$ ")
        .stdin(Stdio::from(open()))
        .stdout(Stdio::from(open()))
        .stderr(Stdio::from(open()))
        .spawn()
        .unwrap();
    let guard = RawGuard::new(stdin.as_fd()).unwrap();
    let end = proxy(
        stdin.as_fd(),
        stdout.as_fd(),
        pair.master.as_fd(),
        None,
        Some(1),
    );
    drop(guard);
    let _ = sh.kill();
    let _ = sh.wait();
    println!("\r\nPROXY-END {end:?}");
}

/// A tmux session plus a scratch directory; both removed on drop.
struct Tmux {
    name: String,
    dir: PathBuf,
}

impl Tmux {
    fn start(tag: &str) -> Tmux {
        let name = format!("lxcbox-{tag}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let exe = std::env::current_exe().unwrap();
        let d = dir.display();
        let script = format!(
            "stty -a > {d}/before; {HELPER_ENV}={d} {} --ignored --exact helper_proxy_terminal \
             --nocapture --test-threads=1; stty -a > {d}/after; echo ALL-DONE; sleep 600",
            exe.display()
        );
        let t = Tmux { name, dir };
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &t.name, "-x", "100", "-y", "30"])
            .arg(script)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        t
    }

    fn tmux(&self, args: &[&str]) {
        let ok = Command::new("tmux").args(args).status().unwrap().success();
        assert!(ok, "tmux {args:?} failed");
    }

    fn keys(&self, keys: &[&str]) {
        let mut a = vec!["send-keys", "-t", &self.name];
        a.extend_from_slice(keys);
        self.tmux(&a);
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; screen:\n{s}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    fn assert_terminal_restored(&self) {
        let (before, after) = (self.file("before"), self.file("after"));
        assert!(
            before.contains(" icanon"),
            "unexpected initial stty: {before}"
        );
        // Everything but the first line (speed; rows; columns), which a
        // resize legitimately changes.
        let modes = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
        assert_eq!(modes(&before), modes(&after), "terminal settings changed");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn tmux_typing_resize_detach_and_sane_terminal() {
    assert!(have_tmux(), "tmux is required for this test");
    let t = Tmux::start("con");
    t.wait_for("lxcbox$");
    t.keys(&["stty size", "Enter"]);
    t.wait_for("30 100");
    t.keys(&["echo typed$((2+3))", "Enter"]);
    t.wait_for("typed5");
    t.tmux(&["resize-window", "-t", &t.name, "-x", "120", "-y", "40"]);
    // SIGWINCH reaches the proxy, which copies the size to the pty
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        t.keys(&["stty size", "Enter"]);
        thread::sleep(Duration::from_millis(200));
        if t.screen().contains("40 120") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "resize not seen:\n{}",
            t.screen()
        );
    }
    // Ctrl-a Ctrl-a sends one Ctrl-a: at a sh prompt it is just a byte, so
    // check with od that exactly one 0x01 arrived.
    t.keys(&["printf 'x' ; od -An -c", "Enter"]);
    t.keys(&["C-a", "C-a", "Enter", "C-d"]);
    t.wait_for("001  \\n");
    t.keys(&["C-a", "q"]);
    t.wait_for("PROXY-END Ok(Detached)");
    t.wait_for("ALL-DONE");
    t.assert_terminal_restored();
}

#[test]
fn tmux_sigterm_restores_terminal() {
    assert!(have_tmux(), "tmux is required for this test");
    let t = Tmux::start("term");
    t.wait_for("lxcbox$");
    let pid: i32 = t.file("pid").trim().parse().unwrap();
    let pid = rustix::process::Pid::from_raw(pid).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    t.wait_for("ALL-DONE");
    assert!(!t.screen().contains("PROXY-END"), "helper was not killed");
    t.assert_terminal_restored();
}
