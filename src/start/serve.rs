//! The monitor's event loop while init runs: one thread, one poll(2) over
//! init's pidfd, a signalfd, the command socket and its clients.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use anyhow::{Context, Result};
use rustix::event::{poll, PollFd, PollFlags};

use super::StartSpec;
use crate::cgroup::CgroupSet;
use crate::console::ConsoleHub;
use crate::monitor::events::Publisher;
use crate::monitor::proto::{recv_json, send_json, Envelope, Request, Response, PROTO_VERSION};
use crate::monitor::State;
use crate::sys::process::{self, ExitStatus};

/// Init, running.
pub struct Running {
    pub pid: i32,
    pub pidfd: OwnedFd,
}

/// Signals the monitor forwards to init, as LXC does.
const FORWARDED: &[i32] = &[
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPWR,
    libc::SIGCONT,
    libc::SIGALRM,
];

/// How long a freeze may take before it is undone and reported.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

struct Monitor<'a> {
    spec: &'a StartSpec,
    publisher: &'a Publisher,
    init: Running,
    state: State,
    reboot: bool,
    /// Host-side interface names (lxc-info Link:).
    interfaces: Vec<String>,
    cgroups: Option<&'a CgroupSet>,
}

/// Serve until init exits; returns its status and whether to reboot.
pub fn serve(
    spec: &StartSpec,
    listener: &UnixListener,
    publisher: &Publisher,
    init: Running,
    net: Option<&crate::net::HostNet>,
    cgroups: Option<&CgroupSet>,
    mut hub: Option<&mut ConsoleHub>,
) -> Result<(ExitStatus, bool)> {
    listener
        .set_nonblocking(true)
        .context("setting the command socket non-blocking")?;
    let mut sigs = vec![libc::SIGCHLD];
    sigs.extend_from_slice(FORWARDED);
    let sigfd = process::signalfd(&sigs).context("creating the monitor's signalfd")?;
    let mut m = Monitor {
        spec,
        publisher,
        init,
        state: State::Running,
        reboot: false,
        interfaces: net.map(|n| n.host_ifnames()).unwrap_or_default(),
        cgroups,
    };
    let mut clients: Vec<UnixStream> = Vec::new();
    loop {
        let mut fds = Vec::with_capacity(3 + clients.len());
        fds.push(PollFd::new(&m.init.pidfd, PollFlags::IN));
        fds.push(PollFd::new(&sigfd, PollFlags::IN));
        fds.push(PollFd::new(listener, PollFlags::IN));
        for c in &clients {
            fds.push(PollFd::new(c, PollFlags::IN));
        }
        let hub_fds: Vec<(BorrowedFd<'_>, PollFlags)> = match &hub {
            Some(h) => h.poll_fds(),
            None => Vec::new(),
        };
        let hub_base = fds.len();
        for (fd, fl) in &hub_fds {
            fds.push(PollFd::from_borrowed_fd(*fd, *fl));
        }
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e).context("polling in the monitor"),
        }
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        let hub_ready: Vec<(i32, PollFlags)> = fds[hub_base..]
            .iter()
            .zip(&hub_fds)
            .filter(|(p, _)| !p.revents().is_empty())
            .map(|(p, (fd, _))| (fd.as_raw_fd(), p.revents()))
            .collect();
        drop(fds);
        drop(hub_fds);
        if let Some(h) = hub.as_deref_mut() {
            for (fd, rev) in hub_ready {
                if let Err(e) = h.on_ready(fd, rev) {
                    log::warn!("console: {e:#}");
                }
            }
        }
        if ready[0] {
            if let Some((_, st)) = process::waitpid(m.init.pid, true).context("reaping init")? {
                // Init's last words still reach the terminal / buffer / log.
                if let Some(h) = hub.as_deref_mut() {
                    let _ = h.drain();
                }
                // reboot(2) inside a PID namespace ends its init with
                // SIGHUP (restart) or SIGINT (halt): a restart is a reboot.
                let reboot = m.reboot || st == ExitStatus::Signaled(libc::SIGHUP);
                return Ok((st, reboot));
            }
        }
        if ready[1] {
            while let Some(sig) = process::read_signalfd(sigfd.as_fd())? {
                if sig != libc::SIGCHLD {
                    let _ = process::pidfd_kill(m.init.pidfd.as_fd(), sig);
                }
            }
        }
        if ready[2] {
            while let Ok((s, _)) = listener.accept() {
                if authorised(&s) {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
                    clients.push(s);
                }
            }
        }
        let mut gone = Vec::new();
        for (i, c) in clients.iter().enumerate() {
            // Clients accepted in this round were not polled yet.
            if !ready.get(3 + i).copied().unwrap_or(false) {
                continue;
            }
            match recv_json::<Envelope<Request>>(c) {
                Ok(Some((env, _))) => {
                    let (resp, fds) = if env.v != PROTO_VERSION {
                        (
                            Response::err(format!("unsupported protocol version {}", env.v)),
                            Vec::new(),
                        )
                    } else {
                        m.handle(env.body, hub.as_deref_mut())
                    };
                    let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
                    if send_json(c, &resp, &borrowed).is_err() {
                        gone.push(i);
                    }
                }
                _ => gone.push(i),
            }
        }
        let served = !gone.is_empty();
        for i in gone.into_iter().rev() {
            clients.swap_remove(i);
        }
        // An idle daemonised monitor keeps resident only the code of its
        // poll loop: the request code it just ran goes back to the page
        // cache (shared with every other lxcbox process) once the clients
        // are gone.
        if spec.daemon && served && clients.is_empty() {
            let _ = process::trim_text_rss();
        }
    }
}

/// Block until `wait_on` is readable, answering command-socket clients
/// meanwhile: the container is STARTING, its init is `pid`; anything else
/// is refused until it runs. One request per connection here (clients
/// reconnect), so a slow client cannot hold up the start.
pub fn answer_while_starting(
    listener: &UnixListener,
    wait_on: BorrowedFd<'_>,
    pid: i32,
) -> Result<()> {
    listener
        .set_nonblocking(true)
        .context("setting the command socket non-blocking")?;
    loop {
        let mut fds = [
            PollFd::from_borrowed_fd(wait_on, PollFlags::IN),
            PollFd::new(listener, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e).context("polling during start"),
        }
        if !fds[0].revents().is_empty() {
            return Ok(());
        }
        while let Ok((c, _)) = listener.accept() {
            if !authorised(&c) {
                continue;
            }
            let _ = c.set_nonblocking(false);
            let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = c.set_write_timeout(Some(Duration::from_millis(200)));
            let resp = match recv_json::<Envelope<Request>>(&c) {
                Ok(Some((env, _))) if env.v != PROTO_VERSION => {
                    Response::err(format!("unsupported protocol version {}", env.v))
                }
                Ok(Some((env, _))) => match env.body {
                    Request::State => Response {
                        state: Some(State::Starting),
                        ..Default::default()
                    },
                    Request::InitPid | Request::Info => Response {
                        state: Some(State::Starting),
                        pid: Some(pid),
                        ..Default::default()
                    },
                    _ => Response::err("the container is starting"),
                },
                _ => continue,
            };
            let _ = send_json(&c, &resp, &[]);
        }
    }
}

/// Only root or the monitor's own user may talk to it.
fn authorised(s: &UnixStream) -> bool {
    match rustix::net::sockopt::socket_peercred(s) {
        Ok(cred) => {
            let uid = cred.uid.as_raw();
            uid == 0 || uid == rustix::process::geteuid().as_raw()
        }
        Err(_) => false,
    }
}

impl Monitor<'_> {
    fn handle(&mut self, req: Request, hub: Option<&mut ConsoleHub>) -> (Response, Vec<OwnedFd>) {
        let cfg = &self.spec.container.config;
        if let Request::Console { tty } = req {
            return match hub.map(|h| h.take_tty(tty)) {
                Some(Ok(g)) => (
                    Response {
                        tty: Some(g.tty),
                        ..Default::default()
                    },
                    vec![g.peer, g.session],
                ),
                Some(Err(e)) => (Response::err(format!("{e:#}")), Vec::new()),
                None => (Response::err("the container has no console"), Vec::new()),
            };
        }
        if let Request::ConsoleLog { clear } = req {
            return match hub {
                Some(h) => {
                    let data = h.buffer_contents();
                    if clear {
                        h.clear_buffer();
                    }
                    (
                        Response {
                            data: Some(data),
                            ..Default::default()
                        },
                        Vec::new(),
                    )
                }
                None => (Response::err("the container has no console"), Vec::new()),
            };
        }
        let r = match req {
            Request::State => Response {
                state: Some(self.state),
                ..Default::default()
            },
            Request::InitPid => Response {
                pid: Some(self.init.pid),
                ..Default::default()
            },
            Request::Info => Response {
                state: Some(self.state),
                pid: Some(self.init.pid),
                interfaces: self.interfaces.clone(),
                ..Default::default()
            },
            Request::Signal { signal } => self.signal(signal),
            Request::Halt => self.signal(cfg.signal_halt.unwrap_or(libc::SIGPWR)),
            Request::Kill => self.signal(cfg.signal_stop.unwrap_or(libc::SIGKILL)),
            Request::Reboot => {
                self.reboot = true;
                self.signal(cfg.signal_reboot.unwrap_or(libc::SIGINT))
            }
            Request::ConfigItem { key } => match cfg.get_item(&key) {
                Ok(v) => Response {
                    value: Some(v),
                    ..Default::default()
                },
                Err(e) => Response::err(format!("{e:#}")),
            },
            Request::CgroupPaths => match self.cgroups {
                Some(cg) => Response {
                    paths: cg.paths().iter().map(|p| p.display().to_string()).collect(),
                    value: serde_json::to_string(cg).ok(),
                    ..Default::default()
                },
                None => Response::err("the container has no cgroups"),
            },
            Request::Freeze => self.freeze(),
            Request::Unfreeze => self.thaw(),
            Request::Console { .. } | Request::ConsoleLog { .. } => {
                Response::err("internal error: console request misrouted")
            }
        };
        (r, Vec::new())
    }

    fn signal(&mut self, sig: i32) -> Response {
        let r = match process::pidfd_kill(self.init.pidfd.as_fd(), sig) {
            Ok(()) => Response::default(),
            Err(e) => Response::err(format!("sending signal {sig} to init: {e}")),
        };
        // A frozen task only acts on a signal once thawed: stopping a
        // frozen container must work, so thaw it after signalling.
        if matches!(self.state, State::Frozen | State::Freezing) {
            let _ = self.thaw();
        }
        r
    }

    fn freeze(&mut self) -> Response {
        let Some(cg) = self.cgroups else {
            return Response::err("the container has no cgroups to freeze");
        };
        if self.state == State::Frozen {
            return Response::default();
        }
        self.set_state(State::Freezing);
        let r = cg
            .freeze_start()
            .and_then(|()| cg.wait_frozen(FREEZE_TIMEOUT));
        match r {
            Ok(()) => {
                self.set_state(State::Frozen);
                Response::default()
            }
            Err(e) => {
                let _ = cg.thaw();
                self.set_state(State::Running);
                Response::err(format!("freezing: {e:#}"))
            }
        }
    }

    fn thaw(&mut self) -> Response {
        let Some(cg) = self.cgroups else {
            return Response::err("the container has no cgroups to thaw");
        };
        if !matches!(self.state, State::Frozen | State::Freezing) {
            return Response::default();
        }
        match cg.thaw() {
            Ok(()) => {
                self.set_state(State::Thawed);
                self.set_state(State::Running);
                Response::default()
            }
            Err(e) => Response::err(format!("thawing: {e:#}")),
        }
    }

    fn set_state(&mut self, st: State) {
        self.state = st;
        self.publisher.state(st);
    }
}
