//! The new mount API's detached trees on kernels without it (before 5.2,
//! or where seccomp or qemu-user hide it).
//!
//! open_tree(OPEN_TREE_CLONE) and fsmount give a mount that is attached
//! nowhere, reachable only through its fd; move_mount attaches it later.
//! Here the mount is made with mount(2) on a fresh spot of a staging area
//! (RUNDIR/stage), and its root's O_PATH fd is what the caller gets: that
//! fd names the new mount itself, so a read-only remount or a propagation
//! change through it acts on the new mount, as with a detached one.
//!
//! Where the spot lives depends on whether the host could see it:
//! - in a mount namespace lxcbox made (the container's child, a template's
//!   private namespace: `sys::mount::in_own_mount_ns`) the staging area is a tmpfs mounted there (once per
//!   namespace), the staged mount stays on its spot, and attaching it is
//!   mount(MS_MOVE); the area goes with the namespace (for the child, with
//!   the old root at pivot_root);
//! - in the host's mount namespace the staged mount is lazily unmounted
//!   (MNT_DETACH) as soon as its fd is open: like a detached mount it is
//!   reachable only through that fd and vanishes with it, but it can no
//!   longer be attached anywhere (kernels before 5.2 cannot move or bind a
//!   mount that is not in a namespace), which no caller in the host's
//!   namespace does.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use rustix::fs::{fstat, mkdirat, openat, statat, AtFlags, FileType, Mode, OFlags, CWD};
use rustix::mount::{
    mount, mount_bind, mount_bind_recursive, mount_move, unmount, MountFlags, UnmountFlags,
};

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

fn open_dir(d: &std::path::Path) -> rustix::io::Result<OwnedFd> {
    rustix::fs::open(
        d,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn dir() -> PathBuf {
    crate::paths::rundir().join("stage")
}

/// Create the directory the staging area goes on, from the host side (the
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

/// The container's child in a new user namespace, before it becomes root
/// there: mount its staging area now. Until then its file system ids are
/// still the caller's, who can reach RUNDIR/stage (an ordinary user's
/// 0700 $XDG_RUNTIME_DIR); the namespace's root, whose ids the host does
/// not know, could not. Later calls find the area cached.
pub fn mount_area_early() -> Result<()> {
    if crate::sys::kernel::has(crate::sys::kernel::Feature::MountApi) {
        return Ok(());
    }
    EARLY.store(true, Ordering::Relaxed);
    area().map(drop)
}

/// Set by [`mount_area_early`].
static EARLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A mount namespace, as (device, inode) of its nsfs file.
// The casts are for 32-bit ABIs, where the field types differ.
#[allow(clippy::unnecessary_cast)]
fn mount_ns(pid: &str) -> rustix::io::Result<(u64, u64)> {
    rustix::fs::stat(format!("/proc/{pid}/ns/mnt").as_str())
        .map(|s| (s.st_dev as u64, s.st_ino as u64))
}

/// Where this process stages mounts.
enum Area {
    /// The staging tmpfs of our own mount namespace.
    Private(OwnedFd),
    /// The host's namespace: RUNDIR/stage itself, spots detached at once.
    Host(OwnedFd),
}

impl Area {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Area::Private(fd) | Area::Host(fd) => fd.as_fd(),
        }
    }
}

fn area() -> Result<Area> {
    static PRIVATE: Mutex<Option<((u64, u64), OwnedFd)>> = Mutex::new(None);
    let d = dir();
    let step = || format!("preparing the mount staging area {}", d.display());
    if !crate::sys::mount::in_own_mount_ns() {
        if !d.is_dir() {
            prepare().with_context(step)?;
        }
        return Ok(Area::Host(open_dir(&d).map_err(io).with_context(step)?));
    }
    let me = mount_ns("self")
        .map_err(io)
        .context("reading /proc/self/ns/mnt")?;
    // Once per namespace: a forked child in a new namespace cannot mount on
    // its parent's area (EINVAL).
    let mut cached = PRIVATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, fd)) = cached.as_ref().filter(|(ns, _)| *ns == me) {
        return Ok(Area::Private(fd.try_clone()?));
    }
    if !d.is_dir() {
        prepare().with_context(step)?;
    }
    let under = open_dir(&d).map_err(io).with_context(step)?;
    mount(
        "lxcbox-stage",
        fd_path(under.as_fd()),
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        // Mounted early in a new user namespace (mount_area_early), the
        // tmpfs root belongs to the caller's host uid, which the
        // namespace's root — who makes the spots — will not be: then it is
        // world-writable (sticky). Either way it is reachable only from
        // this private mount namespace, and leaves with the old root.
        Some(if EARLY.load(Ordering::Relaxed) {
            c"mode=1777"
        } else {
            c"mode=0700"
        }),
    )
    .map_err(io)
    .with_context(step)?;
    // The same path again now leads onto the tmpfs.
    let fd = open_dir(&d).map_err(io).with_context(step)?;
    let out = fd.try_clone()?;
    *cached = Some((me, fd));
    Ok(Area::Private(out))
}

/// Make a fresh spot (a directory, or a file to bind a file on), mount on
/// it with `mount_on(spot path)`, and return the new mount's root.
fn staged(dir: bool, mount_on: impl FnOnce(String) -> Result<()>) -> Result<OwnedFd> {
    static N: AtomicU32 = AtomicU32::new(0);
    let area = area()?;
    let name = format!(
        "{}.{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    if dir {
        mkdirat(area.fd(), name.as_str(), Mode::from_raw_mode(0o700)).map_err(io)?;
    } else {
        openat(
            area.fd(),
            name.as_str(),
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(io)?;
    }
    let spot = opath(area.fd(), &name).map_err(io)?;
    let r = mount_on(fd_path(spot.as_fd())).and_then(|()| {
        // Looked up again, the name leads onto the new mount's root.
        opath(area.fd(), &name).map_err(io)
    });
    if let Area::Host(_) = area {
        if let Ok(root) = &r {
            // Through the new mount's own root (the spot's fd names the
            // directory underneath).
            unmount(fd_path(root.as_fd()).as_str(), UnmountFlags::DETACH)
                .map_err(io)
                .context("detaching the staged mount")?;
        }
        let flags = if dir {
            rustix::fs::AtFlags::REMOVEDIR
        } else {
            rustix::fs::AtFlags::empty()
        };
        let _ = rustix::fs::unlinkat(area.fd(), name.as_str(), flags);
    }
    r
}

/// A new `fstype` filesystem on a fresh spot: the fd of the mount.
pub fn mount_fs(
    fstype: &str,
    source: Option<&str>,
    options: &[(&str, Option<&str>)],
    mut flags: MountFlags,
) -> Result<OwnedFd> {
    // mount(2)'s data is one comma-separated string; `ro` is a flag there.
    let mut data = Vec::new();
    for &(k, v) in options {
        match (k, v) {
            ("ro", None) => flags |= MountFlags::RDONLY,
            ("rw", None) => {}
            (k, Some(v)) if v.contains(',') => {
                bail!("mount option {k}={v}: a comma cannot be passed to mount(2)")
            }
            (k, Some(v)) => data.push(format!("{k}={v}")),
            (k, None) => data.push(k.to_string()),
        }
    }
    let data = std::ffi::CString::new(data.join(",")).context("mount data contains a NUL byte")?;
    staged(true, |at| {
        mount(
            source.unwrap_or(fstype),
            at.as_str(),
            fstype,
            flags,
            Some(data.as_c_str()),
        )
        .map_err(io)
        .with_context(|| format!("mount {fstype} (staged)"))
    })
}

/// A bind of `source` on a fresh spot: the fd of the new mount.
pub fn bind(source: BindSource<'_>, recursive: bool) -> Result<OwnedFd> {
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
    staged(is_dir, |at| {
        if recursive {
            mount_bind_recursive(src.as_str(), at.as_str())
        } else {
            mount_bind(src.as_str(), at.as_str())
        }
        .map_err(io)
        .context("mount MS_BIND (staged)")
    })
}

/// Attach a staged mount onto `target`.
pub fn attach(tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<()> {
    mount_move(fd_path(tree), fd_path(target))
        .map_err(io)
        .context("mount MS_MOVE")
}
