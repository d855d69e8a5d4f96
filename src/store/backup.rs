//! lxc-backup / lxc-restore, the classic tools: a backup is a full copy
//! of a container's rootfs as the directory LXCPATH/NAME/rootfs.backup.N
//! (the older scripts' `rootfs.backupN` is read too); restoring copies one
//! back over the rootfs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::container::{validate_name, Container};
use crate::storage::{self, copy, make::mkdir_p, Rootfs};

const PREFIX: &str = "rootfs.backup";

/// The backup numbers present for a container, ascending.
pub fn backups(dir: &Path) -> Vec<u64> {
    let mut v: Vec<u64> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let num = n.strip_prefix(PREFIX)?;
                    num.strip_prefix('.').unwrap_or(num).parse().ok()
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v.dedup();
    v
}

fn backup_dir(dir: &Path, n: u64) -> PathBuf {
    let new = dir.join(format!("{PREFIX}.{n}"));
    let old = dir.join(format!("{PREFIX}{n}"));
    if !new.exists() && old.is_dir() {
        old
    } else {
        new
    }
}

fn stopped(lxcpath: &str, name: &str) -> Result<Container> {
    validate_name(name)?;
    if !Container::is_defined(lxcpath, name) {
        bail!("{name} does not exist");
    }
    if super::is_running(lxcpath, name)? {
        bail!("{name} is running: stop it first");
    }
    Container::load(lxcpath, name, None)
}

/// Back the rootfs up as rootfs.backup.N (`num`, else one more than the
/// highest). Returns the backup's path.
pub fn backup(lxcpath: &str, name: &str, num: Option<u64>) -> Result<PathBuf> {
    let c = stopped(lxcpath, name)?;
    let rootfs = Rootfs::of(&c.config, &c.dir)?.with_context(|| format!("{name} has no rootfs"))?;
    let n = num.unwrap_or_else(|| backups(&c.dir).last().map_or(0, |m| m + 1));
    let dst = c.dir.join(format!("{PREFIX}.{n}"));
    if std::fs::symlink_metadata(&dst).is_ok() || c.dir.join(format!("{PREFIX}{n}")).exists() {
        bail!("backup {n} of {name} already exists");
    }
    std::fs::create_dir(&dst).with_context(|| format!("creating {}", dst.display()))?;
    let r = copy_rootfs(&rootfs, &dst);
    if let Err(e) = r {
        let _ = storage::remove::remove_tree(&dst);
        return Err(e).with_context(|| format!("backing up {name}"));
    }
    Ok(dst)
}

fn copy_rootfs(rootfs: &Rootfs, dst: &Path) -> Result<()> {
    let cancel = Some(super::interrupted());
    let d = copy::open_dir_fd(dst)?;
    match rootfs.plain_dir() {
        Some(p) => copy::copy_dir(p, dst, cancel).map(|_| ()),
        None => {
            let t = storage::mount::detached(rootfs, "")?;
            copy::copy_tree(
                std::os::fd::AsFd::as_fd(&t.fd),
                std::os::fd::AsFd::as_fd(&d),
                Path::new(&rootfs.config_value()),
                dst,
                cancel,
            )
            .map(|_| ())
        }
    }
}

/// Replace the rootfs with backup `num` (else the highest). The new tree is
/// built beside the rootfs and swapped in, so a failure leaves the rootfs
/// as it was.
pub fn restore(lxcpath: &str, name: &str, num: Option<u64>) -> Result<u64> {
    let c = stopped(lxcpath, name)?;
    let n = match num {
        Some(n) => n,
        None => *backups(&c.dir)
            .last()
            .with_context(|| format!("{name} has no backups"))?,
    };
    let src = backup_dir(&c.dir, n);
    if !src.is_dir() {
        bail!("{name} has no backup {n} ({} not found)", src.display());
    }
    let rootfs = Rootfs::of(&c.config, &c.dir)?.with_context(|| format!("{name} has no rootfs"))?;
    let target = match &rootfs {
        Rootfs::Dir(p) => p.clone(),
        Rootfs::Btrfs(p) => p.clone(),
        o => bail!(
            "restoring a backup into a {} rootfs is not supported: only dir and btrfs",
            o.kind().name()
        ),
    };
    let parent = target.parent().context("rootfs has no parent directory")?;
    let base = target
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let fresh = parent.join(format!(".{base}.restore"));
    let old = parent.join(format!(".{base}.old"));
    storage::remove::remove_tree(&fresh)?;
    match &rootfs {
        Rootfs::Btrfs(_) => storage::btrfs::create(&fresh)?,
        _ => mkdir_p(&fresh)?,
    }
    if let Err(e) = copy::copy_dir(&src, &fresh, Some(super::interrupted())) {
        let _ = storage::remove::remove_tree(&fresh);
        return Err(e).with_context(|| format!("restoring backup {n} of {name}"));
    }
    storage::remove::remove_tree(&old)?;
    std::fs::rename(&target, &old).with_context(|| format!("moving {} aside", target.display()))?;
    if let Err(e) = std::fs::rename(&fresh, &target) {
        let _ = std::fs::rename(&old, &target);
        return Err(e).with_context(|| format!("moving the restored tree to {}", target.display()));
    }
    storage::remove::remove_tree(&old)?;
    Ok(n)
}

/// Every defined container of the lxcpath (for lxc-backup without a name).
pub fn all_containers(lxcpath: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(lxcpath)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| Container::is_defined(lxcpath, n))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
