//! Shared helpers of the tests/net_*.rs integration tests (root only).
//!
//! A "container" here is a parked thread in a fresh network namespace
//! (network namespaces are per thread); its thread id works as the pid for
//! IFLA_NET_NS_PID and /proc/PID/ns/net. Links the tests make are named
//! `lxbt<pid><tag>` and removed by Drop guards.
#![allow(dead_code)]

use std::net::IpAddr;
use std::process::Command;
use std::sync::mpsc::{channel, Sender};
use std::thread::JoinHandle;

use lxcbox::net::raw::{self, Change, Kind, NewLink, Socket};

type Job = Box<dyn FnOnce() + Send>;

/// A thread parked in its own network namespace, running jobs on request.
pub struct NsThread {
    tid: i32,
    tx: Option<Sender<Job>>,
    handle: Option<JoinHandle<()>>,
}

impl NsThread {
    pub fn new() -> Self {
        let (tx, rx) = channel::<Job>();
        let (tid_tx, tid_rx) = channel();
        let handle = std::thread::spawn(move || {
            lxcbox::sys::net::unshare_netns().expect("unshare(CLONE_NEWNET)");
            tid_tx
                .send(rustix::thread::gettid().as_raw_nonzero().get())
                .unwrap();
            while let Ok(job) = rx.recv() {
                job();
            }
        });
        let tid = tid_rx.recv().expect("namespace thread started");
        NsThread {
            tid,
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    pub fn pid(&self) -> i32 {
        self.tid
    }

    /// Runs `f` inside the namespace and returns its result.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (rtx, rrx) = channel();
        let job: Job = Box::new(move || {
            let _ = rtx.send(f());
        });
        self.tx.as_ref().unwrap().send(job).unwrap();
        rrx.recv().expect("job ran")
    }

    /// `busybox ping -c 1` from inside the namespace; true if answered.
    pub fn ping(&self, to: &str) -> bool {
        let to = to.to_string();
        self.run(move || {
            Command::new("/bin/busybox")
                .args(["ping", "-c", "1", "-W", "3", &to])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        })
    }

    /// Names of the links inside the namespace.
    pub fn links(&self) -> Vec<String> {
        lxcbox::net::links_of_pid(self.tid).unwrap()
    }
}

impl Drop for NsThread {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A unique test link name: lxbt<pid><tag> (tag short, names <= 15 bytes).
pub fn name(tag: &str) -> String {
    format!("lxbt{}{tag}", std::process::id() % 100000)
}

/// Deletes a host link by name on drop (and whatever is still there).
pub struct LinkGuard(pub String);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        if let Ok(mut s) = Socket::open() {
            if let Ok(Some(l)) = raw::by_name(&mut s, &self.0) {
                let _ = raw::delete(&mut s, l.index);
            }
        }
    }
}

/// Creates an up link of `kind` on the host, with an optional address.
pub fn make_link(n: &str, kind: Kind, addr: Option<(&str, u8)>) -> LinkGuard {
    let mut s = Socket::open().unwrap();
    raw::create(
        &mut s,
        &NewLink {
            name: n.to_string(),
            kind,
            mtu: None,
            master: None,
            netns: None,
            up: true,
        },
    )
    .unwrap_or_else(|e| panic!("creating {n}: {e}"));
    let g = LinkGuard(n.to_string());
    let l = raw::by_name(&mut s, n).unwrap().unwrap();
    if let Some((a, p)) = addr {
        raw::add_addr(&mut s, l.index, a.parse::<IpAddr>().unwrap(), p, None).unwrap();
    }
    raw::change(
        &mut s,
        l.index,
        &Change {
            up: Some(true),
            ..Change::default()
        },
    )
    .unwrap();
    g
}

/// Whether a host link of that name exists.
pub fn host_has(n: &str) -> bool {
    let mut s = Socket::open().unwrap();
    raw::by_name(&mut s, n).unwrap().is_some()
}

/// All host link names.
pub fn host_links() -> Vec<String> {
    let mut s = Socket::open().unwrap();
    raw::list_links(&mut s)
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect()
}
