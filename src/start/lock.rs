//! The per-container start lock, under the run directory (never in the
//! rootfs). flock(2) is released by the kernel when its holder dies, so a
//! SIGKILLed monitor never leaves a stale lock.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use rustix::fs::{flock, FlockOperation};

use crate::monitor::{canonical_lxcpath, fnv64};

pub fn lock_path(lxcpath: &str, name: &str) -> PathBuf {
    let lp = canonical_lxcpath(lxcpath);
    crate::paths::rundir()
        .join("lock")
        .join(format!("{:016x}", fnv64(lp.as_bytes())))
        .join(name)
}

/// A held lock; released on drop (or when the process dies). It also
/// carries the claim on LXC's command socket name (`coexist::claim`),
/// which lives exactly as long.
#[derive(Debug)]
pub struct StartLock {
    // Dropped before the lock (fields drop in order): whoever takes the lock
    // next finds LXC's name free.
    lxc_claim: Option<std::os::fd::OwnedFd>,
    _file: File,
}

impl StartLock {
    /// Hold LXC's command socket name along with the lock.
    pub fn hold_lxc_claim(&mut self, fd: std::os::fd::OwnedFd) {
        self.lxc_claim = Some(fd);
    }
}

/// Take the container's lock without waiting; `Ok(None)` if someone holds it.
pub fn try_lock(lxcpath: &str, name: &str) -> Result<Option<StartLock>> {
    let p = lock_path(lxcpath, name);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(&p)
        .with_context(|| format!("opening lock {}", p.display()))?;
    match flock(&f, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(StartLock {
            _file: f,
            lxc_claim: None,
        })),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("locking {}", p.display())),
    }
}
