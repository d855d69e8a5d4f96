//! The container's console and ttys at start: the monitor allocates the pty
//! pairs (masters stay with it, in the console hub); the child binds the
//! slaves over /dev/console and /dev/ttyN inside the rootfs and makes the
//! console init's stdio and controlling terminal.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::PathBuf;

use anyhow::{Context, Result};

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
}

/// Allocate the hub for a system container. With `foreground`, the
/// caller's terminal (or pipes) becomes the console's peer.
pub fn hub(cfg: &Config, foreground: bool) -> Result<ConsoleHub> {
    let stdin = std::io::stdin();
    let winsize = if foreground {
        crate::console::get_winsize(stdin.as_fd())
    } else {
        None
    };
    let mut hub = ConsoleHub::new(&HubConfig {
        tty_max: cfg.tty_max,
        console_path: cfg.console.path.clone(),
        logfile: cfg.console.logfile.as_ref().map(PathBuf::from),
        log_size: cfg.console.size,
        log_rotate: cfg.console.rotate,
        buffer_size: cfg.console.buffer_size,
        winsize,
    })?;
    if foreground {
        let stdout = std::io::stdout();
        // The monitor forwards SIGTERM & co. to init, so the terminal is
        // restored when the hub is dropped rather than from a signal handler.
        hub.attach_local(stdin.as_fd(), stdout.as_fd(), false)
            .context("connecting the terminal to the console")?;
    }
    Ok(hub)
}

pub fn plan(hub: &ConsoleHub, cfg: &Config) -> ConsolePlan {
    ConsolePlan {
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
    rustix::stdio::dup2_stdin(slave).context("console as stdin")?;
    rustix::stdio::dup2_stdout(slave).context("console as stdout")?;
    rustix::stdio::dup2_stderr(slave).context("console as stderr")?;
    // The child is already a session leader (setsid earlier), so only the
    // TIOCSCTTY half of console::set_controlling_tty is wanted here.
    rustix::process::ioctl_tiocsctty(slave)
        .context("making the console init's controlling terminal")?;
    Ok(())
}
