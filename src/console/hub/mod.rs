//! The monitor side of the console: owns the pty masters of a running
//! container, keeps the console's ring buffer and log, and hands ttys to
//! lxc-console clients. No threads: the monitor's poll loop asks for
//! [`ConsoleHub::poll_fds`] and reports readiness through
//! [`ConsoleHub::on_ready`].
//!
//! ttyN (N ≥ 1): the client gets a dup of the master itself and the hub does
//! not read that master at all, so whatever the container wrote while nobody
//! was attached waits in the pty and shows up on the next attach (LXC's
//! behaviour).
//!
//! tty 0 (the console): the hub must keep reading the master into the ring
//! buffer and log even while a client is attached, so the client gets one end
//! of a stream socketpair (the "relay") and the hub copies master → buffer,
//! log, local terminal, relay and relay → master. LXC uses a second pty for
//! this; a socketpair costs less and needs no termios handling.
//!
//! Every grant comes with a SEQPACKET "session" socket the client keeps open:
//! its hangup frees the tty (whether the client detached, exited or was
//! killed), and the client sends its window size over it.

mod io;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rustix::fs::{Mode, OFlags};
use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
use rustix::termios::{isatty, Winsize};

use super::logfile::ConsoleLog;

use super::pty::{get_winsize, set_winsize, PtyPair};
use super::pump::{set_nonblocking, Queue};
use super::raw::RawGuard;
use super::ring::RingBuffer;
use super::winch::Winch;

/// What the hub needs from the container's configuration.
#[derive(Debug, Clone, Default)]
pub struct HubConfig {
    /// lxc.tty.max.
    pub tty_max: u32,
    /// lxc.console.path: `None` → allocate a console pty; `Some("none")` →
    /// no console at all; another path → allocate, and attach that file or
    /// device as the console's peer (see [`ConsoleHub::new`]).
    pub console_path: Option<String>,
    /// lxc.console.logfile.
    pub logfile: Option<PathBuf>,
    /// lxc.console.size.
    pub log_size: Option<u64>,
    /// lxc.console.rotate.
    pub log_rotate: bool,
    /// lxc.console.buffer.size (see [`RingBuffer::config_size`]).
    pub buffer_size: Option<u64>,
    /// Initial window size of every pty (the user's terminal under -F).
    pub winsize: Option<Winsize>,
}

/// A tty handed to a client: send `peer` and `session` to it (in that order)
/// with [`super::send_fds`], then drop them.
#[derive(Debug)]
pub struct Grant {
    /// 0 for the console, else N of /dev/ttyN.
    pub tty: u32,
    /// The pty master (ttyN) or the console relay socket (tty 0).
    pub peer: OwnedFd,
    /// The client's end of the session socket.
    pub session: OwnedFd,
}

struct Console {
    pair: PtyPair,
    to_master: Queue,
    client: Option<ConsoleClient>,
}

struct ConsoleClient {
    relay: OwnedFd,
    session: OwnedFd,
    to_client: Queue,
    relay_open: bool,
}

struct Tty {
    pair: PtyPair,
    session: Option<OwnedFd>,
}

/// The console peer of `lxc-start -F` (the user's terminal or plain fds), or
/// the file/device of lxc.console.path.
struct Local {
    input: Option<OwnedFd>,
    output: OwnedFd,
    tty_in: bool,
    _raw: Option<RawGuard>,
    winch: Option<Winch>,
}

/// The monitor-side console state of one container.
pub struct ConsoleHub {
    console: Option<Console>,
    ttys: Vec<Tty>,
    ring: RingBuffer,
    log: Option<ConsoleLog>,
    local: Option<Local>,
    buf: Vec<u8>,
}

impl ConsoleHub {
    /// Allocate the console pty (unless lxc.console.path is `none`) and
    /// lxc.tty.max tty ptys, open the log. A console path naming a file or
    /// device is opened (created 0600 if missing) and attached as the peer:
    /// output is copied to it, and input read from it when it is a terminal.
    pub fn new(cfg: &HubConfig) -> Result<Self> {
        let console = match cfg.console_path.as_deref() {
            Some("none") => None,
            _ => {
                let pair = PtyPair::open(cfg.winsize).context("allocating the console pty")?;
                set_nonblocking(&pair.master).context("console master non-blocking")?;
                Some(Console {
                    pair,
                    to_master: Queue::default(),
                    client: None,
                })
            }
        };
        let mut ttys = Vec::with_capacity(cfg.tty_max as usize);
        for n in 1..=cfg.tty_max {
            let pair = PtyPair::open(cfg.winsize).with_context(|| format!("allocating tty{n}"))?;
            ttys.push(Tty {
                pair,
                session: None,
            });
        }
        let log = match &cfg.logfile {
            Some(p) => Some(ConsoleLog::open(p, cfg.log_size, cfg.log_rotate)?),
            None => None,
        };
        let mut hub = Self {
            console,
            ttys,
            ring: RingBuffer::new(RingBuffer::config_size(cfg.buffer_size)),
            log,
            local: None,
            buf: Vec::new(),
        };
        if let Some(path) = cfg.console_path.as_deref().filter(|p| *p != "none") {
            hub.attach_path(Path::new(path))?;
        }
        Ok(hub)
    }

    fn attach_path(&mut self, path: &Path) -> Result<()> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDWR | OFlags::CREATE | OFlags::APPEND | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .with_context(|| format!("opening console path {}", path.display()))?;
        let input = if isatty(&fd) {
            Some(fd.try_clone().context("duplicating console device")?)
        } else {
            None
        };
        let tty = input.is_some();
        let raw = if tty {
            Some(RawGuard::with_signals(fd.as_fd(), false)?)
        } else {
            None
        };
        self.local = Some(Local {
            input,
            output: fd,
            tty_in: tty,
            _raw: raw,
            winch: None,
        });
        Ok(())
    }

    /// Host path of the console's slave (/dev/pts/N) to bind-mount over the
    /// container's /dev/console; `None` when the console is disabled.
    pub fn console_slave(&self) -> Option<&Path> {
        self.console.as_ref().map(|c| c.pair.slave_path.as_path())
    }

    /// Host paths of tty1..ttyN's slaves, in order.
    pub fn tty_slaves(&self) -> Vec<&Path> {
        self.ttys
            .iter()
            .map(|t| t.pair.slave_path.as_path())
            .collect()
    }

    /// The console's slave fd, e.g. to give the container's init as its
    /// stdio (the hub keeps its own copy open so the master never sees a
    /// hangup while nobody has the console open).
    pub fn console_slave_fd(&self) -> Option<BorrowedFd<'_>> {
        self.console.as_ref().map(|c| c.pair.slave.as_fd())
    }

    /// `lxc-start -F`: connect the user's terminal (or pipes) to the console.
    /// A terminal on `input` is put in raw mode (restored when the hub is
    /// dropped; with `restore_on_signals` also on fatal signals) and its
    /// window size follows SIGWINCH. Non-terminal input is a byte stream whose
    /// end becomes the console's EOF character.
    pub fn attach_local(
        &mut self,
        input: BorrowedFd<'_>,
        output: BorrowedFd<'_>,
        restore_on_signals: bool,
    ) -> Result<()> {
        let Some(c) = &self.console else {
            bail!("the console is disabled (lxc.console.path = none)");
        };
        let tty_in = isatty(input);
        let (raw, winch) = if tty_in {
            if let Some(ws) = get_winsize(input) {
                set_winsize(&c.pair.master, ws)?;
            }
            (
                Some(RawGuard::with_signals(input, restore_on_signals)?),
                Some(Winch::new()?),
            )
        } else {
            (None, None)
        };
        self.local = Some(Local {
            input: Some(input.try_clone_to_owned().context("duplicating stdin")?),
            output: output.try_clone_to_owned().context("duplicating stdout")?,
            tty_in,
            _raw: raw,
            winch,
        });
        Ok(())
    }

    /// Copy the console's output to `output` only, reading nothing from it
    /// (lxc-execute whose stdin is not a terminal: its input stays the
    /// application's own, and the terminal is left as it is).
    pub fn attach_output(&mut self, output: BorrowedFd<'_>) -> Result<()> {
        if self.console.is_none() {
            bail!("the console is disabled (lxc.console.path = none)");
        }
        self.local = Some(Local {
            input: None,
            output: output.try_clone_to_owned().context("duplicating stdout")?,
            tty_in: false,
            _raw: None,
            winch: None,
        });
        Ok(())
    }

    /// True when a peer (terminal, pipes, lxc.console.path) is attached.
    pub fn has_local(&self) -> bool {
        self.local.is_some()
    }

    /// Detach the local terminal (restoring it).
    pub fn detach_local(&mut self) {
        self.local = None;
    }

    /// Give a client tty `n` (0 = console), or the first free tty when `n`
    /// is `None`. A tty is busy until its previous client's session closes.
    pub fn take_tty(&mut self, n: Option<u32>) -> Result<Grant> {
        self.reap_sessions();
        match n {
            Some(0) => self.take_console(),
            Some(k) => {
                let Some(t) = self.ttys.get_mut(k as usize - 1) else {
                    bail!(
                        "tty {k} does not exist (the container has {} ttys, lxc.tty.max)",
                        self.ttys.len()
                    );
                };
                if t.session.is_some() {
                    bail!("tty {k} is already in use by another lxc-console");
                }
                grant_tty(k, t)
            }
            None => {
                if self.ttys.is_empty() {
                    bail!("the container has no ttys (lxc.tty.max = 0); use -t 0 for the console");
                }
                let Some(i) = self.ttys.iter().position(|t| t.session.is_none()) else {
                    bail!("all {} ttys are in use", self.ttys.len());
                };
                grant_tty(i as u32 + 1, &mut self.ttys[i])
            }
        }
    }

    fn take_console(&mut self) -> Result<Grant> {
        let Some(c) = &mut self.console else {
            bail!("the console is disabled (lxc.console.path = none)");
        };
        if c.client.is_some() {
            bail!("tty 0 (the console) is already in use by another lxc-console");
        }
        let (relay, peer) = socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .context("creating console relay socket")?;
        set_nonblocking(&relay).context("console relay non-blocking")?;
        let (session, client_session) = session_pair()?;
        c.client = Some(ConsoleClient {
            relay,
            session,
            to_client: Queue::default(),
            relay_open: true,
        });
        Ok(Grant {
            tty: 0,
            peer,
            session: client_session,
        })
    }

    /// Which ttys are held by clients (index 0 = the console).
    pub fn busy(&self) -> Vec<bool> {
        let mut v = vec![self.console.as_ref().is_some_and(|c| c.client.is_some())];
        v.extend(self.ttys.iter().map(|t| t.session.is_some()));
        v
    }

    /// The console ring buffer, oldest byte first.
    pub fn buffer_contents(&self) -> Vec<u8> {
        self.ring.contents()
    }

    pub fn clear_buffer(&mut self) {
        self.ring.clear();
    }

    /// Explicit log rotation (LXC's console log API).
    pub fn rotate_log(&mut self) -> Result<()> {
        match &mut self.log {
            Some(l) => l.rotate(),
            None => bail!("no console log file is configured (lxc.console.logfile)"),
        }
    }
}

fn session_pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .context("creating console session socket")
}

fn grant_tty(k: u32, t: &mut Tty) -> Result<Grant> {
    let peer = t
        .pair
        .master
        .try_clone()
        .with_context(|| format!("duplicating the master of tty{k}"))?;
    let (session, client_session) = session_pair()?;
    t.session = Some(session);
    Ok(Grant {
        tty: k,
        peer,
        session: client_session,
    })
}
