//! lxc-destroy: remove a container, its storage (unless
//! `lxc.rootfs.managed = 0`), and with `-s` its snapshots and the clones
//! that depend on it; `lxc.hook.destroy` runs first.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::rdeps::{self, Ref};
use crate::container::{validate_name, Container};
use crate::monitor::client;
use crate::monitor::proto::Request;
use crate::storage::{self, Rootfs};

/// What lxc-destroy was asked for.
#[derive(Debug, Clone, Default)]
pub struct DestroyOptions {
    /// `-f`: kill a running container first.
    pub force: bool,
    /// `-s`: its snapshots (and the clones recorded in lxc_snapshots) too.
    pub snapshots: bool,
    /// `--rcfile`.
    pub rcfile: Option<PathBuf>,
}

/// The snapshot directory of a container: `LXCPATHsnaps/NAME` when that
/// old-style directory exists (LXC 1.x), else `LXCPATH/NAME/snaps`.
pub fn snaps_dir(lxcpath: &str, name: &str) -> PathBuf {
    let old = PathBuf::from(format!("{}snaps", lxcpath.trim_end_matches('/')));
    if old.is_dir() {
        return old.join(name);
    }
    Path::new(lxcpath).join(name).join("snaps")
}

fn dir_is_empty(p: &Path) -> bool {
    std::fs::read_dir(p).map_or(true, |mut d| d.next().is_none())
}

/// Destroy container `name` as lxc-destroy does.
pub fn destroy(lxcpath: &str, name: &str, opts: &DestroyOptions) -> Result<()> {
    validate_name(name)?;
    // Never under a real LXC's feet: not while it runs the container (with
    // -f neither), not while it works on it (its lock). LXC names both
    // after the lxcpath as given.
    crate::coexist::refuse_if_run_by_lxc(lxcpath, name)?;
    let _lxc_lock = crate::coexist::lock::try_lock(lxcpath, name)?;
    let lxcpath = &crate::monitor::canonical_lxcpath(lxcpath);
    let running = client::Client::connect(lxcpath, name)?.is_some();
    if !running && !Container::is_defined(lxcpath, name) && opts.rcfile.is_none() {
        bail!("Container is not defined");
    }
    if opts.snapshots {
        let dir = Path::new(lxcpath).join(name);
        // The clones that depend on this container, one level deep: a
        // clone with clones of its own must be removed explicitly.
        for r in rdeps::snapshots_of(&dir) {
            if Container::is_defined(&r.lxcpath, &r.name) {
                destroy_one(&r.lxcpath, &r.name, opts.force, None)
                    .with_context(|| format!("destroying clone {}", r.name))?;
            } else {
                rdeps::remove_snapshot(&dir, &r)?;
            }
        }
        let snaps = snaps_dir(lxcpath, name);
        if snaps.is_dir() {
            let snaps_s = snaps.to_string_lossy().into_owned();
            for s in snapshot_names(&snaps)? {
                destroy_one(&snaps_s, &s, false, None)
                    .with_context(|| format!("destroying snapshot {s}"))?;
            }
            std::fs::remove_dir(&snaps).with_context(|| format!("removing {}", snaps.display()))?;
        }
    }
    destroy_one(lxcpath, name, opts.force, opts.rcfile.as_deref())
}

/// The snapshot container names in a snaps directory (sorted).
pub fn snapshot_names(snaps: &Path) -> Result<Vec<String>> {
    let mut v: Vec<String> = std::fs::read_dir(snaps)
        .with_context(|| format!("reading {}", snaps.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("config").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort_by_key(|n| {
        (
            n.trim_start_matches("snap")
                .parse::<u64>()
                .unwrap_or(u64::MAX),
            n.clone(),
        )
    });
    Ok(v)
}

/// lxc-destroy's do_destroy: refuse a container with clones or snapshots,
/// stop it if asked, then remove it (an ephemeral one removes itself when
/// it stops).
fn destroy_one(lxcpath: &str, name: &str, force: bool, rcfile: Option<&Path>) -> Result<()> {
    let dir = Path::new(lxcpath).join(name);
    if rdeps::has_clones(&dir) {
        bail!("Destroying {name} failed: {name} has clones");
    }
    let snaps = snaps_dir(lxcpath, name);
    if snaps.is_dir() && !dir_is_empty(&snaps) {
        bail!("Destroying {name} failed: {name} has snapshots");
    }
    if super::is_running(lxcpath, name)? {
        if !force {
            bail!("{name} is running");
        }
        stop_now(lxcpath, name)?;
    }
    if !Container::is_defined(lxcpath, name) && rcfile.is_none() {
        // An ephemeral container destroyed itself when it stopped.
        return Ok(());
    }
    let c = Container::load(lxcpath, name, rcfile)?;
    remove_container(&c, false)
}

/// SIGKILL init through the monitor and wait for the monitor to go away.
pub fn stop_now(lxcpath: &str, name: &str) -> Result<()> {
    let _ = client::call(
        lxcpath,
        name,
        Request::Signal {
            signal: libc::SIGKILL,
        },
    )?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while client::Client::connect(lxcpath, name)?.is_some() {
        if Instant::now() > deadline {
            bail!("the container did not stop within 10 seconds");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// The hook environment LXC gives lxc.hook.destroy and lxc.hook.clone.
pub fn hook_env(c: &Container, rootfs_mount: Option<&str>) -> crate::start::hooks::HookEnv {
    let cfg = &c.config;
    let mut extra = Vec::new();
    if let Some(p) = cfg.console.path.as_deref() {
        extra.push(("LXC_CONSOLE".to_string(), p.to_string()));
    }
    if let Some(p) = cfg.console.logfile.as_deref() {
        extra.push(("LXC_CONSOLE_LOGPATH".to_string(), p.to_string()));
    }
    let rootfs_path = match (&cfg.rootfs.backend, &cfg.rootfs.path) {
        (Some(b), Some(p)) => format!("{b}:{p}"),
        (None, Some(p)) => p.clone(),
        _ => String::new(),
    };
    crate::start::hooks::HookEnv {
        name: c.name.clone(),
        config_file: c
            .config_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        rootfs_mount: rootfs_mount
            .map(str::to_string)
            .or_else(|| cfg.rootfs.mount.clone())
            .unwrap_or_default(),
        rootfs_path,
        version: cfg.hook_version,
        extra_env: extra,
    }
}

/// LXC's container_destroy: destroy hooks, the storage (when managed),
/// the dependency records, the directory. `keep_snaps`: leave a non-empty
/// snaps/ (a snapshot restore replaces the container but not its
/// snapshots).
pub fn remove_container(c: &Container, keep_snaps: bool) -> Result<()> {
    let cfg = &c.config;
    if cfg.hooks_of("destroy").next().is_some() {
        crate::start::hooks::run_hooks(cfg, "destroy", &hook_env(c, None), &[])
            .context("Failed to execute destroy hook")?;
    }
    let dir = &c.dir;
    // lxc-copy -t put the overlay dirs on a tmpfs: take it away first.
    unmount_if_mounted(&dir.join(storage::overlay::PRIVATE_DIR));
    let rootfs = Rootfs::of(cfg, dir)?;
    let managed = cfg.rootfs.managed.unwrap_or(true);
    let mut keep: Vec<&str> = Vec::new();
    if keep_snaps {
        keep.push("snaps");
    }
    match (&rootfs, managed) {
        (Some(r), true) => storage::make::destroy(r)
            .with_context(|| format!("Error destroying rootfs for {}", c.name))?,
        (Some(r), false) => {
            // Not ours: never touch it, even inside the container directory.
            if let Some(p) = r.plain_dir().or(match r {
                Rootfs::Loop(p) => Some(p.as_path()),
                _ => None,
            }) {
                if let Ok(rel) = p.strip_prefix(dir) {
                    if let Some(first) = rel.components().next() {
                        keep.push(first.as_os_str().to_str().unwrap_or(""));
                    }
                }
            }
        }
        (None, _) => {}
    }
    rdeps::forget(
        dir,
        &Ref {
            lxcpath: c.lxcpath.clone(),
            name: c.name.clone(),
        },
    );
    let snaps_nonempty = dir.join("snaps").is_dir() && !dir_is_empty(&dir.join("snaps"));
    if keep.is_empty() || (keep == ["snaps"] && !snaps_nonempty) {
        return storage::remove::remove_tree(dir)
            .with_context(|| format!("Failed to destroy directory \"{}\"", dir.display()));
    }
    storage::remove::remove_contents_except(dir, &keep)
        .with_context(|| format!("Failed to destroy directory \"{}\"", dir.display()))?;
    // Nothing but an empty snaps/ left: the directory can go.
    if keep == ["snaps"] && dir_is_empty(&dir.join("snaps")) {
        storage::remove::remove_tree(dir)?;
    }
    Ok(())
}

/// Detach a filesystem mounted exactly at `p` (none: nothing to do).
fn unmount_if_mounted(p: &Path) {
    let Ok(st) = rustix::fs::statx(
        rustix::fs::CWD,
        p,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        rustix::fs::StatxFlags::BASIC_STATS,
    ) else {
        return;
    };
    let root = rustix::fs::StatxAttributes::MOUNT_ROOT;
    if st.stx_attributes_mask.contains(root) && st.stx_attributes.contains(root) {
        if let Err(e) = rustix::mount::unmount(p, rustix::mount::UnmountFlags::DETACH) {
            log::warn!("unmounting {}: {e}", p.display());
        }
    }
}
