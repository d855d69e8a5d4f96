//! Copying or snapshotting a container's rootfs for lxc-copy, lxc-snapshot
//! and friends: LXC's storage_copy rules (which type the copy gets, when it
//! is a snapshot, when the clone depends on its origin), with the data
//! copied by [`super::copy`] or shared by overlay or btrfs snapshots.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context, Result};

use super::make::mkdir_p;
use super::{btrfs, copy, loopfile, mount, overlay, Kind, Rootfs};

/// What the clone is asked for.
pub struct CloneSpec<'a> {
    pub orig: &'a Rootfs,
    pub old_lxcpath: &'a Path,
    pub new_lxcpath: &'a Path,
    pub new_name: &'a str,
    /// `-B TYPE`.
    pub kind: Option<Kind>,
    /// `-s`.
    pub snapshot: bool,
    /// Fall back to a copy when the origin's type cannot snapshot and no
    /// type was asked for (lxc-snapshot of a dir container).
    pub maybe_snapshot: bool,
    /// Keep the origin's type (no dir → overlay for a snapshot).
    pub keep_kind: bool,
    /// `-L`: size of a new loop image.
    pub new_size: Option<u64>,
    pub cancel: Option<&'a AtomicBool>,
}

/// The clone's storage.
#[derive(Debug)]
pub struct Cloned {
    pub rootfs: Rootfs,
    /// The clone needs its origin's rootfs (overlay on top of it): LXC
    /// records that in lxc_snapshots / lxc_rdepends.
    pub needs_rdep: bool,
    pub snapshot: bool,
}

fn is_snaps_dir(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n == "snaps")
}

/// Make the clone's storage in NEW_LXCPATH/NEW_NAME (which exists).
pub fn clone(spec: &CloneSpec) -> Result<Cloned> {
    let orig = spec.orig;
    orig.check_supported()?;
    let new_dir = spec.new_lxcpath.join(spec.new_name);
    let mut snap = spec.snapshot;
    if spec.maybe_snapshot && spec.keep_kind && spec.kind.is_none() && !orig.kind().can_snapshot() {
        snap = false;
    }
    let mut kind = spec.kind;
    if kind.is_none() && !spec.keep_kind && snap && orig.kind() == Kind::Dir {
        kind = Some(Kind::Overlay);
    }
    let kind = match kind {
        Some(k) => k,
        None if !snap && spec.old_lxcpath != spec.new_lxcpath => Kind::Dir,
        None => orig.kind(),
    };
    kind.check_supported()?;
    let mut needs_rdep = kind == Kind::Overlay;
    let dest = new_dir.join("rootfs");
    mkdir_p(&dest)?;
    let rootfs = match kind {
        Kind::Dir => {
            if snap {
                bail!("Directories cannot be snapshotted");
            }
            copy_into(orig, &dest, spec.cancel)?;
            Rootfs::Dir(dest)
        }
        Kind::Overlay => {
            if !snap {
                bail!("The overlay storage driver can only be used for snapshots");
            }
            let delta = overlay::delta_of(&new_dir);
            let work = overlay::work_dir(&delta);
            match orig {
                Rootfs::Dir(p) => {
                    mkdir_p(&delta)?;
                    mkdir_p(&work)?;
                    Rootfs::Overlay {
                        lower: p.to_str().context("rootfs path is not UTF-8")?.to_string(),
                        upper: delta,
                    }
                }
                Rootfs::Overlay { lower, upper } => {
                    mkdir_p(&delta)?;
                    mkdir_p(&work)?;
                    copy::copy_dir(upper, &delta, spec.cancel)
                        .context("copying the overlay upper directory")?;
                    // A snapshot into (or restored out of) the origin's own
                    // snaps/ directory does not depend on it.
                    if is_snaps_dir(spec.new_lxcpath) || is_snaps_dir(spec.old_lxcpath) {
                        needs_rdep = false;
                    }
                    Rootfs::Overlay {
                        lower: lower.clone(),
                        upper: delta,
                    }
                }
                o => bail!(
                    "overlay clone of {} container is not yet supported",
                    o.kind().name()
                ),
            }
        }
        Kind::Btrfs => {
            if !btrfs::is_btrfs(&new_dir) {
                bail!("{} is not on a btrfs filesystem", new_dir.display());
            }
            std::fs::remove_dir(&dest).with_context(|| format!("removing {}", dest.display()))?;
            match orig {
                Rootfs::Btrfs(p)
                    if btrfs::is_subvol(p) && (snap || btrfs::same_fs(p, &new_dir)) =>
                {
                    // Same filesystem: a snapshot is an independent copy in O(1).
                    btrfs::snapshot(p, &dest)?;
                }
                o if snap => bail!(
                    "btrfs snapshot from {} backing store is not supported",
                    o.kind().name()
                ),
                o => {
                    btrfs::create(&dest)?;
                    copy_into(o, &dest, spec.cancel)?;
                }
            }
            Rootfs::Btrfs(dest)
        }
        Kind::Loop => {
            if snap {
                bail!("The loop storage driver does not support snapshots");
            }
            let image = new_dir.join("rootdev");
            let (size, fstype) = match orig {
                Rootfs::Loop(img) => (
                    loopfile::size_of(img)?.saturating_sub(1),
                    loopfile::detect_fstype(img)?,
                ),
                _ => (loopfile::DEFAULT_SIZE, loopfile::DEFAULT_FSTYPE),
            };
            loopfile::create_image(&image, spec.new_size.unwrap_or(size), fstype)?;
            let new = Rootfs::Loop(image);
            let tree = mount::detached(&new, "")?;
            copy_from(orig, tree.fd.as_fd(), &dest, spec.cancel)?;
            new
        }
        k => bail!("backing store \"{}\" is not supported", k.name()),
    };
    Ok(Cloned {
        rootfs,
        needs_rdep,
        snapshot: snap,
    })
}

/// Copy the contents of `orig` into the directory `dest`.
fn copy_into(orig: &Rootfs, dest: &Path, cancel: Option<&AtomicBool>) -> Result<()> {
    let d = copy::open_dir_fd(dest)?;
    copy_from(orig, d.as_fd(), dest, cancel)
}

fn copy_from(
    orig: &Rootfs,
    dest: std::os::fd::BorrowedFd<'_>,
    dest_name: &Path,
    cancel: Option<&AtomicBool>,
) -> Result<()> {
    let (src, name): (std::os::fd::OwnedFd, PathBuf) = match orig.plain_dir() {
        Some(p) => (copy::open_dir_fd(p)?, p.to_path_buf()),
        None => (
            mount::detached(orig, "")?.fd,
            PathBuf::from(orig.config_value()),
        ),
    };
    copy::copy_tree(src.as_fd(), dest, &name, dest_name, cancel)
        .map(|_| ())
        .context("copying the rootfs")
}
