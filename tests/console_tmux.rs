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

#[path = "common/tmux.rs"]
mod tmux;
use tmux::Tmux;

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

/// The helper proxy in a tmux session, with the terminal's settings
/// saved before and after.
fn start(tag: &str) -> Tmux {
    let exe = std::env::current_exe().unwrap();
    Tmux::new(tag, |dir| {
        let d = dir.display();
        format!(
            "stty -a > {d}/before; {HELPER_ENV}={d} {} --ignored --exact helper_proxy_terminal \
             --nocapture --test-threads=1; stty -a > {d}/after; echo ALL-DONE; sleep 600",
            exe.display()
        )
    })
}

fn assert_terminal_restored(t: &Tmux) {
    let (before, after) = (t.file("before"), t.file("after"));
    assert!(
        before.contains(" icanon"),
        "unexpected initial stty: {before}"
    );
    // Everything but the first line (speed; rows; columns), which a
    // resize legitimately changes.
    let modes = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(modes(&before), modes(&after), "terminal settings changed");
}

#[test]
fn tmux_typing_resize_detach_and_sane_terminal() {
    let t = start("con");
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
    assert_terminal_restored(&t);
}

#[test]
fn tmux_sigterm_restores_terminal() {
    let t = start("term");
    t.wait_for("lxcbox$");
    let pid: i32 = t.file("pid").trim().parse().unwrap();
    let pid = rustix::process::Pid::from_raw(pid).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    t.wait_for("ALL-DONE");
    assert!(!t.screen().contains("PROXY-END"), "helper was not killed");
    assert_terminal_restored(&t);
}
