//! LXC 5's idmapped rootfs: `lxc.rootfs.options = idmap=container` (or
//! `idmap=/proc/PID/ns/user`, another namespace's mapping) mounts an
//! unshifted rootfs through an idmapped mount (mount_setattr(2) with
//! MOUNT_ATTR_IDMAP, Linux 5.12), so files owned by host uid 0 on disk are
//! root's inside and one rootfs can serve containers with different maps.
//!
//! The kernel rule (mount_setattr(2)): the caller must be privileged over
//! the user namespace of the filesystem — the host's for an ordinary disk —
//! and the tree must be a detached one (open_tree(OPEN_TREE_CLONE)) that is
//! not attached yet. So the monitor, root on the host, makes the tree once
//! the container's user namespace has its maps, and hands its fd to the
//! child with the go; the child attaches it where it would have bound the
//! rootfs.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use rustix::mount::{open_tree, OpenTreeFlags};

use crate::sys::kernel::{self, Feature};

/// Whose mapping the rootfs mount takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The container's own user namespace.
    Container,
    /// A user namespace file (`/proc/PID/ns/user`).
    Path(String),
}

/// The `idmap=` option of lxc.rootfs.options, if any.
pub fn requested(options: Option<&str>) -> Result<Option<Target>> {
    let mut found = None;
    for o in options.unwrap_or("").split(',') {
        if let Some(v) = o.trim().strip_prefix("idmap=") {
            found = Some(match v {
                "container" => Target::Container,
                p if p.starts_with('/') => Target::Path(p.to_string()),
                _ => bail!(
                    "lxc.rootfs.options: idmap={v}: expected idmap=container or the path of a \
                     user namespace file"
                ),
            });
        }
    }
    Ok(found)
}

/// lxc.rootfs.options without `idmap=` (the mount layer's own options).
pub fn strip(options: Option<&str>) -> Option<String> {
    let rest: Vec<&str> = options?
        .split(',')
        .filter(|o| !o.trim().starts_with("idmap="))
        .collect();
    Some(rest.join(","))
}

/// Monitor side: a detached, idmapped copy of the rootfs directory
/// `rootfs` with the mapping of `target` (init `pid`'s namespace for
/// [`Target::Container`]).
pub fn make_tree(rootfs: &Path, target: &Target, pid: i32) -> Result<OwnedFd> {
    let step = || {
        format!(
            "lxc.rootfs.options = idmap: an idmapped mount of {}",
            rootfs.display()
        )
    };
    if !kernel::has(Feature::MountApi) {
        bail!(
            "{}: needs mount_setattr (Linux 5.12), which this kernel lacks",
            step()
        );
    }
    let ns_path = match target {
        Target::Container => format!("/proc/{pid}/ns/user"),
        Target::Path(p) => p.clone(),
    };
    let userns = rustix::fs::open(
        ns_path.as_str(),
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .with_context(|| format!("{}: opening {ns_path}", step()))?;
    let tree = open_tree(
        rustix::fs::CWD,
        rootfs,
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_RECURSIVE,
    )
    .map_err(std::io::Error::from)
    .with_context(|| format!("{}: open_tree", step()))?;
    let r = crate::sys::mount::set_idmap_recursive(tree.as_fd(), userns.as_fd());
    if r.as_ref().err().and_then(|e| e.raw_os_error()) == Some(libc::ENOSYS) {
        bail!(
            "{}: needs mount_setattr (Linux 5.12), which this kernel lacks",
            step()
        );
    }
    r.with_context(|| {
        format!(
            "{}: mount_setattr (the filesystem must support idmapped mounts, and only root on \
             the host may make them)",
            step()
        )
    })?;
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_strips() {
        assert_eq!(requested(None).unwrap(), None);
        assert_eq!(
            requested(Some("ro,idmap=container")).unwrap(),
            Some(Target::Container)
        );
        assert_eq!(
            requested(Some("idmap=/proc/7/ns/user")).unwrap(),
            Some(Target::Path("/proc/7/ns/user".into()))
        );
        assert!(requested(Some("idmap=other")).is_err());
        assert_eq!(strip(Some("ro,idmap=container")).as_deref(), Some("ro"));
        assert_eq!(strip(None), None);
    }
}
