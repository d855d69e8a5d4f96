//! The monitor's event loop: one thread, one poll(2) over init's pidfd (or
//! the start sync socket while the child sets up), a signalfd, the command
//! socket and its connections, and the console's ptys. Nothing in it
//! waits for anyone: clients are served from buffers ([`Server`]), a
//! freeze is a state checked on a timer, events to a subscriber that
//! stopped reading wait in the [`Publisher`].

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rustix::event::{poll, PollFd, PollFlags};

use super::live::{Init, Live};
use super::plan::Plan;
use crate::monitor::events::Publisher;
use crate::monitor::proto::{Info, Request, Response};
use crate::monitor::server::{ConnId, Incoming, Server};
use crate::monitor::State;
use crate::sys::process::{self, ExitStatus};

/// How a run of the container ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// Init exited: the container stopped.
    Stopped(ExitStatus),
    /// Init exited for a reboot (lxc-stop -r, or reboot(2) inside): start again.
    Reboot(ExitStatus),
}

impl RunEnd {
    pub fn status(self) -> ExitStatus {
        match self {
            RunEnd::Stopped(s) | RunEnd::Reboot(s) => s,
        }
    }
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
/// How often queued events are retried.
const EVENT_RETRY: Duration = Duration::from_millis(20);

/// A freeze under way: who waits for it, and when to look again.
struct Freezing {
    since: Instant,
    next_check: Instant,
    delay: Duration,
    waiters: Vec<ConnId>,
}

/// What one poll round saw: the revents of the fixed fds, in order, and
/// (fd, revents) of every other fd that is ready.
struct Round {
    fixed: Vec<PollFlags>,
    ready: Vec<(RawFd, PollFlags)>,
}

/// One poll round: the fixed fds plus the server's and the hub's.
fn poll_round(
    fixed: &[(BorrowedFd<'_>, PollFlags)],
    server: &Server<'_>,
    hub: Option<&crate::console::ConsoleHub>,
    timeout: Option<Duration>,
) -> Result<Round> {
    let mut fds: Vec<PollFd<'_>> = fixed
        .iter()
        .map(|(fd, fl)| PollFd::from_borrowed_fd(*fd, *fl))
        .collect();
    let server_fds = server.poll_fds();
    let hub_fds = hub.map(|h| h.poll_fds()).unwrap_or_default();
    for (fd, fl) in server_fds.iter().chain(&hub_fds) {
        fds.push(PollFd::from_borrowed_fd(*fd, *fl));
    }
    let ts = timeout.map(|t| rustix::time::Timespec {
        tv_sec: t.as_secs() as i64,
        tv_nsec: t.subsec_nanos() as _,
    });
    match poll(&mut fds, ts.as_ref()) {
        Ok(_) | Err(rustix::io::Errno::INTR) => {}
        Err(e) => return Err(e).context("polling in the monitor"),
    }
    Ok(Round {
        fixed: fds[..fixed.len()].iter().map(|f| f.revents()).collect(),
        ready: fds[fixed.len()..]
            .iter()
            .filter(|f| !f.revents().is_empty())
            .map(|f| (f.as_fd().as_raw_fd(), f.revents()))
            .collect(),
    })
}

/// The shortest of the optional timeouts.
fn soonest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// While the child sets itself up: answer clients (the container is
/// STARTING, its init is `pid`; anything but state, info and a kill is
/// refused until it runs) until `sync` is readable. A kill (`lxc-stop -k`)
/// always wins: it is answered, and the start is aborted (the caller's
/// undo kills the child and removes what was made), so the container
/// never comes up RUNNING after it.
pub fn while_starting(
    server: &mut Server<'_>,
    sync: BorrowedFd<'_>,
    pid: i32,
    plan: &Plan,
    publisher: &Publisher,
) -> Result<()> {
    loop {
        let timeout = if server.has_buffered() {
            Some(Duration::ZERO)
        } else {
            publisher.has_backlog().then_some(EVENT_RETRY)
        };
        let round = poll_round(&[(sync, PollFlags::IN)], server, None, timeout)?;
        publisher.retry();
        for Incoming::Request(id, req) in server.on_ready(&round.ready) {
            let resp = match req {
                Request::State => Response::State {
                    state: State::Starting,
                },
                Request::InitPid => Response::InitPid { pid },
                Request::Info => Response::Info(Info {
                    state: State::Starting,
                    pid,
                    interfaces: Vec::new(),
                    namespaces: plan.namespaces.entered(),
                }),
                Request::Kill => {
                    server.reply(id, &Response::Done, Vec::new());
                    bail!("killed while starting (lxc-stop -k)");
                }
                _ => Response::err("the container is starting"),
            };
            server.reply(id, &resp, Vec::new());
        }
        if !round.fixed[0].is_empty() {
            return Ok(());
        }
    }
}

struct Monitor<'a> {
    plan: &'a Plan,
    publisher: &'a Publisher,
    live: &'a mut Live,
    init: &'a Init,
    state: State,
    reboot: bool,
    /// Host-side interface names (lxc-info Link:).
    interfaces: Vec<String>,
    freezing: Option<Freezing>,
}

/// Serve until init exits.
pub fn serve(
    plan: &Plan,
    server: &mut Server<'_>,
    publisher: &Publisher,
    live: &mut Live,
    init: &Init,
    daemon: bool,
) -> Result<RunEnd> {
    let mut sigs = vec![libc::SIGCHLD];
    sigs.extend_from_slice(FORWARDED);
    let sigfd = process::signalfd(&sigs).context("creating the monitor's signalfd")?;
    let interfaces = live
        .net
        .as_ref()
        .map(|n| n.host_ifnames())
        .unwrap_or_default();
    let mut m = Monitor {
        plan,
        publisher,
        live,
        init,
        state: State::Running,
        reboot: false,
        interfaces,
        freezing: None,
    };
    loop {
        let freeze_wait = m
            .freezing
            .as_ref()
            .map(|f| f.next_check.saturating_duration_since(Instant::now()));
        let event_wait = publisher.has_backlog().then_some(EVENT_RETRY);
        let timeout = if server.has_buffered() {
            Some(Duration::ZERO)
        } else {
            soonest(freeze_wait, event_wait)
        };
        let fixed = [
            // Without pidfds, SIGCHLD on the signalfd says init may have exited.
            (m.init.pidfd().unwrap_or(sigfd.as_fd()), PollFlags::IN),
            (sigfd.as_fd(), PollFlags::IN),
        ];
        let round = poll_round(&fixed, server, m.live.hub.as_ref(), timeout)?;
        if let Some(h) = m.live.hub.as_mut() {
            for (fd, rev) in &round.ready {
                if let Err(e) = h.on_ready(*fd, *rev) {
                    log::warn!("console: {e:#}");
                }
            }
        }
        if !round.fixed[0].is_empty() {
            if let Some(st) = m.init.wait(true).context("reaping init")? {
                // Init's last words still reach the terminal / buffer / log.
                if let Some(h) = m.live.hub.as_mut() {
                    let _ = h.drain();
                }
                m.fail_freeze(server, "init exited while freezing");
                // reboot(2) inside a PID namespace ends its init with
                // SIGHUP (restart) or SIGINT (halt): a restart is a reboot.
                return Ok(if m.reboot || st == ExitStatus::Signaled(libc::SIGHUP) {
                    RunEnd::Reboot(st)
                } else {
                    RunEnd::Stopped(st)
                });
            }
        }
        if !round.fixed[1].is_empty() {
            while let Some(sig) = process::read_signalfd(sigfd.as_fd())? {
                if sig != libc::SIGCHLD {
                    let _ = m.init.kill(sig);
                }
            }
        }
        let had_clients = !server.is_empty();
        let incoming = server.on_ready(&round.ready);
        for Incoming::Request(id, req) in incoming {
            m.handle(server, id, req);
        }
        m.check_freeze(server);
        publisher.retry();
        // An idle daemonised monitor keeps resident only the code of its
        // poll loop: the request code it just ran goes back to the page
        // cache (shared with every other lxcbox process) once the last
        // client has gone.
        if daemon && had_clients && server.is_empty() {
            let _ = process::trim_exe_rss();
        }
    }
}

impl Monitor<'_> {
    fn handle(&mut self, server: &mut Server<'_>, id: ConnId, req: Request) {
        let cfg = self.plan.config();
        let (resp, fds): (Response, Vec<OwnedFd>) = match req {
            Request::Console { tty } => match self.live.hub.as_mut().map(|h| h.take_tty(tty)) {
                Some(Ok(g)) => (Response::Console { tty: g.tty }, vec![g.peer, g.session]),
                Some(Err(e)) => (Response::err(format!("{e:#}")), Vec::new()),
                None => (Response::err("the container has no console"), Vec::new()),
            },
            Request::ConsoleLog { clear } => match self.live.hub.as_mut() {
                Some(h) => {
                    let data = h.buffer_contents();
                    if clear {
                        h.clear_buffer();
                    }
                    (Response::ConsoleLog { data }, Vec::new())
                }
                None => (Response::err("the container has no console"), Vec::new()),
            },
            Request::Freeze => {
                self.freeze(server, id);
                return;
            }
            other => {
                let r = match other {
                    Request::State => Response::State { state: self.state },
                    Request::InitPid => Response::InitPid { pid: self.init.pid },
                    Request::Info => Response::Info(Info {
                        state: self.state,
                        pid: self.init.pid,
                        interfaces: self.interfaces.clone(),
                        namespaces: self.plan.namespaces.entered(),
                    }),
                    Request::Signal { signal } => self.signal(server, signal),
                    Request::Halt => self.signal(server, cfg.signal_halt.unwrap_or(libc::SIGPWR)),
                    Request::Kill => self.signal(server, cfg.signal_stop.unwrap_or(libc::SIGKILL)),
                    Request::Reboot => {
                        self.reboot = true;
                        self.signal(server, cfg.signal_reboot.unwrap_or(libc::SIGINT))
                    }
                    Request::ConfigItem { key } => match cfg.get_item(&key) {
                        Ok(value) => Response::ConfigItem { value },
                        Err(e) => Response::err(format!("{e:#}")),
                    },
                    Request::CgroupPaths => match &self.live.cgroups {
                        Some(cg) => Response::Cgroups {
                            cgroups: cg.clone(),
                        },
                        None => Response::err("the container has no cgroups"),
                    },
                    Request::Unfreeze => self.thaw(server),
                    Request::Freeze | Request::Console { .. } | Request::ConsoleLog { .. } => {
                        unreachable!("handled above")
                    }
                };
                (r, Vec::new())
            }
        };
        server.reply(id, &resp, fds);
    }

    fn signal(&mut self, server: &mut Server<'_>, sig: i32) -> Response {
        let r = match self.init.kill(sig) {
            Ok(()) => Response::Done,
            Err(e) => Response::err(format!("sending signal {sig} to init: {e}")),
        };
        // A frozen task only acts on a signal once thawed: stopping a
        // frozen (or freezing) container must work, so thaw it.
        if matches!(self.state, State::Frozen | State::Freezing) {
            let _ = self.thaw(server);
        }
        r
    }

    /// Start freezing (or join a freeze under way); the answer comes when
    /// the kernel reports the cgroup frozen, from [`Self::check_freeze`].
    fn freeze(&mut self, server: &mut Server<'_>, id: ConnId) {
        let Some(cg) = &self.live.cgroups else {
            server.reply(
                id,
                &Response::err("the container has no cgroups to freeze"),
                Vec::new(),
            );
            return;
        };
        if self.state == State::Frozen {
            server.reply(id, &Response::Done, Vec::new());
            return;
        }
        if let Some(f) = &mut self.freezing {
            f.waiters.push(id);
            return;
        }
        if let Err(e) = cg.freeze_start() {
            server.reply(id, &Response::err(format!("{e:#}")), Vec::new());
            return;
        }
        self.set_state(State::Freezing);
        let now = Instant::now();
        self.freezing = Some(Freezing {
            since: now,
            next_check: now,
            delay: Duration::from_micros(500),
            waiters: vec![id],
        });
        self.check_freeze(server);
    }

    fn check_freeze(&mut self, server: &mut Server<'_>) {
        let (Some(f), Some(cg)) = (&mut self.freezing, &self.live.cgroups) else {
            return;
        };
        let now = Instant::now();
        if now < f.next_check {
            return;
        }
        match cg.poll_frozen() {
            Ok(true) => {
                let waiters = std::mem::take(&mut f.waiters);
                self.freezing = None;
                self.set_state(State::Frozen);
                for w in waiters {
                    server.reply(w, &Response::Done, Vec::new());
                }
            }
            Ok(false) if now.duration_since(f.since) < FREEZE_TIMEOUT => {
                f.delay = (f.delay * 2).min(Duration::from_millis(20));
                f.next_check = now + f.delay;
            }
            Ok(false) => {
                self.fail_freeze(server, &format!("not frozen after {FREEZE_TIMEOUT:?}"));
            }
            Err(e) => self.fail_freeze(server, &format!("{e:#}")),
        }
    }

    /// Give up a freeze under way: thaw, RUNNING, tell the waiters.
    fn fail_freeze(&mut self, server: &mut Server<'_>, why: &str) {
        let Some(f) = self.freezing.take() else {
            return;
        };
        if let Some(cg) = &self.live.cgroups {
            let _ = cg.thaw();
        }
        self.set_state(State::Running);
        for w in f.waiters {
            server.reply(w, &Response::err(format!("freezing: {why}")), Vec::new());
        }
    }

    fn thaw(&mut self, server: &mut Server<'_>) -> Response {
        if self.freezing.is_some() {
            self.fail_freeze(server, "thawed before it was frozen");
            return Response::Done;
        }
        let Some(cg) = &self.live.cgroups else {
            return Response::err("the container has no cgroups to thaw");
        };
        if self.state != State::Frozen {
            return Response::Done;
        }
        match cg.thaw() {
            Ok(()) => {
                self.set_state(State::Thawed);
                self.set_state(State::Running);
                Response::Done
            }
            Err(e) => Response::err(format!("thawing: {e:#}")),
        }
    }

    fn set_state(&mut self, st: State) {
        self.state = st;
        self.publisher.state(st);
    }
}
