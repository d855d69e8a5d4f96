//! The new mount API's detached trees on kernels without it (before 5.2,
//! or where seccomp or qemu-user hide it).
//!
//! open_tree(OPEN_TREE_CLONE) gives a copy of a mount tree that is attached
//! nowhere, and move_mount attaches it later. Here the copy is a bind
//! mount on a spot in a private staging tmpfs (RUNDIR/stage, mounted once
//! per process), and attaching it is mount(MS_MOVE). The O_PATH fd of the
//! staged mount's root names the mount itself either way, so a read-only
//! remount or a propagation change through it acts on the new mount, as
//! with the detached one.
//!
//! Used only inside the container's private mount namespace (the staging
//! tmpfs is invisible to the host, and goes with the old root at
//! pivot_root); the spots left behind by moved mounts are empty.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};
use once_cell::sync::OnceCell;
use rustix::fs::{fstat, mkdirat, openat, statat, AtFlags, FileType, Mode, OFlags, CWD};
use rustix::mount::{mount, mount_bind, mount_bind_recursive, MountFlags};

use super::ops::BindSource;
use super::resolve::fd_path;

fn io(e: rustix::io::Errno) -> anyhow::Error {
    anyhow::Error::new(std::io::Error::from(e))
}

fn opath(dir: BorrowedFd<'_>, name: &str) -> rustix::io::Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn dir() -> std::path::PathBuf {
    crate::paths::rundir().join("stage")
}

/// Create the directory the staging tmpfs goes on, from the host side (the
/// container's child may be root of a user namespace, which may mount on
/// it but not create it). Only where the kernel lacks the new mount API.
pub fn prepare() -> Result<()> {
    if crate::sys::kernel::has(crate::sys::kernel::Feature::MountApi) {
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt;
    let d = dir();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(&d)
        .with_context(|| format!("creating the mount staging directory {}", d.display()))
}

/// The staging tmpfs's root.
fn area() -> Result<BorrowedFd<'static>> {
    static AREA: OnceCell<OwnedFd> = OnceCell::new();
    let fd = AREA.get_or_try_init(|| -> Result<OwnedFd> {
        let dir = dir();
        let step = || format!("preparing the mount staging area {}", dir.display());
        if !dir.is_dir() {
            prepare().with_context(step)?;
        }
        let under = rustix::fs::open(
            &dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io)
        .with_context(step)?;
        mount(
            "lxcbox-stage",
            fd_path(under.as_fd()),
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            Some(c"mode=0700"),
        )
        .map_err(io)
        .with_context(step)?;
        // The same path again now leads onto the tmpfs.
        rustix::fs::open(
            &dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io)
        .with_context(step)
    })?;
    Ok(fd.as_fd())
}

/// A bind of `source` staged on a fresh spot: the fd of the new mount.
pub fn bind(source: BindSource<'_>, recursive: bool) -> Result<OwnedFd> {
    static N: AtomicU32 = AtomicU32::new(0);
    let area = area()?;
    let (src, is_dir) = match source {
        BindSource::Host(p) => {
            let st = statat(CWD, p, AtFlags::empty()).map_err(io)?;
            (
                p.to_string(),
                FileType::from_raw_mode(st.st_mode) == FileType::Directory,
            )
        }
        BindSource::Fd(fd) => {
            let st = fstat(fd).map_err(io)?;
            (
                fd_path(fd),
                FileType::from_raw_mode(st.st_mode) == FileType::Directory,
            )
        }
    };
    let name = N.fetch_add(1, Ordering::Relaxed).to_string();
    if is_dir {
        mkdirat(area, name.as_str(), Mode::from_raw_mode(0o700)).map_err(io)?;
    } else {
        openat(
            area,
            name.as_str(),
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(io)?;
    }
    let spot = opath(area, &name).map_err(io)?;
    if recursive {
        mount_bind_recursive(src.as_str(), fd_path(spot.as_fd()))
    } else {
        mount_bind(src.as_str(), fd_path(spot.as_fd()))
    }
    .map_err(io)
    .context("mount MS_BIND (staged)")?;
    // Looked up again, the name leads onto the new mount's root.
    opath(area, &name).map_err(io)
}
