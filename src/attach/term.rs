//! lxc-attach's pseudo terminal: when stdin, stdout or stderr is a
//! terminal the command gets a pty of its own (LXC's LXC_ATTACH_TERMINAL),
//! and we proxy between it and our terminal, so a TIOCSTI from inside only
//! reaches the command's own input queue, never the caller's shell.
//!
//! The pty comes from the container's devpts when it has a real one (so
//! the command's tty is named inside the container, as LXC's native
//! terminal), else from the host's.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use anyhow::{Context, Result};
use rustix::fs::{Mode, OFlags, CWD};
use rustix::termios::isatty;

use crate::console::{get_winsize, proxy_logged, set_winsize, PtyPair, RawGuard};
use crate::sys::process::{self, ExitStatus};

/// The pty pair and the -L log.
pub struct Terminal {
    pair: PtyPair,
    log: Option<File>,
}

/// Decided before joining the container: whether the command gets a pty,
/// its size, the -L log, and the host's devpts as the fallback.
pub struct Wanted {
    winsize: Option<rustix::termios::Winsize>,
    log: Option<File>,
    host_pts: OwnedFd,
}

fn std_fds() -> [BorrowedFd<'static>; 3] {
    [
        rustix::stdio::stdin(),
        rustix::stdio::stdout(),
        rustix::stdio::stderr(),
    ]
}

/// LXC's lxc-attach -L: the file is opened (created 0600, appended to)
/// whether or not a terminal is allocated.
fn open_log(p: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(p)
        .with_context(|| format!("Failed to open log file \"{}\"", p.display()))
}

/// devpts's f_type (linux/magic.h).
const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;

impl Wanted {
    /// `Some` when any of our standard fds is a terminal (else the command
    /// shares our stdio, as with LXC). Runs before setns.
    pub fn check(log: Option<&Path>) -> Result<Option<Wanted>> {
        let log = log.map(open_log).transpose()?;
        let Some(tty) = std_fds().into_iter().find(|fd| isatty(fd)) else {
            if log.is_some() {
                log::warn!("-L/--pty-log: stdin, stdout and stderr are not terminals, so there is no pty output to log");
            }
            return Ok(None);
        };
        let host_pts = rustix::fs::open(
            "/dev/pts",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .context("opening /dev/pts")?;
        Ok(Some(Wanted {
            winsize: get_winsize(tty),
            log,
            host_pts,
        }))
    }

    /// After joining the container's mount namespace: a pty from the
    /// container's own devpts (LXC's native terminal: the command's tty is
    /// a /dev/pts/N of the container), else from the host's (LXC's foreign
    /// one). The container's /dev/pts/ptmx is only used when it is a real
    /// devpts, reached without following symlinks; the slave comes from
    /// the master (TIOCGPTPEER), never from a path.
    pub fn allocate(self, in_container: bool) -> Result<Terminal> {
        let flags = OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC;
        let native = in_container
            .then(|| {
                let fd = crate::sys::resolve::open_no_symlinks(
                    CWD,
                    std::path::Path::new("/dev/pts/ptmx"),
                    flags,
                    Mode::empty(),
                )
                .ok()?;
                let st = rustix::fs::fstatfs(&fd).ok()?;
                (st.f_type as i64 == DEVPTS_SUPER_MAGIC).then_some(fd)
            })
            .flatten();
        let peer = |m: &OwnedFd| {
            rustix::pty::unlockpt(m)?;
            rustix::pty::ioctl_tiocgptpeer(
                m,
                rustix::pty::OpenptFlags::RDWR
                    | rustix::pty::OpenptFlags::NOCTTY
                    | rustix::pty::OpenptFlags::CLOEXEC,
            )
        };
        // The container's pty only with TIOCGPTPEER (LXC's
        // require_tiocgptpeer): its /dev/pts paths are not trusted.
        let (ptmx, slave) = match native.and_then(|m| Some((peer(&m).ok()?, m))) {
            Some((slave, m)) => (m, slave),
            None => {
                let m = rustix::fs::openat(&self.host_pts, "ptmx", flags, Mode::empty())
                    .context("opening the host's /dev/pts/ptmx")?;
                let slave = match peer(&m) {
                    Ok(s) => s,
                    // Kernels before 4.13: the host's slave by its number.
                    Err(_) => {
                        let name = rustix::pty::ptsname(&m, Vec::new()).context("ptsname")?;
                        let name = name.to_string_lossy();
                        let nr = name.rsplit('/').next().unwrap_or_default();
                        rustix::fs::openat(&self.host_pts, nr, flags, Mode::empty())
                            .with_context(|| format!("opening {name}"))?
                    }
                };
                (m, slave)
            }
        };
        let slave_path = rustix::pty::ptsname(&ptmx, Vec::new())
            .map(|n| std::path::PathBuf::from(n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        if let Some(ws) = self.winsize {
            set_winsize(&ptmx, ws)?;
        }
        Ok(Terminal {
            pair: PtyPair {
                master: ptmx,
                slave,
                slave_path,
            },
            log: self.log,
        })
    }
}

impl Terminal {
    /// The slave, for the child.
    pub fn slave(&self) -> BorrowedFd<'_> {
        self.pair.slave.as_fd()
    }

    /// Proxy our terminal to the command's pty until command `child`
    /// exits. `sfd` is the signalfd of `forward` and SIGCHLD: one poll loop
    /// serves the terminal and the signals (no thread: after setns into a
    /// PID namespace the kernel refuses to create threads).
    pub fn run(self, child: i32, sfd: &OwnedFd, forward: &[i32]) -> Result<ExitStatus> {
        let Terminal { pair, mut log } = self;
        // Only the command holds the slave now: its exit hangs the master up.
        drop(pair.slave);
        let master = pair.master;
        let stdin = rustix::stdio::stdin();
        let guard = if isatty(stdin) {
            // Our signals are forwarded from the signalfd: no handlers.
            Some(RawGuard::with_signals(stdin, false).context("setting the terminal to raw mode")?)
        } else {
            None
        };
        let mut status = None;
        let res = {
            let mut on_signal = || -> Result<bool> {
                while let Some(sig) = process::read_signalfd(sfd.as_fd())? {
                    if forward.contains(&sig) {
                        // The child may just have exited: ESRCH is fine.
                        let _ = process::kill(child, sig);
                    }
                }
                if let Some((_, st)) = process::waitpid(child, true)? {
                    status = Some(st);
                    return Ok(true);
                }
                Ok(false)
            };
            proxy_logged(
                stdin,
                rustix::stdio::stdout(),
                master.as_fd(),
                Some(sfd.as_fd()),
                None,
                log.as_mut().map(|l| l as &mut dyn Write),
                Some(&mut on_signal),
            )
        };
        if status.is_some() {
            // What the command printed last (the master is non-blocking now).
            drain(&master, log.as_mut());
        }
        drop(guard);
        if let Err(e) = res {
            log::warn!("proxying the command's terminal: {e:#}");
        }
        match status {
            Some(st) => Ok(st),
            None => {
                // The pty closed (or our terminal failed) before the command
                // ended: nobody reads the pty any more.
                drop(master);
                super::wait_forwarding(child, sfd, forward)
            }
        }
    }
}

fn drain(master: &OwnedFd, mut log: Option<&mut File>) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(Some(n)) = crate::console::read_some(master, &mut buf) {
        if n == 0 {
            break;
        }
        let _ = crate::console::write_all(rustix::stdio::stdout(), &buf[..n]);
        if let Some(l) = log.as_mut() {
            let _ = l.write_all(&buf[..n]);
        }
    }
}

/// In the child: a session of its own with the pty as controlling
/// terminal and stdio (LXC's lxc_terminal_prepare_login).
pub fn login(tty: BorrowedFd<'_>) -> Result<()> {
    crate::console::set_controlling_tty(tty).context("making the pty the command's terminal")?;
    rustix::stdio::dup2_stdin(tty).context("putting the pty on stdin")?;
    rustix::stdio::dup2_stdout(tty).context("putting the pty on stdout")?;
    rustix::stdio::dup2_stderr(tty).context("putting the pty on stderr")?;
    Ok(())
}
