//! Mount primitives that act on resolved fds, never on paths re-walked later.
//!
//! Filesystem mounts use mount(2) on the `/proc/self/fd/N` magic link of the
//! target's O_PATH fd (the kernel follows the link to exactly the file we
//! resolved). Binds use the new mount API: open_tree(OPEN_TREE_CLONE) gives
//! a detached copy of the source, move_mount attaches it onto the target
//! fd; the tree fd then names the new mount itself, which is what a
//! read-only remount must act on (remounting through the target fd would
//! hit the mount underneath). Without the new mount API (before 5.2) the
//! detached tree is a mount staged in a private tmpfs and attaching it is
//! mount(MS_MOVE): see [`super::stage`].

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use anyhow::{Context, Result};
use rustix::fs::{fstatvfs, StatVfsMountFlags, CWD};
use rustix::mount::{
    mount, mount_change, mount_remount, move_mount, open_tree, MountFlags, MountPropagationFlags,
    MoveMountFlags, OpenTreeFlags,
};

use crate::sys::kernel::{self, Feature};

use super::resolve::fd_path;

fn io(e: rustix::io::Errno) -> anyhow::Error {
    anyhow::Error::new(std::io::Error::from(e))
}

/// mount(2) a filesystem onto a resolved target.
pub fn mount_fs(
    target: BorrowedFd<'_>,
    source: &str,
    fstype: &str,
    flags: MountFlags,
    data: &str,
) -> Result<()> {
    let data = CString::new(data).context("mount data contains a NUL byte")?;
    let data = if data.is_empty() {
        None
    } else {
        Some(data.as_c_str())
    };
    mount(source, fd_path(target), fstype, flags, data).map_err(io)
}

/// A new filesystem as a detached mount: fsopen/fsconfig/fsmount, or on
/// kernels without them mount(2) on a staging spot ([`super::stage`]).
/// `options` are the filesystem's (`key=value` or `key`); `flags` the
/// per-mount ones (ro, nosuid, ...).
pub fn new_fs(
    fstype: &str,
    source: Option<&str>,
    options: &[(&str, Option<&str>)],
    flags: MountFlags,
) -> Result<OwnedFd> {
    use rustix::mount::{
        fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, FsMountFlags,
        FsOpenFlags,
    };
    if !kernel::has(Feature::MountApi) {
        return super::stage::mount_fs(fstype, source, options, flags);
    }
    let fs = fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(io)
        .with_context(|| format!("fsopen {fstype}"))?;
    if let Some(src) = source {
        fsconfig_set_string(fs.as_fd(), "source", src)
            .map_err(io)
            .with_context(|| format!("source {src}"))?;
    }
    for &(k, v) in options {
        match v {
            Some(v) => fsconfig_set_string(fs.as_fd(), k, v),
            None => fsconfig_set_flag(fs.as_fd(), k),
        }
        .map_err(io)
        .with_context(|| {
            format!(
                "mount option {k}{}",
                v.map(|v| format!("={v}")).unwrap_or_default()
            )
        })?;
    }
    fsconfig_create(fs.as_fd())
        .map_err(io)
        .context("creating the filesystem")?;
    fsmount(
        fs.as_fd(),
        FsMountFlags::FSMOUNT_CLOEXEC,
        mount_attrs(flags),
    )
    .map_err(io)
    .context("fsmount")
}

/// MS_* per-mount flags as the mount attributes of a new mount.
fn mount_attrs(flags: MountFlags) -> rustix::mount::MountAttrFlags {
    use rustix::mount::MountAttrFlags as A;
    let mut a = A::empty();
    for (m, at) in [
        (MountFlags::RDONLY, A::MOUNT_ATTR_RDONLY),
        (MountFlags::NOSUID, A::MOUNT_ATTR_NOSUID),
        (MountFlags::NODEV, A::MOUNT_ATTR_NODEV),
        (MountFlags::NOEXEC, A::MOUNT_ATTR_NOEXEC),
        (MountFlags::NOATIME, A::MOUNT_ATTR_NOATIME),
        (MountFlags::NODIRATIME, A::MOUNT_ATTR_NODIRATIME),
        (MountFlags::STRICTATIME, A::MOUNT_ATTR_STRICTATIME),
        (MountFlags::NOSYMFOLLOW, A::MOUNT_ATTR_NOSYMFOLLOW),
    ] {
        if flags.contains(m) {
            a |= at;
        }
    }
    a
}

/// Where a bind's source comes from.
pub enum BindSource<'a> {
    /// A trusted host path (from the config).
    Host(&'a str),
    /// An fd resolved inside the rootfs.
    Fd(BorrowedFd<'a>),
}

/// A detached copy of the mount tree at `source` (not yet visible anywhere).
pub fn clone_tree(source: BindSource<'_>, recursive: bool) -> Result<OwnedFd> {
    if !kernel::has(Feature::MountApi) {
        return super::stage::bind(source, recursive);
    }
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    match source {
        BindSource::Host(p) => open_tree(CWD, p, flags),
        BindSource::Fd(fd) => open_tree(fd, "", flags | OpenTreeFlags::AT_EMPTY_PATH),
    }
    .map_err(io)
    .context("open_tree")
}

/// Attach a detached tree onto a resolved target.
pub fn attach(tree: BorrowedFd<'_>, target: BorrowedFd<'_>) -> Result<()> {
    if !kernel::has(Feature::MountApi) {
        return super::stage::attach(tree, target);
    }
    move_mount(
        tree,
        "",
        target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
    .map_err(io)
    .context("move_mount")
}

/// Bind `source` onto `target`; returns the fd of the new mount.
pub fn bind(source: BindSource<'_>, target: BorrowedFd<'_>, recursive: bool) -> Result<OwnedFd> {
    let tree = clone_tree(source, recursive)?;
    attach(tree.as_fd(), target)?;
    Ok(tree)
}

/// Remount an attached bind mount with `flags` (ro, nosuid, ...).
///
/// Kernel quirk: a bind remount replaces all per-mount flags, and flags
/// inherited from a more privileged namespace are locked (EPERM if
/// dropped), so the mount's current nosuid/nodev/noexec/atime flags are
/// kept unless the caller sets them itself.
pub fn remount_bind(mnt: BorrowedFd<'_>, flags: MountFlags) -> Result<()> {
    let cur = fstatvfs(mnt).map_err(io).context("fstatvfs")?.f_flag;
    let mut keep = MountFlags::empty();
    for (st, ms) in [
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
        (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
        (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
        (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
    ] {
        if cur.contains(st) {
            keep |= ms;
        }
    }
    mount_remount(fd_path(mnt), MountFlags::BIND | keep | flags, "")
        .map_err(io)
        .context("remounting bind")
}

/// Change the propagation type of the mount `mnt` names.
pub fn set_propagation(mnt: BorrowedFd<'_>, prop: MountPropagationFlags) -> Result<()> {
    mount_change(fd_path(mnt), prop)
        .map_err(io)
        .context("changing mount propagation")
}

/// Flags that are meaningful on a bind remount (the rest of an option list
/// either does not apply to binds or is data).
pub fn bind_remount_flags(flags: MountFlags) -> MountFlags {
    flags
        & (MountFlags::RDONLY
            | MountFlags::NOSUID
            | MountFlags::NODEV
            | MountFlags::NOEXEC
            | MountFlags::NOATIME
            | MountFlags::NODIRATIME
            | MountFlags::RELATIME
            | MountFlags::STRICTATIME
            | MountFlags::NOSYMFOLLOW)
}
