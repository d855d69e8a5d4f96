//! lxc-console and lxc-start -F with real containers, driven through tmux
//! (a real terminal), plus the non-tty path.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use env::{stderr, stdout, Env};

/// A tmux session that is killed on drop.
struct Tmux(String);

impl Tmux {
    fn new(tag: &str, cmd: &str, w: u32, h: u32) -> Tmux {
        let name = format!("lxcbox-{tag}-{}", std::process::id());
        let st = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                &w.to_string(),
                "-y",
                &h.to_string(),
                cmd,
            ])
            .status()
            .expect("tmux (Debian package tmux) is needed for the console tests");
        assert!(st.success());
        Tmux(name)
    }
    fn keys(&self, keys: &[&str]) {
        let mut c = Command::new("tmux");
        c.args(["send-keys", "-t", &self.0]).args(keys);
        assert!(c.status().unwrap().success());
    }
    fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["has-session", "-t", &self.0])
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
    fn wait_screen(&self, what: &str) -> String {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {what:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    fn wait_gone(&self) {
        let end = Instant::now() + Duration::from_secs(20);
        while self.alive() {
            assert!(
                Instant::now() < end,
                "tmux session did not end:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

fn cmdline(e: &Env, applet: &str, args: &str) -> String {
    format!(
        "env LXCBOX_RUNDIR='{}' '{}' {applet} -P '{}' {args}",
        e.rundir().display(),
        env::bin(),
        e.lxcpath()
    )
}

#[test]
fn console_detach_and_reattach_keeps_the_session() {
    let e = Env::new("cons");
    let r = e.busybox(
        "bb",
        "lxc.uts.name = bb\nlxc.tty.max = 2\nlxc.mount.auto = proc:mixed sys:mixed\n",
    );
    std::os::unix::fs::symlink("../bin/busybox", r.join("sbin/init")).unwrap();
    std::fs::write(
        r.join("etc/inittab"),
        "tty1::respawn:/bin/sh\n::respawn:/bin/sleep 1000\n",
    )
    .unwrap();
    let o = e.run("lxc-start", &["-n", "bb"]);
    assert!(o.status.success(), "{}", stderr(&o));

    let t = Tmux::new("c1", &cmdline(&e, "lxc-console", "-n bb -t 1"), 100, 30);
    t.wait_screen("Connected to tty 1");
    t.keys(&["Enter"]);
    t.keys(&["MARK=state-kept-42; cd /etc", "Enter"]);
    t.keys(&["C-a", "q"]);
    t.wait_gone();

    let t = Tmux::new("c2", &cmdline(&e, "lxc-console", "-n bb -t 1"), 100, 30);
    t.wait_screen("Connected to tty 1");
    t.keys(&["echo \"got:$MARK:$(pwd)\"", "Enter"]);
    t.wait_screen("got:state-kept-42:/etc");
    // The tty is busy while attached.
    let o = e.run("lxc-console", &["-n", "bb", "-t", "1"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("in use"), "{}", stderr(&o));
    t.keys(&["C-a", "q"]);
    t.wait_gone();

    let o = e.run("lxc-stop", &["-n", "bb", "-k"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn foreground_console_typing_resize_and_terminal_restored() {
    let e = Env::new("fg");
    let r = e.busybox("f", "lxc.uts.name = f\n");
    std::os::unix::fs::symlink("busybox", r.join("bin/stty")).unwrap();
    let before = e.root.join("stty-before");
    let after = e.root.join("stty-after");
    let script = format!(
        "stty -a > '{}'; {} ; stty -a > '{}'; sleep 30",
        before.display(),
        cmdline(&e, "lxc-start", "-F -n f -- /bin/sh"),
        after.display()
    );
    let t = Tmux::new(
        "fg",
        &format!("sh -c \"{}\"", script.replace('"', "\\\"")),
        100,
        30,
    );
    t.wait_screen("#");
    t.keys(&["stty size", "Enter"]);
    t.wait_screen("30 100");
    let st = Command::new("tmux")
        .args(["resize-window", "-t", &t.0, "-x", "120", "-y", "40"])
        .status()
        .unwrap();
    assert!(st.success());
    std::thread::sleep(Duration::from_millis(200));
    t.keys(&["stty size", "Enter"]);
    t.wait_screen("40 120");
    t.keys(&["exit", "Enter"]);
    let end = Instant::now() + Duration::from_secs(20);
    while !after.exists() {
        assert!(
            Instant::now() < end,
            "lxc-start -F did not return:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    let b = std::fs::read_to_string(&before).unwrap();
    let a = std::fs::read_to_string(&after).unwrap();
    // Same settings (the size line may differ after the resize).
    let strip = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(strip(&b), strip(&a), "terminal not restored");
}

#[test]
fn foreground_without_a_terminal_streams_bytes() {
    let e = Env::new("pipe");
    let mut child = e
        .cmd("lxc-start")
        .args(["-F", "-n", "p", "--", "/bin/sh"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo hi-from-$((40+2)); exit\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        stdout(&o).contains("hi-from-42"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn console_buffer_keeps_output_while_detached() {
    let e = Env::new("buf");
    let o = e.run(
        "lxc-start",
        &[
            "-n",
            "b",
            "--",
            "/bin/sh",
            "-c",
            "echo buffered-line-7; exec sleep 1000",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let o = e.run("lxc-console", &["-n", "b", "--buffer"]);
        if stdout(&o).contains("buffered-line-7") {
            break;
        }
        assert!(Instant::now() < end, "console buffer: {}", stdout(&o));
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = e.run("lxc-stop", &["-n", "b", "-k"]);
    assert_eq!(o.status.code(), Some(0));
}
