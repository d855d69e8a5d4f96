//! The monitor never blocks: clients that connect and say nothing, send
//! half a request, or ask and never read their answer, and an event
//! subscriber that stopped reading, must not keep it from answering
//! others and stopping the container within lxc-stop's own timeout.
//!
//! The timeouts here are lxc-stop's (`-t N --nokill`: exit 0 only if the
//! container reached STOPPED within N seconds). A monitor that waited on
//! any of these peers (the old 2 s socket timeouts, per event and per
//! client) would miss them.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::io::Write;
use std::os::unix::net::{UnixDatagram, UnixStream};

use env::{state, stderr, stdout, Env};
use lxcbox::monitor::client::command_addr;
use lxcbox::monitor::proto::{send_json, Envelope, Request, PROTO_VERSION};

fn uniq(tag: &str) -> String {
    format!("mb-{tag}-{}", std::process::id())
}

/// An init that exits on SIGUSR1 (configured as lxc.signal.halt).
const TRAP_INIT: &str = "trap 'exit 0' USR1; while :; do sleep 0.1; done";

fn start(e: &Env, name: &str, config: &str, script: &str) {
    e.define(name, &format!("lxc.signal.halt = SIGUSR1\n{config}"));
    let o = e.run("lxc-start", &["-n", name, "--", "/bin/sh", "-c", script]);
    assert!(o.status.success(), "lxc-start {name}: {}", stderr(&o));
    assert_eq!(state(e, name), "RUNNING");
}

fn connect(e: &Env, name: &str) -> UnixStream {
    let addr = command_addr(&e.lxcpath(), name).unwrap();
    UnixStream::connect_addr(&addr).unwrap()
}

/// lxc-stop's timeout in these tests, in seconds. Each stuck peer below
/// would have cost a monitor that waits on it 2 s, and there are five.
const STOP_TIMEOUT: u64 = 4;

/// lxc-stop returns within its own timeout, having seen STOPPED without
/// falling back to a kill. (lxc-stop's timeout starts once the monitor has
/// taken the request, so the whole command is what is bounded.)
fn stop_in_time(e: &Env, name: &str) {
    let t = std::time::Instant::now();
    let o = e.run(
        "lxc-stop",
        &["-n", name, "-t", &STOP_TIMEOUT.to_string(), "--nokill"],
    );
    let took = t.elapsed();
    assert_eq!(o.status.code(), Some(0), "lxc-stop: {}", stderr(&o));
    assert!(
        took < std::time::Duration::from_secs(STOP_TIMEOUT),
        "lxc-stop -t {STOP_TIMEOUT} took {took:?}: the monitor waited on a peer"
    );
    assert_eq!(state(e, name), "STOPPED");
}

#[test]
fn silent_and_half_done_clients_do_not_hold_the_monitor() {
    let e = Env::new("mb-silent");
    let n = uniq("silent");
    start(&e, &n, "", TRAP_INIT);
    // One connects and says nothing; one sends half a frame and stalls;
    // many more just connect.
    let _silent = connect(&e, &n);
    let mut half = connect(&e, &n);
    half.write_all(&[200, 0]).unwrap();
    let crowd: Vec<UnixStream> = (0..50).map(|_| connect(&e, &n)).collect();
    let o = e.run("lxc-info", &["-n", &n, "-s"]);
    assert!(stdout(&o).contains("RUNNING"), "{}", stderr(&o));
    // More of them, right before the stop.
    let halves: Vec<UnixStream> = (0..5)
        .map(|_| {
            let mut h = connect(&e, &n);
            h.write_all(&[200, 0, 0]).unwrap();
            h
        })
        .collect();
    stop_in_time(&e, &n);
    drop(halves);
    drop(crowd);
}

#[test]
fn a_client_that_never_reads_its_answer_does_not_hold_the_monitor() {
    let e = Env::new("mb-noread");
    let n = uniq("noread");
    // A console buffer full of output: the answer to console_log is far
    // larger than a socket buffer.
    start(
        &e,
        &n,
        "lxc.console.buffer.size = 1MB\n",
        &format!("i=0; while [ $i -lt 20000 ]; do echo 0123456789012345678901234567890123456789012345; i=$((i+1)); done; {TRAP_INIT}"),
    );
    e.wait_until("the console buffer to fill", || {
        let o = e.run("lxc-console", &["-n", &n, "--buffer"]);
        o.stdout.len() > 900_000
    });
    let ask = |s: &UnixStream, body: Request| {
        send_json(
            s,
            &Envelope {
                v: PROTO_VERSION,
                body,
            },
            &[],
        )
        .unwrap()
    };
    let stuck: Vec<UnixStream> = (0..5)
        .map(|_| {
            let s = connect(&e, &n);
            ask(&s, Request::ConsoleLog { clear: false });
            // Read only after the first answer went out: waits behind it.
            ask(&s, Request::State);
            s
        })
        .collect();
    stop_in_time(&e, &n);
    drop(stuck);
}

#[test]
fn a_subscriber_that_stops_reading_does_not_hold_the_monitor() {
    let e = Env::new("mb-sub");
    let n = uniq("sub");
    start(&e, &n, "", TRAP_INIT);
    // A listener that registers and never reads.
    let dir = lxcbox::monitor::events::subscriber_dir(&e.lxcpath());
    let dir = e
        .rundir()
        .join(dir.strip_prefix(lxcbox::paths::rundir()).unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    let _deaf = UnixDatagram::bind(dir.join("deaf")).unwrap();
    // Four events per cycle: its queue (net.unix.max_dgram_qlen, 10 by
    // default) is full after the third.
    for _ in 0..5 {
        let o = e.run("lxc-freeze", &["-n", &n]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = e.run("lxc-unfreeze", &["-n", &n]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = e.run("lxc-info", &["-n", &n, "-s"]);
    assert!(stdout(&o).contains("RUNNING"), "{}", stderr(&o));
    stop_in_time(&e, &n);
    // The deaf one got what fit into its queue, in order.
    let mut buf = [0u8; 4096];
    _deaf.set_nonblocking(true).unwrap();
    let mut got = Vec::new();
    while let Ok(k) = _deaf.recv(&mut buf) {
        let ev: serde_json::Value = serde_json::from_slice(&buf[..k]).unwrap();
        if let Some(s) = ev["state"].as_str() {
            got.push(s.to_string());
        }
    }
    assert_eq!(
        got[..4],
        ["FREEZING", "FROZEN", "THAWED", "RUNNING"],
        "{got:?}"
    );
}
