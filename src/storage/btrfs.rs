//! btrfs subvolumes: detect, create, snapshot, destroy (nested ones too),
//! through the ioctls in [`crate::sys::btrfs`].

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use rustix::fs::{Mode, OFlags};

use crate::sys::btrfs as sys;

/// BTRFS_SUPER_MAGIC
const MAGIC: i64 = 0x9123_683e;
/// The inode number of every subvolume's root directory.
const FIRST_FREE_OBJECTID: u64 = 256;

fn open_dir(p: &Path) -> Result<OwnedFd> {
    rustix::fs::open(
        p,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", p.display()))
}

/// True when `p` lies on a btrfs filesystem.
// f_type is i32 on 32-bit ABIs (i686, armv7): compare as i64 there too.
#[allow(clippy::unnecessary_cast)]
pub fn is_btrfs(p: &Path) -> bool {
    rustix::fs::statfs(p).is_ok_and(|s| s.f_type as i64 == MAGIC)
}

/// True when `p` is the root of a btrfs subvolume.
pub fn is_subvol(p: &Path) -> bool {
    let Ok(st) = rustix::fs::lstat(p) else {
        return false;
    };
    st.st_ino == FIRST_FREE_OBJECTID
        && rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory
        && is_btrfs(p)
}

fn parent_and_name(p: &Path) -> Result<(&Path, &OsStr)> {
    match (p.parent(), p.file_name()) {
        (Some(d), Some(n)) => Ok((d, n)),
        _ => bail!("{}: not a subvolume path", p.display()),
    }
}

/// Create subvolume `p` (its parent must exist and be on btrfs).
pub fn create(p: &Path) -> Result<()> {
    let (dir, name) = parent_and_name(p)?;
    let d = open_dir(dir)?;
    sys::subvol_create(d.as_fd(), name.as_bytes())
        .with_context(|| format!("creating btrfs subvolume {}", p.display()))
}

/// Snapshot subvolume `src` as `dst` (a writable snapshot; O(1)).
pub fn snapshot(src: &Path, dst: &Path) -> Result<()> {
    let (dir, name) = parent_and_name(dst)?;
    let s = open_dir(src)?;
    let d = open_dir(dir)?;
    sys::snapshot(s.as_fd(), d.as_fd(), name.as_bytes()).with_context(|| {
        format!(
            "creating btrfs snapshot {} of {}",
            dst.display(),
            src.display()
        )
    })
}

/// True when `a` and `b` are on the same btrfs filesystem.
pub fn same_fs(a: &Path, b: &Path) -> bool {
    let id = |p: &Path| open_dir(p).ok().and_then(|f| sys::fsid(f.as_fd()).ok());
    matches!((id(a), id(b)), (Some(x), Some(y)) if x == y)
}

/// Delete subvolume `p`. Subvolumes nested inside it are deleted first
/// (the kernel refuses a subvolume that still holds others, ENOTEMPTY).
pub fn destroy(p: &Path) -> Result<()> {
    let (dir, name) = parent_and_name(p)?;
    let d = open_dir(dir)?;
    match sys::subvol_destroy(d.as_fd(), name.as_bytes()) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {
            for nested in nested_subvols(p)? {
                destroy(&nested)?;
            }
            sys::subvol_destroy(d.as_fd(), name.as_bytes())
                .with_context(|| format!("deleting btrfs subvolume {}", p.display()))
        }
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Err(e).with_context(|| {
            format!(
                "deleting btrfs subvolume {} (is the filesystem mounted with user_subvol_rm_allowed?)",
                p.display()
            )
        }),
        Err(e) => Err(e).with_context(|| format!("deleting btrfs subvolume {}", p.display())),
    }
}

/// The subvolume roots directly nested in subvolume `p` (found by walking
/// its directories, not entering other filesystems or subvolumes).
fn nested_subvols(p: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let dev = rustix::fs::lstat(p)
        .with_context(|| format!("inspecting {}", p.display()))?
        .st_dev;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
        for e in rd {
            let e = e.with_context(|| format!("reading {}", d.display()))?;
            let ft = e.file_type()?;
            if !ft.is_dir() {
                continue;
            }
            let child = e.path();
            let st = rustix::fs::lstat(&child)
                .with_context(|| format!("inspecting {}", child.display()))?;
            if st.st_dev == dev {
                stack.push(child);
            } else if st.st_ino == FIRST_FREE_OBJECTID {
                out.push(child);
            }
        }
    }
    Ok(out)
}
