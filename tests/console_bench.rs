//! Benchmark helpers (not tests): run with
//! `cargo test --release --test console_bench -- --ignored --exact NAME`
//! under `script` or hyperfine; see docs/console.md "Benchmark".
//!
//! - `bench_fg`: lxc-start -F's console path. A program on the console pty
//!   writes `LXCBOX_BENCH_BYTES` (default 100 MiB) of zeros; the hub copies
//!   them to our stdout (and the ring buffer) until the program exits.
//! - `bench_console`: lxc-console's path, proxy() from a tty master to stdout.

use std::os::fd::{AsFd, AsRawFd};
use std::process::{Command, Stdio};

use lxcbox::console::{proxy, ConsoleHub, HubConfig, PtyPair, RawGuard};
use rustix::event::{poll, PollFd, PollFlags};

fn bytes() -> String {
    std::env::var("LXCBOX_BENCH_BYTES").unwrap_or_else(|_| "104857600".into())
}

fn writer_on(slave: &std::path::Path) -> std::process::Child {
    let f = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(slave)
            .unwrap()
    };
    Command::new("setsid")
        .args(["-c", "head", "-c", &bytes(), "/dev/zero"])
        .stdin(Stdio::from(f()))
        .stdout(Stdio::from(f()))
        .stderr(Stdio::from(f()))
        .spawn()
        .unwrap()
}

#[test]
#[ignore = "benchmark helper"]
fn bench_fg() {
    let mut hub = ConsoleHub::new(&HubConfig::default()).unwrap();
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    hub.attach_local(stdin.as_fd(), stdout.as_fd(), true)
        .unwrap();
    let mut child = writer_on(hub.console_slave().unwrap());
    while child.try_wait().unwrap().is_none() {
        let ready: Vec<(i32, PollFlags)> = {
            let fds = hub.poll_fds();
            let mut p: Vec<PollFd> = fds
                .iter()
                .map(|(fd, fl)| PollFd::from_borrowed_fd(*fd, *fl))
                .collect();
            let t = rustix::time::Timespec {
                tv_sec: 0,
                tv_nsec: 10_000_000,
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
    hub.drain().unwrap();
}

#[test]
#[ignore = "benchmark helper"]
fn bench_console() {
    let pair = PtyPair::open(None).unwrap();
    let mut child = writer_on(&pair.slave_path);
    drop(pair.slave);
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    let _g = RawGuard::new(stdin.as_fd()).ok();
    let end = proxy(
        stdin.as_fd(),
        stdout.as_fd(),
        pair.master.as_fd(),
        None,
        Some(1),
    )
    .unwrap();
    let _ = child.wait();
    drop(_g);
    eprintln!("proxy ended: {end:?}");
}
