//! The container's cgroups at start: clear what a killed monitor left,
//! create the payload cgroup, apply the limits, and describe the
//! directories for lxc.mount.auto = cgroup.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};

use anyhow::{Context, Result};

use crate::cgroup::{CgroupSet, Layout};
use crate::config::Config;

/// How init enters its cgroups without a thread-group migration, whose
/// cgroup_threadgroup_rwsem write side waits for an RCU grace period
/// (5-20 ms on a quiet host) on the first migration after a pause:
/// - the unified (v2) cgroup: init is born there (clone3 CLONE_INTO_CGROUP,
///   which takes that lock for reading only);
/// - every v1 hierarchy: init writes "0" to the cgroup's `tasks` file
///   itself, through an fd opened here: a single thread moving itself
///   skips the global lock (cgroup_procs_write_start). The opener's
///   credentials are checked, so this works from a new user namespace too.
pub struct Entry {
    pub unified: Option<OwnedFd>,
    pub v1_tasks: Vec<(PathBuf, OwnedFd)>,
}

pub fn entry(set: &CgroupSet) -> Result<Entry> {
    let mut e = Entry {
        unified: None,
        v1_tasks: Vec::new(),
    };
    for (d, dir) in set.dirs.iter().zip(set.process_dirs()) {
        if d.v2 {
            let fd = rustix::fs::open(
                &dir,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .with_context(|| format!("opening {}", dir.display()))?;
            e.unified = Some(fd);
        } else {
            let tasks = dir.join("tasks");
            let fd = rustix::fs::open(&tasks, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
                .with_context(|| format!("opening {}", tasks.display()))?;
            e.v1_tasks.push((tasks, fd));
        }
    }
    Ok(e)
}

/// In the child, right after the clone: join the v1 cgroups (see [`Entry`]).
pub fn join_v1(tasks: &[(PathBuf, OwnedFd)]) -> Result<()> {
    for (path, fd) in tasks {
        rustix::io::write(fd, b"0").with_context(|| {
            format!(
                "entering the container's cgroup: writing {}",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// Where the container's cgroups go: below the monitor's own cgroup, or,
/// with an explicit `lxc.cgroup.relative = 0`, below init's (PID 1's), as
/// LXC escapes to the root by default. lxcbox's default is relative: a
/// start inside a service's or a test's cgroup stays there (see
/// docs/cgroups.md).
pub fn layout(cfg: &Config) -> Result<Layout> {
    if cfg.cgroup_relative == Some(false) {
        Layout::from_files(
            std::path::Path::new("/proc/self/mountinfo"),
            std::path::Path::new("/proc/1/cgroup"),
        )
        .context("discovering the cgroup layout below PID 1's cgroups (lxc.cgroup.relative = 0)")
    } else {
        Layout::discover().context("discovering the cgroup layout")
    }
}

/// Create (and limit) the payload cgroup; limits are in place before init
/// is attached, so init never runs unlimited.
pub fn create(layout: &Layout, name: &str, cfg: &Config) -> Result<CgroupSet> {
    let global = crate::paths::GlobalConfig::load(None).unwrap_or_default();
    let pattern = global.get("lxc.cgroup.pattern");
    let set = CgroupSet::create_payload(layout, name, cfg, pattern.as_deref())
        .context("creating the container's cgroups")?;
    if let Err(e) = set.apply_config(cfg) {
        let _ = set.remove();
        return Err(e);
    }
    Ok(set)
}

/// A monitor killed with SIGKILL leaves its container's (now empty)
/// lxc.payload.NAME and its own lxc.monitor.NAME behind; remove them so the
/// names are reused. Called once per monitor, before anything is created.
/// It looks where they are created: under the cgroup the monitor started in
/// (the layout's base), whatever cgroup the monitor is in now. rmdir fails
/// on a cgroup that still has processes, so a live container of the same
/// name elsewhere is never touched.
pub fn remove_stale(layout: &Layout, name: &str) {
    let bases: Vec<PathBuf> = layout
        .container_hierarchies()
        .map(|h| h.base_dir())
        .collect();
    // A container frozen when its monitor was killed still holds its tasks
    // (the parent-death SIGKILL waits for a thaw): release them first, in
    // every hierarchy, before any rmdir.
    for dir in &bases {
        let stale = dir.join(format!("{}{name}", crate::cgroup::PAYLOAD_PREFIX));
        if stale.is_dir() {
            crate::cgroup::release_killed_frozen(&stale);
        }
    }
    for (dir, prefix) in bases.into_iter().flat_map(|d| {
        [
            (d.clone(), crate::cgroup::PAYLOAD_PREFIX),
            (d, crate::cgroup::MONITOR_PREFIX),
        ]
    }) {
        let stale = dir.join(format!("{prefix}{name}"));
        if stale.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&stale) {
                for sub in rd.flatten() {
                    if sub.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        let _ = std::fs::remove_dir(sub.path());
                    }
                }
            }
            let _ = std::fs::remove_dir(&stale);
        }
    }
}

/// The monitor's own cgroup (lxc.monitor.NAME), as LXC keeps it apart
/// from the payload. Returns (the monitor's set, where it came from) so it
/// can move back and remove the set when it is done.
pub fn enter_monitor_cgroup(
    layout: &Layout,
    name: &str,
    cfg: &Config,
) -> Result<(CgroupSet, CgroupSet)> {
    let me = std::process::id() as i32;
    let original = CgroupSet::from_pid(layout, me).context("reading the monitor's cgroup")?;
    let mon = CgroupSet::create_monitor(layout, name, cfg)?;
    if let Err(e) = mon.attach(me) {
        let _ = mon.remove();
        return Err(e).context("moving the monitor into its cgroup");
    }
    Ok((mon, original))
}

/// Leave and remove the monitor cgroup (a cgroup cannot be removed while
/// its last process is still in it): back where the monitor came from,
/// or into lxc.cgroup.dir.monitor.pivot when that is set (as LXC).
pub fn leave_monitor_cgroup(layout: &Layout, cfg: &Config, mon: CgroupSet, original: CgroupSet) {
    let me = std::process::id() as i32;
    let left = match cfg.cgroup_dir_monitor_pivot.as_deref() {
        Some(pivot) => enter_pivot(layout, pivot, me),
        None => original.attach(me),
    };
    match left {
        Ok(()) => {
            if let Err(e) = mon.remove() {
                log::warn!("removing the monitor cgroup: {e:#}");
            }
        }
        Err(e) => log::warn!("leaving the monitor cgroup: {e:#}"),
    }
}

/// Move `pid` into `rel` (created when missing, kept afterwards: it is
/// shared by the monitors that pivot there) in every hierarchy.
fn enter_pivot(layout: &Layout, rel: &str, pid: i32) -> Result<()> {
    let rel = rel.trim_matches('/');
    if rel.split('/').any(|c| c == ".." || c.is_empty()) {
        anyhow::bail!("lxc.cgroup.dir.monitor.pivot: bad cgroup path \"{rel}\"");
    }
    for h in layout.container_hierarchies() {
        let base = h.base_dir();
        let mut dir = base.clone();
        for comp in rel.split('/') {
            let parent = dir.clone();
            dir = dir.join(comp);
            if !dir.is_dir() {
                std::fs::create_dir(&dir).with_context(|| {
                    format!("lxc.cgroup.dir.monitor.pivot: creating {}", dir.display())
                })?;
            }
            // A new v1 cpuset cgroup starts empty and takes no process.
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let mine = dir.join(f);
                if std::fs::read_to_string(&mine).is_ok_and(|v| v.trim().is_empty()) {
                    let v = std::fs::read_to_string(parent.join(f)).unwrap_or_default();
                    let _ = std::fs::write(&mine, v.trim());
                }
            }
        }
        let procs = dir.join("cgroup.procs");
        std::fs::write(&procs, pid.to_string()).with_context(|| {
            format!("lxc.cgroup.dir.monitor.pivot: writing {}", procs.display())
        })?;
    }
    Ok(())
}

/// (controller mount directory under /sys/fs/cgroup, container cgroup dir)
/// for the mount layer: each directory belongs to the hierarchy whose mount
/// point is the longest prefix of its path.
pub fn mount_paths(layout: &Layout, set: &CgroupSet) -> Vec<(String, PathBuf)> {
    set.dirs
        .iter()
        .filter_map(|d| {
            let h = layout
                .hierarchies
                .iter()
                .filter(|h| d.path.starts_with(&h.mountpoint))
                .max_by_key(|h| h.mountpoint.as_os_str().len())?;
            let ctrl = h
                .mountpoint
                .strip_prefix("/sys/fs/cgroup")
                .unwrap_or(&h.mountpoint)
                .to_string_lossy()
                .into_owned();
            Some((ctrl, d.path.clone()))
        })
        .collect()
}
