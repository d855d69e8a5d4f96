//! lxc.mount.auto: proc, sys and cgroup mounts, following LXC's table in
//! conf.c (lxc_mount_auto_mounts).

use std::os::fd::AsFd;
use std::path::PathBuf;

use anyhow::{Context, Result};
use rustix::mount::MountFlags;

use super::fstab::Create;
use super::ops::{self, BindSource};
use super::resolve::Root;
use crate::config::{AutoMode, CgroupAuto};

const SAFE: MountFlags = MountFlags::NOSUID
    .union(MountFlags::NODEV)
    .union(MountFlags::NOEXEC);

/// Mount a fresh procfs on /proc. `Mixed` (LXC's `proc` / `proc:mixed`)
/// then makes /proc/sys and /proc/sysrq-trigger read-only while keeping
/// /proc/sys/net writable when `net_rw` (the container has its own network
/// namespace, so the files are its own).
pub fn proc(root: &Root, mode: AutoMode, net_rw: bool) -> Result<()> {
    let shown = root.show("proc");
    let step = || format!("mounting /proc on {shown}");
    let t = root.open("proc", Some(Create::Dir)).with_context(step)?;
    let flags = if mode == AutoMode::Ro {
        SAFE | MountFlags::RDONLY
    } else {
        SAFE
    };
    ops::mount_fs(t.as_fd(), "proc", "proc", flags, "").with_context(step)?;
    if mode != AutoMode::Mixed {
        return Ok(());
    }
    let ro = || format!("making {shown}/sys read-only");
    // Clone /proc/sys/net before /proc/sys turns read-only: the clone keeps
    // its own (writable) mount flags when put back on top.
    let net = net_rw
        .then(|| root.open("proc/sys/net", None))
        .and_then(|r| r.ok())
        .and_then(|fd| ops::clone_tree(BindSource::Fd(fd.as_fd()), false).ok());
    let sys = root.open("proc/sys", None).with_context(ro)?;
    let mnt = ops::bind(BindSource::Fd(sys.as_fd()), sys.as_fd(), false).with_context(ro)?;
    ops::remount_bind(mnt.as_fd(), MountFlags::RDONLY).with_context(ro)?;
    if let Some(net) = net {
        let r = root
            .open("proc/sys/net", None)
            .and_then(|t| ops::attach(net.as_fd(), t.as_fd()));
        if let Err(e) = r {
            log::debug!("keeping {shown}/sys/net writable: {e:#}");
        }
    }
    // sysrq-trigger is absent on kernels built without MAGIC_SYSRQ.
    if let Ok(f) = root.open("proc/sysrq-trigger", None) {
        let what = || format!("making {shown}/sysrq-trigger read-only");
        let mnt = ops::bind(BindSource::Fd(f.as_fd()), f.as_fd(), false).with_context(what)?;
        ops::remount_bind(mnt.as_fd(), MountFlags::RDONLY).with_context(what)?;
    }
    Ok(())
}

/// Mount sysfs on /sys: `Rw`, `Ro`, or `Mixed` (read-only except
/// /sys/devices/virtual/net when `net_rw`, as LXC's sys:mixed).
pub fn sys(root: &Root, mode: AutoMode, net_rw: bool) -> Result<()> {
    let shown = root.show("sys");
    let step = || format!("mounting /sys on {shown}");
    let t = root.open("sys", Some(Create::Dir)).with_context(step)?;
    let flags = if mode == AutoMode::Ro {
        SAFE | MountFlags::RDONLY
    } else {
        SAFE
    };
    ops::mount_fs(t.as_fd(), "sysfs", "sysfs", flags, "").with_context(step)?;
    if mode != AutoMode::Mixed {
        return Ok(());
    }
    let net = net_rw
        .then(|| root.open("sys/devices/virtual/net", None))
        .and_then(|r| r.ok())
        .and_then(|fd| ops::clone_tree(BindSource::Fd(fd.as_fd()), false).ok());
    let ro = || format!("making {shown} read-only");
    let mnt = root.open("sys", None).with_context(ro)?;
    ops::remount_bind(mnt.as_fd(), MountFlags::RDONLY).with_context(ro)?;
    if let Some(net) = net {
        let r = root
            .open("sys/devices/virtual/net", None)
            .and_then(|t| ops::attach(net.as_fd(), t.as_fd()));
        if let Err(e) = r {
            log::debug!("keeping {shown}/devices/virtual/net writable: {e:#}");
        }
    }
    Ok(())
}

/// lxc.mount.auto = cgroup[-full][:mode]. `paths` are (controller dir
/// under /sys/fs/cgroup, container cgroup dir on the host); an empty
/// controller dir means a pure cgroup2 host (the hierarchy is
/// /sys/fs/cgroup itself).
///
/// Each hierarchy shows the container's own cgroup (bound at
/// /sys/fs/cgroup/CTRL), writable unless `:ro`. That is also what
/// `cgroup-full` shows: LXC mounts a fresh cgroup filesystem from inside
/// the container's cgroup namespace, whose root is the container's cgroup,
/// so the "full" hierarchy is the container's subtree. lxcbox never binds
/// the host's hierarchy: with it (and CAP_SYS_ADMIN to remount it
/// writable) container root could move itself into the host's root
/// cgroup and out of every limit. Without a cgroup namespace of its own,
/// LXC would show the host's whole tree; lxcbox shows the container's
/// cgroup and warns.
///
/// For v1 a tmpfs holds the controller directories; it is read-only for
/// `:ro` and `:mixed`. Co-mounted controllers (`cpu,cpuacct`) get the
/// `cpu` and `cpuacct` symlinks LXC creates.
pub fn cgroup(
    root: &Root,
    ca: CgroupAuto,
    paths: &[(String, PathBuf)],
    cap_sys_admin: bool,
    own_cgroupns: bool,
) -> Result<()> {
    let mode = ca.mode.unwrap_or(if cap_sys_admin {
        AutoMode::Rw
    } else {
        AutoMode::Mixed
    });
    if ca.full && !own_cgroupns {
        log::warn!(
            "lxc.mount.auto = cgroup-full: the container shares a cgroup namespace, so its \
             \"full\" view would be the host's whole cgroup tree (LXC mounts that); \
             mounting only the container's own cgroups"
        );
    }
    if paths.is_empty() {
        log::warn!("lxc.mount.auto = cgroup: no cgroup paths known for the container");
    }
    let pure_v2 = paths.iter().any(|(c, _)| c.is_empty());
    let base_shown = root.show("sys/fs/cgroup");
    if !pure_v2 {
        let step = || format!("mounting tmpfs on {base_shown}");
        let t = root
            .open("sys/fs/cgroup", Some(Create::Dir))
            .with_context(step)?;
        ops::mount_fs(t.as_fd(), "cgroup", "tmpfs", SAFE, "size=10240k,mode=755")
            .with_context(step)?;
    }
    for (ctrl, host) in paths {
        let rel = if ctrl.is_empty() {
            "sys/fs/cgroup".to_string()
        } else {
            format!("sys/fs/cgroup/{ctrl}")
        };
        let step = || format!("mounting {} on {}", host.display(), root.show(&rel));
        let t = root.open(&rel, Some(Create::Dir)).with_context(step)?;
        let src_str = host
            .to_str()
            .context("cgroup path is not UTF-8")
            .with_context(step)?;
        let mnt = ops::bind(BindSource::Host(src_str), t.as_fd(), false).with_context(step)?;
        if mode == AutoMode::Ro {
            ops::remount_bind(mnt.as_fd(), MountFlags::RDONLY).with_context(step)?;
        }
        if ctrl.contains(',') {
            let base = root.open("sys/fs/cgroup", None)?;
            for part in ctrl.split(',') {
                match rustix::fs::symlinkat(ctrl.as_str(), base.as_fd(), part) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => {
                        return Err(std::io::Error::from(e))
                            .with_context(|| format!("linking {base_shown}/{part} to {ctrl}"))
                    }
                }
            }
        }
    }
    if !pure_v2 && mode != AutoMode::Rw {
        let ro = || format!("making {base_shown} read-only");
        let mnt = root.open("sys/fs/cgroup", None).with_context(ro)?;
        ops::remount_bind(mnt.as_fd(), MountFlags::RDONLY).with_context(ro)?;
    }
    Ok(())
}

/// lxc.mount.auto = cgroup2: a cgroup2 filesystem on /sys/fs/cgroup. With
/// a cgroup namespace it shows the container's subtree as its root.
pub fn cgroup2(root: &Root, ro: bool) -> Result<()> {
    let step = || format!("mounting cgroup2 on {}", root.show("sys/fs/cgroup"));
    let t = root
        .open("sys/fs/cgroup", Some(Create::Dir))
        .with_context(step)?;
    let flags = if ro { SAFE | MountFlags::RDONLY } else { SAFE };
    ops::mount_fs(t.as_fd(), "cgroup2", "cgroup2", flags, "").with_context(step)
}

/// lxc.mount.auto = shmounts:HOST[:CONTAINER]: bind the host directory
/// (recursively, so mounts the host later makes under a shared HOST
/// propagate in through our slave copy) at CONTAINER, default
/// /dev/.lxc-mounts.
pub fn shmounts(root: &Root, host: &str, cont: Option<&str>) -> Result<()> {
    let cont = cont.unwrap_or("/dev/.lxc-mounts");
    let step = || format!("mounting {host} on {}", root.show(cont));
    let t = root.open(cont, Some(Create::Dir)).with_context(step)?;
    ops::bind(BindSource::Host(host), t.as_fd(), true).with_context(step)?;
    Ok(())
}
