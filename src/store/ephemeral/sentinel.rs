//! The ephemeral sentinel and the destroy at stop (see the module docs of
//! [`super`]).

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::container::Container;
use crate::store::destroy::remove_container;
use crate::sys::process;

/// Held by the monitor; dropping it (or dying) releases the sentinel.
pub struct Sentinel {
    _pipe: OwnedFd,
}

/// For an ephemeral container, start its sentinel. Call in the monitor
/// before it moves into its own cgroup and before any other process is
/// made.
pub fn watch(c: &Container) -> Result<Option<Sentinel>> {
    if !c.config.ephemeral {
        return Ok(None);
    }
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .context("creating the ephemeral sentinel's pipe")?;
    match process::fork().context("forking the ephemeral sentinel")? {
        Some(pid) => {
            drop(r);
            // The intermediate child exits at once (the sentinel is its child).
            let _ = process::waitpid(pid, false);
            Ok(Some(Sentinel { _pipe: w }))
        }
        None => {
            drop(w);
            match process::fork() {
                Ok(Some(_)) => process::exit_now(0),
                Ok(None) => sentinel(c, r),
                Err(_) => process::exit_now(1),
            }
        }
    }
}

fn sentinel(c: &Container, pipe: OwnedFd) -> ! {
    let _ = rustix::process::setsid();
    // Nothing of the monitor's stays open here: not its lock, its sockets
    // or its terminal.
    if let Ok(null) = rustix::fs::open(
        "/dev/null",
        rustix::fs::OFlags::RDWR,
        rustix::fs::Mode::empty(),
    ) {
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
        let _ = rustix::stdio::dup2_stderr(&null);
    }
    let _ = process::close_fds_from(3, &[pipe.as_raw_fd()]);
    let _ = process::set_proctitle(&format!("[lxc ephemeral] {} {}", c.lxcpath, c.name));
    let mut f = std::fs::File::from(pipe);
    let mut buf = [0u8; 1];
    while !matches!(f.read(&mut buf), Ok(0) | Err(_)) {}
    // The monitor is gone. A normal stop has destroyed the container
    // already; after a crash it is still here.
    let deadline = Instant::now() + Duration::from_secs(30);
    let lock = loop {
        match crate::start::lock::try_lock(&c.lxcpath, &c.name) {
            Ok(Some(l)) => break Some(l),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => break None,
        }
    };
    if lock.is_some() && Container::is_defined(&c.lxcpath, &c.name) {
        clear_cgroups(&c.name);
        if let Ok(cur) = Container::load(&c.lxcpath, &c.name, None) {
            if cur.config.ephemeral {
                let _ = remove_container(&cur, false);
            }
        }
    }
    process::exit_now(0)
}

/// Kill what is left in the dead monitor's payload cgroups (init's pid
/// namespace is torn down asynchronously after its parent-death SIGKILL)
/// and remove them, with the monitor's own cgroup.
fn clear_cgroups(name: &str) {
    let Ok(layout) = crate::cgroup::Layout::discover() else {
        return;
    };
    let dirs: Vec<PathBuf> = layout
        .container_hierarchies()
        .map(|h| {
            h.base_dir()
                .join(format!("{}{name}", crate::cgroup::PAYLOAD_PREFIX))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        crate::start::remove_stale_cgroups(&layout, name);
        let left: Vec<&PathBuf> = dirs.iter().filter(|d| d.exists()).collect();
        if left.is_empty() || Instant::now() > deadline {
            return;
        }
        for d in left {
            for p in procs_under(d) {
                let _ = process::kill(p, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pids in a cgroup directory and its sub-cgroups.
fn procs_under(dir: &Path) -> Vec<i32> {
    let mut out: Vec<i32> = std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.extend(procs_under(&e.path()));
            }
        }
    }
    out
}

/// At the monitor's teardown: destroy an ephemeral container. Errors are
/// logged (the container has stopped either way).
pub fn on_stop(c: &Container) {
    if !c.config.ephemeral {
        return;
    }
    // The config on disk decides (lxc-copy -D clears the flag).
    let Ok(cur) = Container::load(&c.lxcpath, &c.name, None) else {
        return;
    };
    if !cur.config.ephemeral {
        return;
    }
    if let Err(e) = remove_container(&cur, false) {
        log::error!("destroying ephemeral container {}: {e:#}", c.name);
    }
}
