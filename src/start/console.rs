//! The container's console and ttys at start: the monitor allocates the pty
//! pairs (masters stay with it, in the console hub); the child binds the
//! slaves over /dev/console and /dev/ttyN inside the rootfs and makes the
//! console init's stdio.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::PathBuf;

use anyhow::{Context, Result};
use rustix::fs::{Mode, OFlags};
use rustix::termios::isatty;

use crate::config::Config;
use crate::console::{tty_nodes, ConsoleHub, HubConfig};

/// What the child needs to know about the ptys (the fds are inherited
/// through the clone).
#[derive(Debug, Clone, Default)]
pub struct ConsolePlan {
    /// The console slave, init's stdio (None: lxc.console.path = none).
    pub slave_fd: Option<RawFd>,
    pub console_path: Option<PathBuf>,
    /// Host paths of the tty slaves, tty1 first.
    pub ttys: Vec<PathBuf>,
    pub tty_dir: Option<String>,
    /// The console replaces only those of stdin, stdout and stderr that
    /// are terminals (lxc-execute in the foreground, as LXC's
    /// lxc_terminal_set_stdfds); else all three.
    pub only_ttys: bool,
}

/// Who is at the other end of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Nobody (a daemon): the output goes to the ring buffer and the log,
    /// lxc-console attaches.
    None,
    /// `lxc-start -F`: the caller's stdin and stdout, terminals or pipes.
    Stdio,
    /// `lxc-execute` in the foreground: the caller's terminal, when one of
    /// its stdin, stdout or stderr is a terminal (LXC opens /dev/tty). The
    /// application gets the console pty in place of exactly those fds, so
    /// it never holds the caller's terminal (TIOCSTI stays in the pty);
    /// pipes and files stay its own.
    Terminal,
}

impl Peer {
    pub fn of(spec: &super::StartSpec) -> Peer {
        if spec.foreground {
            Peer::Stdio
        } else if spec.execute && !spec.daemon {
            Peer::Terminal
        } else {
            Peer::None
        }
    }
}

/// Allocate the console hub and connect `peer`. lxc-execute's container
/// (`execute`) gets the console only, no ttys (LXC sets none up for it).
pub fn hub(cfg: &Config, peer: Peer, execute: bool) -> Result<ConsoleHub> {
    let stdin = std::io::stdin();
    let terminal = match peer {
        Peer::Terminal => caller_terminal()?,
        _ => None,
    };
    let winsize = match (peer, &terminal) {
        (Peer::Stdio, _) => crate::console::get_winsize(stdin.as_fd()),
        (Peer::Terminal, Some(t)) => crate::console::get_winsize(t.as_fd()),
        _ => None,
    };
    let mut hub = ConsoleHub::new(&HubConfig {
        tty_max: if execute { 0 } else { cfg.tty_max },
        console_path: cfg.console.path.clone(),
        logfile: cfg.console.logfile.as_ref().map(PathBuf::from),
        log_size: cfg.console.size,
        log_rotate: cfg.console.rotate,
        buffer_size: cfg.console.buffer_size,
        winsize,
    })?;
    let slaves = hub
        .console_slave()
        .into_iter()
        .chain(hub.tty_slaves())
        .map(PathBuf::from)
        .collect::<Vec<_>>();
    for p in slaves {
        device_mode(&p, cfg)?;
    }
    // lxc.console.path = none: no console; init keeps the caller's stdio
    // (lxc-start -F then runs the container on it, as LXC does).
    if hub.console_slave().is_none() {
        return Ok(hub);
    }
    match peer {
        Peer::Stdio => {
            let stdout = std::io::stdout();
            // The monitor forwards SIGTERM & co. to init, so the terminal
            // is restored when the hub is dropped rather than from a
            // signal handler.
            hub.attach_local(stdin.as_fd(), stdout.as_fd(), false)
                .context("connecting the terminal to the console")?;
        }
        // A console path (a file or device) is the peer already.
        Peer::Terminal if !hub.has_local() => {
            if let Some(t) = &terminal {
                let r = if isatty(stdin.as_fd()) {
                    hub.attach_local(t.as_fd(), t.as_fd(), false)
                } else {
                    hub.attach_output(t.as_fd())
                };
                r.context("connecting the terminal to the console")?;
            }
        }
        _ => {}
    }
    Ok(hub)
}

/// The caller's terminal, if stdin, stdout or stderr is one: /dev/tty
/// (its controlling terminal), else that fd reopened.
fn caller_terminal() -> Result<Option<OwnedFd>> {
    let (i, o, e) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let std_fds = [i.as_fd(), o.as_fd(), e.as_fd()];
    let Some(fd) = std_fds.iter().find(|f| isatty(f)) else {
        return Ok(None);
    };
    let flags = OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC;
    if let Ok(t) = rustix::fs::open("/dev/tty", flags, Mode::empty()) {
        return Ok(Some(t));
    }
    let p = format!("/proc/self/fd/{}", fd.as_raw_fd());
    rustix::fs::open(&p, flags, Mode::empty())
        .map(Some)
        .with_context(|| format!("opening the caller's terminal {p}"))
}

/// The group that owns terminals inside the container: `tty`, gid 5 (what
/// LXC's devpts instance is mounted with).
const TTY_GID: u32 = 5;

/// /dev/console and /dev/ttyN as LXC makes them: `crw--w----`, owned by
/// the container's root and its tty group (seen from the host through
/// lxc.idmap). The write bit for the group lets `wall` / `write` reach them.
fn device_mode(slave: &std::path::Path, cfg: &Config) -> Result<()> {
    let step = || format!("setting mode and owner of {}", slave.display());
    let host_id = |kind: char, id: u32| {
        if cfg.idmap.is_empty() {
            return Some(id);
        }
        cfg.idmap
            .iter()
            .filter(|m| m.kind == kind)
            .find(|m| id >= m.ns_id && id - m.ns_id < m.range)
            .map(|m| m.host_id + (id - m.ns_id))
    };
    use rustix::fs::{Gid, Uid};
    let uid = host_id('u', 0).map(Uid::from_raw);
    let gid = host_id('g', TTY_GID).map(Gid::from_raw);
    rustix::fs::chmod(slave, rustix::fs::Mode::from_raw_mode(0o620)).with_context(step)?;
    match rustix::fs::chown(slave, uid, gid) {
        Err(rustix::io::Errno::PERM) if !cfg.idmap.is_empty() => {
            // An ordinary user: only root of the container's user
            // namespace (with the caller's id mapped too) may hand the pty
            // to the container's root and tty group (LXC's
            // lxc_terminal_map_ids, through chown_mapped_root).
            crate::userns::exec::chown_mapped(&cfg.idmap, &[slave], Some(0), Some(TTY_GID))
                .with_context(step)
        }
        r => r.with_context(step),
    }
}

pub fn plan(hub: &ConsoleHub, cfg: &Config, only_ttys: bool) -> ConsolePlan {
    ConsolePlan {
        only_ttys,
        slave_fd: hub.console_slave_fd().map(|f| f.as_raw_fd()),
        console_path: hub.console_slave().map(PathBuf::from),
        ttys: hub.tty_slaves().into_iter().map(PathBuf::from).collect(),
        tty_dir: cfg.tty_dir.clone(),
    }
}

/// Child, before pivot_root: bind the slaves over the container's device
/// nodes (lxc.tty.dir: DIR/ttyN plus /dev/ttyN -> DIR/ttyN links).
pub fn bind_nodes(p: &ConsolePlan, root: &crate::mount::RootFs) -> Result<()> {
    if let Some(c) = &p.console_path {
        crate::mount::bind_into_root(root, c, "dev/console", true)?;
    }
    let nodes = tty_nodes(p.ttys.len() as u32, p.tty_dir.as_deref());
    for (node, src) in nodes.iter().zip(&p.ttys) {
        crate::mount::bind_into_root(root, src, &format!("dev/{}", node.bind_target), true)?;
        if let Some((link, target)) = &node.link {
            let dev = root
                .open("dev", None)
                .context("opening the container's /dev")?;
            let _ = rustix::fs::unlinkat(&dev, link.as_str(), rustix::fs::AtFlags::empty());
            rustix::fs::symlinkat(target.as_str(), &dev, link.as_str())
                .with_context(|| format!("linking /dev/{link} -> {target} in the container"))?;
        }
    }
    Ok(())
}

/// Child, right before exec: the console becomes stdin/out/err and the
/// controlling terminal of init's session.
pub fn make_stdio(p: &ConsolePlan) -> Result<()> {
    let Some(fd) = p.slave_fd else {
        return Ok(());
    };
    let slave: BorrowedFd<'_> = crate::sys::process::borrow_inherited(fd);
    let keep = |f: BorrowedFd<'_>| p.only_ttys && !isatty(f);
    if !keep(std::io::stdin().as_fd()) {
        rustix::stdio::dup2_stdin(slave).context("console as stdin")?;
    }
    if !keep(std::io::stdout().as_fd()) {
        rustix::stdio::dup2_stdout(slave).context("console as stdout")?;
    }
    if !keep(std::io::stderr().as_fd()) {
        rustix::stdio::dup2_stderr(slave).context("console as stderr")?;
    }
    // The console is init's stdio but NOT its controlling terminal (LXC's
    // set_stdfds, after a setsid): a terminal is the controlling terminal
    // of one session only, and the shell init starts on the console (busybox
    // `console::askfirst:/bin/sh` opens /dev/console from a new session)
    // must be able to take it, or it has no job control ("can't access
    // tty") and Ctrl-C reaches nobody.
    Ok(())
}
