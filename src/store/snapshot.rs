//! lxc-snapshot: snapshots are clones named snapN in the container's
//! snaps/ directory (LXCPATH/NAME/snaps/snapN/{config,rootfs,ts,comment}),
//! exactly as LXC lays them out, so either tool lists and restores the
//! other's.
//!
//! A dir container's snapshot is a copy; overlay and btrfs containers get
//! real snapshots. The snapshot keeps the container's name and MACs;
//! restoring gives the restored container its (new) name and fresh MACs,
//! as LXC does.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::clone::{self, CloneOptions};
use super::destroy::{remove_container, snaps_dir, snapshot_names};
use super::rdeps;
use crate::container::{validate_name, Container};
use crate::storage::{overlay, Kind, Rootfs};

pub const TIMESTAMP: &str = "ts";
pub const COMMENT: &str = "comment";

/// One snapshot as lxc-snapshot -L shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Snapshot {
    pub name: String,
    /// The snaps directory (the snapshot's lxcpath).
    pub lxcpath: String,
    /// `None` when the ts file is missing.
    pub timestamp: Option<String>,
    pub comment_path: PathBuf,
}

fn defined(lxcpath: &str, name: &str, rcfile: Option<&Path>) -> Result<Container> {
    validate_name(name)?;
    if rcfile.is_none() && !Container::is_defined(lxcpath, name) {
        bail!("Container {name} is not defined");
    }
    Container::load(lxcpath, name, rcfile)
}

fn can_backup(k: Kind) -> bool {
    matches!(
        k,
        Kind::Dir | Kind::Btrfs | Kind::Overlay | Kind::Loop | Kind::Zfs
    )
}

/// The next free snapN.
fn next_index(snaps: &Path) -> u64 {
    (0..)
        .find(|i| std::fs::symlink_metadata(snaps.join(format!("snap{i}"))).is_err())
        .unwrap_or(0)
}

/// LXC's timestamp format: `YYYY:MM:DD HH:MM:SS`, local time, no newline.
pub fn timestamp_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    match crate::sys::time::local(secs) {
        Some((y, mo, d, h, mi, s)) => format!("{y:04}:{mo:02}:{d:02} {h:02}:{mi:02}:{s:02}"),
        None => String::new(),
    }
}

/// Take a snapshot; returns its name (snapN).
pub fn create(
    lxcpath: &str,
    name: &str,
    comment: Option<&Path>,
    rcfile: Option<&Path>,
) -> Result<String> {
    let c = defined(lxcpath, name, rcfile)?;
    let rootfs = Rootfs::of(&c.config, &c.dir)?.with_context(|| format!("{name} has no rootfs"))?;
    if !can_backup(rootfs.kind()) {
        bail!(
            "{name}'s backing store cannot be backed up. Your container must use another backing store type"
        );
    }
    if let Some(f) = comment {
        // Read it now: a missing comment file must not leave a snapshot.
        std::fs::metadata(f).with_context(|| format!("comment file {}", f.display()))?;
    }
    let snaps = snaps_dir(&c.lxcpath, name);
    crate::storage::make::mkdir_p(&snaps)?;
    let snap = format!("snap{}", next_index(&snaps));
    if rootfs.kind() == Kind::Dir {
        log::info!(
            "Snapshot of directory-backed container requested: making a copy-clone. If you do want snapshots, create an overlay clone first, snapshot that and keep the original container pristine"
        );
    }
    let opts = CloneOptions {
        new_name: Some(snap.clone()),
        new_path: Some(snaps.to_string_lossy().into_owned()),
        snapshot: rootfs.kind() != Kind::Dir,
        keep_name: true,
        keep_mac: true,
        keep_kind: true,
        maybe_snapshot: true,
        rcfile: rcfile.map(Path::to_path_buf),
        ..Default::default()
    };
    clone::clone(&c.lxcpath, name, &opts)
        .with_context(|| format!("Failed to clone of {}:{name}", c.lxcpath))?;
    let dir = snaps.join(&snap);
    crate::fsutil::write_atomic(&dir.join(TIMESTAMP), timestamp_now().as_bytes(), 0o644)?;
    if let Some(f) = comment {
        crate::fsutil::copy_small(f, &dir.join(COMMENT))?;
    }
    Ok(snap)
}

/// The container's snapshots, in snapN order.
pub fn list(lxcpath: &str, name: &str, rcfile: Option<&Path>) -> Result<Vec<Snapshot>> {
    let c = defined(lxcpath, name, rcfile)?;
    let snaps = snaps_dir(&c.lxcpath, name);
    if !snaps.is_dir() {
        return Ok(Vec::new());
    }
    let lp = snaps.to_string_lossy().into_owned();
    Ok(snapshot_names(&snaps)?
        .into_iter()
        .map(|n| {
            let d = snaps.join(&n);
            Snapshot {
                timestamp: std::fs::read_to_string(d.join(TIMESTAMP)).ok(),
                comment_path: d.join(COMMENT),
                lxcpath: lp.clone(),
                name: n,
            }
        })
        .collect())
}

/// Restore snapshot `snap` as `new_name` (default: the container itself,
/// which is replaced; its snapshots stay).
pub fn restore(
    lxcpath: &str,
    name: &str,
    snap: &str,
    new_name: Option<&str>,
    rcfile: Option<&Path>,
) -> Result<()> {
    let c = defined(lxcpath, name, rcfile)?;
    validate_name(snap)?;
    if rdeps::has_clones(&c.dir) {
        bail!("container rootfs has dependent snapshots");
    }
    let rootfs = Rootfs::of(&c.config, &c.dir)?.with_context(|| format!("{name} has no rootfs"))?;
    let snaps = snaps_dir(&c.lxcpath, name);
    let snaps_s = snaps.to_string_lossy().into_owned();
    if !Container::is_defined(&snaps_s, snap) {
        bail!("Could not open snapshot {snap}");
    }
    let new_name = new_name.unwrap_or(name);
    validate_name(new_name)?;
    let kind = rootfs.kind();
    let mut made = None;
    if new_name == name {
        if super::is_running(&c.lxcpath, name)? {
            bail!("{name} is running");
        }
        // What must survive the replacement: the snapshots, and for an
        // overlay container its lower dir when that lives in its own
        // directory (the snapshot sits on top of it).
        let mut keep = vec!["snaps".to_string()];
        if let Rootfs::Overlay { lower, .. } = &rootfs {
            if let Ok(rel) = Path::new(overlay::bottom_lower(lower)).strip_prefix(&c.dir) {
                if let Some(f) = rel.components().next() {
                    keep.push(f.as_os_str().to_string_lossy().into_owned());
                }
            }
        }
        replace_keeping(&c, &keep).context("Could not destroy existing container")?;
        made = Some(keep);
    }
    let opts = CloneOptions {
        new_name: Some(new_name.to_string()),
        new_path: Some(c.lxcpath.clone()),
        kind: Some(kind),
        snapshot: !matches!(kind, Kind::Dir | Kind::Loop),
        maybe_snapshot: !matches!(kind, Kind::Dir | Kind::Loop),
        made,
        ..Default::default()
    };
    clone::clone(&snaps_s, snap, &opts)
        .with_context(|| format!("Error restoring snapshot {snap}"))?;
    Ok(())
}

/// Destroy the container's storage and files, keeping the named entries
/// of its directory (LXC's container_destroy during a restore).
fn replace_keeping(c: &Container, keep: &[String]) -> Result<()> {
    if keep.len() == 1 {
        return remove_container(c, true);
    }
    // overlay with its lower dir inside: only the upper dir is the
    // container's own storage.
    let cfg = &c.config;
    if cfg.hooks_of("destroy").next().is_some() {
        crate::start::hooks::run_hooks(cfg, "destroy", &super::destroy::hook_env(c, None), &[])
            .context("Failed to execute destroy hook")?;
    }
    let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
    crate::storage::remove::remove_contents_except(&c.dir, &keep)
}

/// Destroy snapshot `snap`, or all of them for `ALL` (any prefix of it, as LXC).
pub fn destroy(lxcpath: &str, name: &str, snap: &str, rcfile: Option<&Path>) -> Result<()> {
    let c = defined(lxcpath, name, rcfile)?;
    let snaps = snaps_dir(&c.lxcpath, name);
    let snaps_s = snaps.to_string_lossy().into_owned();
    if !snap.is_empty() && "ALL".starts_with(snap) {
        if !snaps.is_dir() {
            return Ok(());
        }
        let mut failed = None;
        for s in snapshot_names(&snaps)? {
            if let Err(e) = destroy_snapshot(&snaps_s, &s) {
                log::error!("Could not destroy snapshot {s}: {e:#}");
                failed = Some(e);
            }
        }
        if let Err(e) = std::fs::remove_dir(&snaps) {
            log::error!("Error removing directory {}: {e}", snaps.display());
        }
        return match failed {
            Some(e) => Err(e),
            None => Ok(()),
        };
    }
    validate_name(snap)?;
    destroy_snapshot(&snaps_s, snap)
}

fn destroy_snapshot(snaps: &str, snap: &str) -> Result<()> {
    if !Container::is_defined(snaps, snap) {
        bail!("Could not find snapshot {snap}");
    }
    let dir = Path::new(snaps).join(snap);
    if rdeps::has_clones(&dir) {
        bail!("Destroying {snap} failed: {snap} has clones");
    }
    let s = Container::load(snaps, snap, None)?;
    remove_container(&s, false)
}
