//! LXC's per-container lock (lxclock.c): a write record lock on
//! `RUNDIR/lxc/lock/LXCPATH/.NAME` (RUNDIR /run for root,
//! $XDG_RUNTIME_DIR otherwise), which LXC holds while it creates, destroys,
//! clones or saves a container. lxcbox takes it (a POSIX record lock, which
//! conflicts with LXC's OFD lock) around the operations that must not race
//! LXC's, without waiting.

use std::fs::File;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use rustix::fs::FlockOperation;

fn lxc_rundir() -> Option<PathBuf> {
    Some(crate::paths::lxc_rundir())
}

/// The lock file LXC uses for the container.
pub fn lock_path(lxcpath: &str, name: &str) -> Option<PathBuf> {
    let lp = lxcpath.trim_end_matches('/');
    Some(lxc_rundir()?.join(format!("lxc/lock/{}/.{name}", lp.trim_start_matches('/'))))
}

/// LXC's lock, held until dropped.
#[derive(Debug)]
pub struct LxcLock {
    _file: Option<File>,
}

/// Take LXC's lock of the container without waiting. On a host where LXC
/// never ran (no `RUNDIR/lxc`) there is nothing to take and nothing is
/// created. Fails if LXC holds it.
pub fn try_lock(lxcpath: &str, name: &str) -> Result<LxcLock> {
    let Some(p) = lock_path(lxcpath, name) else {
        return Ok(LxcLock { _file: None });
    };
    let lxc_dir = lxc_rundir().map(|d| d.join("lxc"));
    if !lxc_dir.is_some_and(|d| d.is_dir()) {
        return Ok(LxcLock { _file: None });
    }
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let f = crate::fsutil::open_lock_file(&p)
        .with_context(|| format!("opening LXC's lock {}", p.display()))?;
    match rustix::fs::fcntl_lock(&f, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(LxcLock { _file: Some(f) }),
        Err(rustix::io::Errno::AGAIN | rustix::io::Errno::ACCESS) => {
            bail!(
                "LXC holds the lock of {name} ({}): it is working on it",
                p.display()
            )
        }
        Err(e) => Err(e).with_context(|| format!("locking {}", p.display())),
    }
}
