//! Living beside a real LXC on the same host, so a host can move from LXC
//! to lxcbox one container at a time.
//!
//! - A container a real LXC runs is recognised by LXC's own command
//!   socket and asked for its state and init pid in LXC's command protocol
//!   ([`cmd`]): lxc-ls and lxc-info show it as running, lxc-start and
//!   lxc-destroy refuse it instead of starting it a second time on the same
//!   rootfs or deleting it under LXC's feet.
//! - While lxcbox runs a container it also holds LXC's command socket name
//!   for it ([`claim`]), bound but not listening, so a real LXC cannot
//!   start the same container (its bind fails) and, since both sides take
//!   that name atomically, a start by each at the same moment lets exactly
//!   one through.
//! - lxcbox's destroy takes LXC's container lock too ([`lock`]), so it never
//!   races an LXC operation on the container.
//! - lxcbox removes only cgroups it made (`cgroup::owner`); its locks,
//!   sockets and records live in its own run directory.

pub mod cmd;
pub mod lock;

use std::os::fd::OwnedFd;

use anyhow::{bail, Result};

use crate::monitor::State;

/// A container a real LXC runs, as its monitor describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LxcRun {
    pub state: State,
    /// Init's pid (in our pid namespace), when LXC gives one.
    pub pid: Option<i32>,
}

/// Whether a real LXC runs `name` of `lxcpath`, and how it is.
pub fn running(lxcpath: &str, name: &str) -> Option<LxcRun> {
    let state = cmd::get_state(lxcpath, name).ok()??;
    if state == State::Stopped {
        return None;
    }
    let pid = cmd::get_init_pid(lxcpath, name).ok().flatten();
    Some(LxcRun { state, pid })
}

/// Names LXC's monitors listen for under `lxcpath`, from the socket table
/// (`/proc/net/unix`): the plain-named sockets; a hashed one (long paths)
/// is only found by asking for a given name ([`running`]).
pub fn listening_names(lxcpath: &str, unix_table: &str) -> Vec<String> {
    let prefix = format!("@{}/", lxcpath.trim_end_matches('/'));
    unix_table
        .lines()
        .filter_map(|l| l.rsplit(' ').next())
        .filter_map(|p| p.strip_prefix(&prefix)?.strip_suffix("/command"))
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .map(str::to_string)
        .collect()
}

/// The refusal when a real LXC runs the container.
#[derive(Debug)]
pub struct RunByLxc {
    pub name: String,
    pub run: LxcRun,
}

impl std::fmt::Display for RunByLxc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is {} under LXC", self.name, self.run.state)?;
        if let Some(p) = self.run.pid {
            write!(f, " (init pid {p})")?;
        }
        write!(f, ": use LXC's own tools for it, or stop it there first")
    }
}

impl std::error::Error for RunByLxc {}

/// Fail with [`RunByLxc`] if a real LXC runs the container.
pub fn refuse_if_run_by_lxc(lxcpath: &str, name: &str) -> Result<()> {
    match running(lxcpath, name) {
        Some(run) => Err(RunByLxc {
            name: name.to_string(),
            run,
        }
        .into()),
        None => Ok(()),
    }
}

/// Hold LXC's command socket name for a container lxcbox is about to run
/// (keep the fd for as long as it runs). If LXC holds it already (it runs
/// or starts the container), the start is refused.
pub fn claim(lxcpath: &str, name: &str) -> Result<OwnedFd> {
    // Taken but not answering: LXC's monitor between its bind and its
    // listen, or the previous lxcbox monitor of the container exiting (its
    // fds close in no particular order). Either clears up at once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match cmd::bind_name(lxcpath, name) {
            Ok(fd) => return Ok(fd),
            Err(e) if e == rustix::io::Errno::ADDRINUSE => {
                if let Some(run) = running(lxcpath, name) {
                    return Err(RunByLxc {
                        name: name.to_string(),
                        run,
                    }
                    .into());
                }
                if std::time::Instant::now() >= deadline {
                    bail!("{name}: LXC's command socket for it is taken (LXC is starting or stopping it)")
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => {
                return Err(std::io::Error::from(e))
                    .map_err(|e| anyhow::anyhow!("reserving LXC's command socket name: {e}"))
            }
        }
    }
}
