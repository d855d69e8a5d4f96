//! State-change events without a daemon. A listener (lxc-monitor, lxc-wait,
//! lxc-stop) binds a unix datagram socket in
//! `RUNDIR/monitor/<hash of lxcpath>/`; every monitor of that lxcpath sends
//! each event to every socket there. Unix datagrams are reliable and
//! ordered per sender. A full receiver queue never blocks the sender: the
//! events wait in the monitor, in order, until the receiver reads (see
//! [`Publisher`]).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{canonical_lxcpath, fnv64, State};

/// One event: a state change or init's exit status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub name: String,
    pub lxcpath: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// Init's exit status as LXC reports it ("exited with status [N]"):
    /// the exit code, 0 when a signal ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// The signal that ended init, if one did (lxcbox addition, JSON only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

/// The subscriber directory of an lxcpath.
pub fn subscriber_dir(lxcpath: &str) -> PathBuf {
    let lp = canonical_lxcpath(lxcpath);
    crate::paths::rundir()
        .join("monitor")
        .join(format!("{:016x}", fnv64(lp.as_bytes())))
}

/// A registered listener; unregisters (removes its socket) on drop.
pub struct Subscription {
    sock: UnixDatagram,
    path: PathBuf,
    pub lxcpath: String,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl Subscription {
    pub fn new(lxcpath: &str) -> Result<Self> {
        let dir = subscriber_dir(lxcpath);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating monitor directory {}", dir.display()))?;
        let path = dir.join(format!(
            "{}.{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&path);
        let sock = UnixDatagram::bind(&path)
            .with_context(|| format!("binding monitor socket {}", path.display()))?;
        Ok(Subscription {
            sock,
            path,
            lxcpath: canonical_lxcpath(lxcpath),
        })
    }

    /// Next event; `timeout` None waits forever; `Ok(None)` on timeout.
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Option<Event>> {
        self.sock
            .set_read_timeout(timeout.map(|t| t.max(Duration::from_millis(1))))
            .context("setting monitor socket timeout")?;
        let mut buf = [0u8; 4096];
        loop {
            match self.sock.recv(&mut buf) {
                Ok(n) => match serde_json::from_slice::<Event>(&buf[..n]) {
                    Ok(ev) => return Ok(Some(ev)),
                    Err(_) => continue, // not ours: ignore
                },
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None)
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("receiving monitor event"),
            }
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// Non-blocking receive, for callers that poll several subscriptions.
    pub fn try_recv(&self) -> Result<Option<Event>> {
        self.sock.set_nonblocking(true)?;
        let r = self.recv(None);
        self.sock.set_nonblocking(false)?;
        r
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Events queued for a subscriber whose queue was full, at most this many;
/// beyond it the subscriber is considered stuck and its backlog dropped
/// (with a warning), so a listener that never reads cannot grow the
/// monitor without bound.
const MAX_BACKLOG: usize = 1024;

/// The sending side, owned by a container's monitor. Sends never block: a
/// subscriber whose queue is full (it stopped reading) gets its events
/// queued here, in order, and retried from the monitor's poll loop
/// ([`Publisher::retry`]), while every other subscriber is served at once.
pub struct Publisher {
    dir: PathBuf,
    sock: Option<UnixDatagram>,
    name: String,
    lxcpath: String,
    backlog: RefCell<Vec<(PathBuf, VecDeque<Vec<u8>>)>>,
}

impl Publisher {
    pub fn new(lxcpath: &str, name: &str) -> Self {
        let sock = UnixDatagram::unbound()
            .ok()
            .filter(|s| s.set_nonblocking(true).is_ok());
        Publisher {
            dir: subscriber_dir(lxcpath),
            sock,
            name: name.to_string(),
            lxcpath: canonical_lxcpath(lxcpath),
            backlog: RefCell::new(Vec::new()),
        }
    }

    pub fn state(&self, st: State) {
        self.send(Event {
            name: self.name.clone(),
            lxcpath: self.lxcpath.clone(),
            state: Some(st),
            exit_status: None,
            signal: None,
        });
    }

    pub fn exit_status(&self, st: crate::sys::process::ExitStatus) {
        self.send(Event {
            name: self.name.clone(),
            lxcpath: self.lxcpath.clone(),
            state: None,
            exit_status: Some(st.lxc_status()),
            signal: st.signal(),
        });
    }

    fn send(&self, ev: Event) {
        let Some(sock) = &self.sock else { return };
        let Ok(data) = serde_json::to_vec(&ev) else {
            return;
        };
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return; // nobody has ever listened
        };
        let mut backlog = self.backlog.borrow_mut();
        for ent in rd.flatten() {
            let path = ent.path();
            if let Some((_, q)) = backlog.iter_mut().find(|(p, _)| *p == path) {
                // Behind earlier events: keep the order.
                if q.len() >= MAX_BACKLOG {
                    log::warn!(
                        "event subscriber {} stopped reading: dropping {} events",
                        path.display(),
                        q.len()
                    );
                    q.clear();
                }
                q.push_back(data.clone());
                continue;
            }
            match send_one(sock, &path, &data) {
                Sent::Done | Sent::Gone => {}
                Sent::Full => backlog.push((path, VecDeque::from([data.clone()]))),
            }
        }
        drop(backlog);
        self.retry();
    }

    /// True when some subscriber still has queued events.
    pub fn has_backlog(&self) -> bool {
        !self.backlog.borrow().is_empty()
    }

    /// Send what queued up, as far as the subscribers take it now.
    pub fn retry(&self) {
        let Some(sock) = &self.sock else { return };
        self.backlog.borrow_mut().retain_mut(|(path, q)| {
            while let Some(d) = q.front() {
                match send_one(sock, path, d) {
                    Sent::Done => {
                        q.pop_front();
                    }
                    Sent::Gone => return false,
                    Sent::Full => return true,
                }
            }
            false
        });
    }

    /// Before the monitor exits: keep retrying for at most `limit`, then
    /// give up on subscribers that still do not read (with a warning).
    pub fn drain(&self, limit: Duration) {
        let end = std::time::Instant::now() + limit;
        self.retry();
        while self.has_backlog() && std::time::Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
            self.retry();
        }
        for (p, q) in self.backlog.borrow().iter() {
            log::warn!(
                "event subscriber {} did not read {} events before the monitor exited",
                p.display(),
                q.len()
            );
        }
    }
}

enum Sent {
    Done,
    /// The subscriber's queue is full.
    Full,
    /// The subscriber is gone (its socket was removed).
    Gone,
}

fn send_one(sock: &UnixDatagram, path: &Path, data: &[u8]) -> Sent {
    match sock.send_to(data, path) {
        Ok(_) => Sent::Done,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Sent::Full,
        Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
            // The listener died without unregistering.
            let _ = std::fs::remove_file(path);
            Sent::Gone
        }
        Err(e) => {
            log::debug!("sending event to {}: {e}", path.display());
            Sent::Gone
        }
    }
}
