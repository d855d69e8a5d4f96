//! Mounting a rootfs of any supported type as a detached mount (new mount
//! API, or its fallback in crate::mount): nothing is visible anywhere until
//! the caller attaches the tree,
//! and a detached tree can be read and written through its fd alone
//! (copies, snapshots) without any mount point.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rustix::mount::MountFlags;

use super::{loopfile, overlay, Rootfs};
use crate::mount::fstab;

/// Where LXC mounts a rootfs that is not a plain directory when
/// lxc.rootfs.mount is not set (Debian's LXCROOTFSMOUNT).
const LXC_ROOTFS_MOUNT: &str = "/usr/lib/x86_64-linux-gnu/lxc/rootfs";

fn io(e: rustix::io::Errno) -> anyhow::Error {
    anyhow::Error::new(std::io::Error::from(e))
}

/// lxc.rootfs.options' data part (`key=value` or `key`, comma-separated)
/// as filesystem options.
fn data_options(data: &str) -> Vec<(&str, Option<&str>)> {
    data.split(',')
        .filter(|o| !o.is_empty())
        .map(|o| match o.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (o, None),
        })
        .collect()
}

/// A rootfs mounted as a detached tree.
pub struct Tree {
    pub fd: OwnedFd,
    /// Whether `fd` is a bind of an existing directory (then lxc.rootfs.options
    /// flags still have to be applied by a bind remount once attached).
    pub is_bind: bool,
}

/// Mount `rootfs` as a detached tree, with lxc.rootfs.options `options`.
pub fn detached(rootfs: &Rootfs, options: &str) -> Result<Tree> {
    rootfs.check_supported()?;
    let opts = fstab::parse_options(options).context("lxc.rootfs.options")?;
    match rootfs {
        Rootfs::Dir(p) | Rootfs::Btrfs(p) => {
            let src = p.to_str().context("rootfs path is not UTF-8")?;
            let fd = crate::mount::clone_tree_of(src)?;
            Ok(Tree { fd, is_bind: true })
        }
        Rootfs::Overlay { lower, upper } => {
            let work = overlay::work_dir(upper);
            for d in [upper.as_path(), work.as_path()] {
                std::os::unix::fs::DirBuilderExt::mode(
                    std::fs::DirBuilder::new().recursive(true),
                    0o755,
                )
                .create(d)
                .with_context(|| format!("creating overlay directory {}", d.display()))?;
            }
            let step = || {
                format!(
                    "mounting overlay lowerdir={lower},upperdir={}",
                    upper.display()
                )
            };
            let up = upper.to_str().context("overlay upper dir is not UTF-8")?;
            let wk = work.to_str().context("overlay work dir is not UTF-8")?;
            let mut o = vec![
                ("lowerdir", Some(lower.as_str())),
                ("upperdir", Some(up)),
                ("workdir", Some(wk)),
            ];
            o.extend(data_options(&opts.data));
            let fd =
                crate::mount::new_fs_tree("overlay", None, &o, opts.flags).with_context(step)?;
            Ok(Tree { fd, is_bind: false })
        }
        Rootfs::Loop(image) => {
            let ro = opts.flags.contains(MountFlags::RDONLY);
            let fstype = loopfile::detect_fstype(image)?;
            let dev = loopfile::attach(image, ro)?;
            let step = || {
                format!(
                    "mounting loop image {} ({fstype} on {})",
                    image.display(),
                    dev.path.display()
                )
            };
            let src = dev.path.to_str().context("loop device path")?;
            let mut o = Vec::new();
            if ro {
                o.push(("ro", None));
            }
            o.extend(data_options(&opts.data));
            let fd =
                crate::mount::new_fs_tree(fstype, Some(src), &o, opts.flags).with_context(step)?;
            // The mount holds the device now; autoclear detaches it when
            // the mount goes away.
            drop(dev);
            Ok(Tree { fd, is_bind: false })
        }
        Rootfs::Other { kind, .. } => bail!("backing store \"{}\" is not supported", kind.name()),
    }
}

/// Where a rootfs that must be mounted goes before pivot_root when
/// lxc.rootfs.mount is not set: LXCPATH/NAME/rootfs (lxc-create and
/// lxc-copy always make it), else LXC's own default mount point.
pub fn default_mount_point(container_dir: &Path) -> Result<PathBuf> {
    let own = container_dir.join("rootfs");
    if own.is_dir() {
        return Ok(own);
    }
    if Path::new(LXC_ROOTFS_MOUNT).is_dir() {
        return Ok(PathBuf::from(LXC_ROOTFS_MOUNT));
    }
    bail!(
        "no directory to mount the rootfs on: create {} or set lxc.rootfs.mount",
        own.display()
    )
}

/// Make this process's mount namespace private (once) so that mounts it
/// makes for a template or hook vanish when it exits and never reach the
/// host.
pub fn private_namespace() -> Result<()> {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Ok(());
    }
    crate::sys::mount::unshare_mount_ns().context("unsharing the mount namespace")?;
    rustix::mount::mount_change(
        "/",
        rustix::mount::MountPropagationFlags::DOWNSTREAM
            | rustix::mount::MountPropagationFlags::REC,
    )
    .map_err(io)
    .context("making / recursively slave")
}

/// A rootfs mounted in this process's private namespace; unmounted when
/// dropped.
pub struct PrivateMount {
    target: PathBuf,
}

impl Drop for PrivateMount {
    fn drop(&mut self) {
        if let Err(e) = rustix::mount::unmount(&self.target, rustix::mount::UnmountFlags::DETACH) {
            log::warn!("unmounting {}: {e}", self.target.display());
        }
    }
}

/// Mount `rootfs` on `target` in this process's private mount namespace
/// (see [`private_namespace`]); for templates and clone hooks, which need
/// a path.
pub fn mount_private(rootfs: &Rootfs, target: &Path) -> Result<PrivateMount> {
    private_namespace()?;
    let tree = detached(rootfs, "")?;
    let t = rustix::fs::open(
        target,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .with_context(|| format!("opening {}", target.display()))?;
    crate::mount::attach_tree(tree.fd.as_fd(), t.as_fd())
        .with_context(|| format!("mounting the rootfs on {}", target.display()))?;
    Ok(PrivateMount {
        target: target.to_path_buf(),
    })
}

/// Where a rootfs can be seen as a directory for a template or a hook:
/// dir and btrfs as they are, overlay through its bottom layer when
/// `write_lower` (a template fills the lower dir, as with LXC), anything
/// else mounted on `mount_point` in the private namespace.
pub fn as_directory(
    rootfs: &Rootfs,
    mount_point: &Path,
    write_lower: bool,
) -> Result<(PathBuf, Option<PrivateMount>)> {
    match rootfs {
        Rootfs::Dir(p) | Rootfs::Btrfs(p) => Ok((p.clone(), None)),
        Rootfs::Overlay { lower, .. } if write_lower => {
            Ok((PathBuf::from(overlay::bottom_lower(lower)), None))
        }
        other => {
            let m = mount_private(other, mount_point)?;
            Ok((mount_point.to_path_buf(), Some(m)))
        }
    }
}
