//! Removing a tree that may hold an untrusted rootfs.
//!
//! Symlinks are unlinked, never entered. Another filesystem mounted inside
//! the tree (a leftover bind mount) stops the removal with an error instead
//! of taking host data with it. btrfs subvolumes inside the tree are
//! deleted as subvolumes; immutable or append-only files get those flags
//! cleared first, as LXC does.

use std::ffi::{CStr, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rustix::fs::{AtFlags, FileType, IFlags, Mode, OFlags, StatxAttributes, StatxFlags};
use rustix::io::Errno;

use super::btrfs;

/// Remove `path` and everything under it. A missing `path` is not an error.
/// An ordinary user's container holds files of the ids mapped into it,
/// which only root of a user namespace with those ids may remove: denied
/// as the caller, the removal runs again in one
/// ([`crate::userns::exec::as_all_my_ids`]).
pub fn remove_tree(path: &Path) -> Result<()> {
    crate::userns::exec::as_all_my_ids(&format!("removing {}", path.display()), || {
        remove_tree_here(path)
    })
}

fn remove_tree_here(path: &Path) -> Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    if btrfs::is_subvol(path) {
        return btrfs::destroy(path);
    }
    let parent = path.parent().unwrap_or(Path::new("/"));
    let Some(last) = path.file_name() else {
        bail!("refusing to remove {}", path.display());
    };
    let pfd = rustix::fs::open(
        parent,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", parent.display()))?;
    remove_at(pfd.as_fd(), Path::new(last), path, None)
}

/// Remove everything inside directory `path` except the entries named in
/// `keep` (the directory itself stays).
pub fn remove_contents_except(path: &Path, keep: &[&str]) -> Result<()> {
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", path.display()))?;
    let st = rustix::fs::fstat(&fd).with_context(|| format!("inspecting {}", path.display()))?;
    for c in children(fd.as_fd(), path)? {
        let p = Path::new(OsStr::from_bytes(c.to_bytes()));
        if keep.iter().any(|k| p == Path::new(k)) {
            continue;
        }
        remove_at(fd.as_fd(), p, &path.join(p), Some(st.st_dev))?;
    }
    Ok(())
}

fn children(fd: BorrowedFd<'_>, full: &Path) -> Result<Vec<std::ffi::CString>> {
    let mut out = Vec::new();
    let rd =
        rustix::fs::Dir::read_from(fd).with_context(|| format!("reading {}", full.display()))?;
    for e in rd {
        let e = e.with_context(|| format!("reading {}", full.display()))?;
        let n: &CStr = e.file_name();
        if n != c"." && n != c".." {
            out.push(n.to_owned());
        }
    }
    Ok(out)
}

fn fd_child(dirfd: BorrowedFd<'_>, name: &Path) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", dirfd.as_raw_fd())).join(name)
}

fn remove_at(dirfd: BorrowedFd<'_>, name: &Path, full: &Path, dev: Option<u64>) -> Result<()> {
    let st = rustix::fs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)
        .with_context(|| format!("inspecting {}", full.display()))?;
    let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
    if !is_dir {
        return unlink(dirfd, name, full);
    }
    if dev.is_some_and(|d| d != st.st_dev) {
        let stx = rustix::fs::statx(
            dirfd,
            name,
            AtFlags::SYMLINK_NOFOLLOW,
            StatxFlags::BASIC_STATS,
        )
        .with_context(|| format!("inspecting {}", full.display()))?;
        let mount_root = stx
            .stx_attributes_mask
            .contains(StatxAttributes::MOUNT_ROOT)
            && stx.stx_attributes.contains(StatxAttributes::MOUNT_ROOT);
        let p = fd_child(dirfd, name);
        if !mount_root && btrfs::is_subvol(&p) {
            return btrfs::destroy(&p).with_context(|| format!("removing {}", full.display()));
        }
        bail!(
            "refusing to remove {}: another filesystem is mounted there",
            full.display()
        );
    }
    let fd = rustix::fs::openat(
        dirfd,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", full.display()))?;
    for c in children(fd.as_fd(), full)? {
        let p = Path::new(OsStr::from_bytes(c.to_bytes()));
        remove_at(fd.as_fd(), p, &full.join(p), Some(st.st_dev))?;
    }
    rustix::fs::unlinkat(dirfd, name, AtFlags::REMOVEDIR)
        .with_context(|| format!("removing {}", full.display()))
}

fn unlink(dirfd: BorrowedFd<'_>, name: &Path, full: &Path) -> Result<()> {
    match rustix::fs::unlinkat(dirfd, name, AtFlags::empty()) {
        Err(Errno::PERM) if clear_immutable(dirfd, name) => {
            rustix::fs::unlinkat(dirfd, name, AtFlags::empty())
        }
        r => r,
    }
    .with_context(|| format!("removing {}", full.display()))
}

/// Clear the immutable and append-only flags of a regular file; true when
/// something was cleared.
fn clear_immutable(dirfd: BorrowedFd<'_>, name: &Path) -> bool {
    let Ok(f) = rustix::fs::openat(
        dirfd,
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let Ok(flags) = rustix::fs::ioctl_getflags(&f) else {
        return false;
    };
    let sticky = IFlags::IMMUTABLE | IFlags::APPEND;
    if !flags.intersects(sticky) {
        return false;
    }
    rustix::fs::ioctl_setflags(&f, flags - sticky).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn does_not_follow_symlinks() {
        let base = std::env::temp_dir().join(format!("lxcbox-rmtree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let victim = base.join("victim");
        let tree = base.join("tree");
        std::fs::create_dir_all(&victim).unwrap();
        std::fs::write(victim.join("keep"), "x").unwrap();
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/f"), "x").unwrap();
        std::os::unix::fs::symlink(&victim, tree.join("a/link")).unwrap();
        let r = remove_tree(&tree);
        let kept = victim.join("keep").exists();
        let gone = !tree.exists();
        let _ = std::fs::remove_dir_all(&base);
        r.unwrap();
        assert!(kept, "the symlink target survived");
        assert!(gone);
    }

    #[test]
    fn keeps_named_entries() {
        let base = std::env::temp_dir().join(format!("lxcbox-rmkeep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("rootfs/x")).unwrap();
        std::fs::create_dir_all(base.join("other/y")).unwrap();
        std::fs::write(base.join("config"), "c").unwrap();
        let r = remove_contents_except(&base, &["rootfs"]);
        let names: Vec<_> = std::fs::read_dir(&base)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let _ = std::fs::remove_dir_all(&base);
        r.unwrap();
        assert_eq!(names, vec![std::ffi::OsString::from("rootfs")]);
    }
}
