//! The container store: creating containers (templates, backing stores),
//! destroying them, copies, snapshots, ephemeral containers and rootfs
//! backups, on LXC's on-disk layout (see docs/storage.md).

pub mod backup;
pub mod clone;
pub mod conftext;
pub mod create;
pub mod destroy;
pub mod ephemeral;
pub mod hostname;
pub mod owner;
pub mod rdeps;
pub mod rename;
pub mod snapshot;

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context, Result};
use rustix::fs::FlockOperation;

use crate::container::validate_name;

/// LXC's marker of a container still being created: present and locked
/// while the create runs; present and unlocked means it was interrupted.
pub const PARTIAL: &str = "partial";

/// Set when SIGINT, SIGTERM or SIGHUP arrives during a long store
/// operation (after the first call), so copies stop and clean up instead
/// of dying half-way.
pub fn interrupted() -> &'static AtomicBool {
    static FLAG: once_cell::sync::Lazy<std::sync::Arc<AtomicBool>> =
        once_cell::sync::Lazy::new(|| {
            let f = std::sync::Arc::new(AtomicBool::new(false));
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                if let Err(e) = signal_hook::flag::register(sig, f.clone()) {
                    log::warn!("cannot catch signal {sig}: {e}");
                }
            }
            f
        });
    &FLAG
}

/// Whether an interrupt arrived (see [`interrupted`]).
pub fn was_interrupted() -> bool {
    interrupted().load(Ordering::Relaxed)
}

/// A container directory this process is creating. Dropped without
/// [`NewContainer::done`], it removes everything it made.
pub struct NewContainer {
    pub dir: PathBuf,
    partial: Option<File>,
    /// More paths to remove on failure (a rootfs outside the directory).
    cleanup: Vec<PathBuf>,
    finished: bool,
}

impl NewContainer {
    /// Make LXCPATH/NAME (mode 0770) and mark it partial. The directory is
    /// made with a single mkdir, so of two processes creating the same
    /// name exactly one wins; the other gets "Container already exists".
    pub fn make(lxcpath: &Path, name: &str) -> Result<NewContainer> {
        validate_name(name)?;
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(lxcpath)
            .with_context(|| format!("creating lxcpath {}", lxcpath.display()))?;
        let dir = lxcpath.join(name);
        for attempt in 0..2 {
            match DirBuilder::new().mode(0o770).create(&dir) {
                Ok(()) => break,
                Err(e) if e.kind() == ErrorKind::AlreadyExists && attempt == 0 => {
                    if !remove_interrupted(&dir)? {
                        bail!("Container already exists");
                    }
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => bail!("Container already exists"),
                Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
            }
        }
        let mut nc = NewContainer {
            dir,
            partial: None,
            cleanup: Vec::new(),
            finished: false,
        };
        // LXC's mode regardless of the umask.
        std::fs::set_permissions(&nc.dir, std::fs::Permissions::from_mode(0o770))
            .with_context(|| format!("setting the mode of {}", nc.dir.display()))?;
        nc.partial = Some(locked_marker(&nc.dir)?);
        Ok(nc)
    }

    /// Also remove `p` if the creation fails.
    pub fn remove_on_failure(&mut self, p: PathBuf) {
        self.cleanup.push(p);
    }

    /// The container is complete: drop the partial marker, keep everything.
    pub fn done(mut self) -> Result<()> {
        self.finished = true;
        let p = self.dir.join(PARTIAL);
        self.partial = None;
        std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))
    }
}

impl Drop for NewContainer {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        for p in &self.cleanup {
            if let Err(e) = crate::storage::remove::remove_tree(p) {
                log::error!("cleaning up {}: {e:#}", p.display());
            }
        }
        if let Err(e) = crate::storage::remove::remove_tree(&self.dir) {
            log::error!("cleaning up {}: {e:#}", self.dir.display());
        }
    }
}

/// Create DIR/partial already locked. A concurrent create that finds the
/// directory taken tries the marker's lock to tell a live create from an
/// interrupted one, so the marker must never be visible unlocked: it is
/// made as an unnamed O_TMPFILE, locked, then linked into place. Where the
/// filesystem has no O_TMPFILE, it is created and locked at once (a narrow
/// window, taken only there).
fn locked_marker(dir: &Path) -> Result<File> {
    use rustix::fs::{linkat, openat, AtFlags, Mode, OFlags, CWD};
    let p = dir.join(PARTIAL);
    match openat(
        CWD,
        dir,
        OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => {
            let f = File::from(fd);
            rustix::fs::flock(&f, FlockOperation::LockExclusive)
                .with_context(|| format!("locking {}", p.display()))?;
            let me = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&f));
            linkat(CWD, me.as_str(), CWD, &p, AtFlags::SYMLINK_FOLLOW)
                .with_context(|| format!("creating {}", p.display()))?;
            Ok(f)
        }
        Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::ISDIR => {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o000)
                .open(&p)
                .with_context(|| format!("creating {}", p.display()))?;
            rustix::fs::flock(&f, FlockOperation::LockExclusive)
                .with_context(|| format!("locking {}", p.display()))?;
            Ok(f)
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", p.display())),
    }
}

/// A directory left by a create that was killed (partial marker present,
/// nobody holding its lock): remove it and say so. False when the
/// directory belongs to a live or finished container.
fn remove_interrupted(dir: &Path) -> Result<bool> {
    let p = dir.join(PARTIAL);
    let Ok(f) = File::open(&p) else {
        return Ok(false);
    };
    if rustix::fs::flock(&f, FlockOperation::NonBlockingLockExclusive).is_err() {
        bail!(
            "Container {} is being created by another process",
            dir.display()
        );
    }
    log::warn!("removing {}, left by an interrupted create", dir.display());
    crate::storage::remove::remove_tree(dir)?;
    Ok(true)
}

/// True when LXCPATH/NAME is being created or was left half-made.
pub fn is_partial(lxcpath: &Path, name: &str) -> bool {
    lxcpath.join(name).join(PARTIAL).exists()
}

/// Whether the container runs. A monitor that is tearing down (STOPPING,
/// or STOPPED announced but its socket not yet closed) is waited for, up
/// to 10 seconds: lxc-stop returns at STOPPED, and a destroy or copy
/// right after it must not see the container as running.
pub fn is_running(lxcpath: &str, name: &str) -> Result<bool> {
    use crate::monitor::{client, State};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if client::Client::connect(lxcpath, name)?.is_none() {
            return Ok(false);
        }
        match client::state(lxcpath, name)? {
            State::Stopping | State::Stopped if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            _ => return Ok(true),
        }
    }
}
