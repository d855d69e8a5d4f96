//! The mount layer of the launch pipeline: rootfs, lxc.mount.auto,
//! lxc.mount.fstab / lxc.mount.entry, autodev and pivot_root.
//!
//! Called in the container's child process, inside its new mount namespace,
//! in LXC's order:
//!
//! 1. `/` becomes recursively slave: nothing we mount propagates to the host.
//! 2. The rootfs is recursively bound at lxc.rootfs.mount (default: onto
//!    itself) with lxc.rootfs.options applied.
//! 3. autodev's tmpfs on /dev, then lxc.mount.auto (proc, sys, cgroup,
//!    shmounts), then lxc.mount.fstab entries, then lxc.mount.entry lines,
//!    then /dev is filled.
//! 4. (the caller binds console/ttys with [`bind_into_root`])
//! 5. [`pivot`]: pivot_root into the rootfs and detach the old root.
//!
//! Without a rootfs the host root is shared: `/` still becomes slave, a
//! fresh procfs goes on /proc (so the new PID namespace is what /proc
//! shows) and the entries apply to host paths, all inside the private
//! mount namespace.
//!
//! Every path below the rootfs is resolved by [`resolve::Root`] without
//! following symlinks or `..`, and mounted through the resolved fd.

mod auto;
mod autodev;
mod entries;
pub mod fstab;
pub mod idmap;
mod ops;
mod resolve;
mod stage;

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rustix::fs::{Mode, OFlags};
use rustix::mount::{mount_change, unmount, MountFlags, MountPropagationFlags, UnmountFlags};

use crate::config::{AutoMode, Config};
pub use resolve::Root;

/// Everything the mount layer needs from the launch pipeline.
pub struct MountCtx<'a> {
    pub cfg: &'a Config,
    pub name: &'a str,
    pub lxcpath: &'a Path,
    /// LXCPATH/NAME: base for a relative lxc.mount.fstab or rootfs path.
    pub container_dir: &'a Path,
    /// (controller dir under /sys/fs/cgroup, e.g. "memory", "cpu,cpuacct"
    /// or "unified"; "" on a pure cgroup2 host, container cgroup dir on the
    /// host) for lxc.mount.auto = cgroup*.
    pub cgroup_paths: Vec<(String, PathBuf)>,
    /// The container has its own network namespace (the launch plan's
    /// decision): only then do the `mixed` modes leave /proc/sys/net and
    /// /sys/devices/virtual/net writable (otherwise they are the host's).
    pub own_netns: bool,
    /// The container has its own cgroup namespace (the plan's decision):
    /// with CAP_SYS_ADMIN kept it can mount its cgroups itself, so a
    /// `cgroup` token without `:force` mounts nothing (LXC's cgfsng_mount).
    pub own_cgroupns: bool,
    /// The idmapped rootfs tree the monitor made (`idmap.rs`), attached in
    /// place of a bind of the rootfs directory.
    pub idmapped_root: Option<&'a OwnedFd>,
}

/// The container's root, mounted and populated, waiting for [`pivot`].
pub struct RootFs {
    root: Root,
    mount_point: PathBuf,
}

impl RootFs {
    /// Where the rootfs is mounted on the host side (lxc.rootfs.mount).
    pub fn mount_point(&self) -> &Path {
        &self.mount_point
    }

    /// Resolve a path inside the container root (no symlinks, no `..`),
    /// e.g. to open a file there before pivot_root.
    pub fn open(&self, path: &str, create: Option<fstab::Create>) -> Result<std::os::fd::OwnedFd> {
        self.root.open(path, create)
    }
}

fn io(e: rustix::io::Errno) -> anyhow::Error {
    anyhow::Error::new(std::io::Error::from(e))
}

/// True unless the config drops CAP_SYS_ADMIN (decides the default mode of
/// a bare `cgroup` token, as LXC does).
fn keeps_sys_admin(cfg: &Config) -> bool {
    let is = |c: &String| c.eq_ignore_ascii_case("sys_admin") || c.eq_ignore_ascii_case("all");
    !cfg.cap_drop.iter().any(is) && (cfg.cap_keep.is_empty() || cfg.cap_keep.iter().any(is))
}

/// Whether lxc.mount.auto makes the mount layer mount cgroups. LXC's rule
/// for the `cgroup` tokens: when forced, when the container loses
/// CAP_SYS_ADMIN (it could not mount them), on a pure cgroup2 host
/// (distribution inits often do not mount cgroup2 there), or without a
/// cgroup namespace of its own; `cgroup2` tokens always.
pub fn mounts_cgroups(cfg: &Config, own_cgroupns: bool, pure_v2: bool) -> bool {
    let ma = &cfg.mount_auto;
    match ma.cgroup {
        Some(ca) => ca.force || !keeps_sys_admin(cfg) || pure_v2 || !own_cgroupns,
        None => ma.cgroup2.is_some(),
    }
}

/// Do every mount up to (not including) pivot_root. `None`: no rootfs is
/// configured and the host root is shared.
pub fn setup_mounts(ctx: &MountCtx) -> Result<Option<RootFs>> {
    let cfg = ctx.cfg;
    // Parse everything first: a bad line fails before anything is mounted.
    let entries = entries::load(cfg, ctx.container_dir)?;
    mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(io)
    .context("making / recursively slave")?;

    let rootfs = cfg.rootfs.path.as_deref().filter(|p| !p.is_empty());
    let Some(rootfs) = rootfs else {
        let root = Root::host()?;
        auto::proc(
            &root,
            cfg.mount_auto.proc.unwrap_or(AutoMode::Rw),
            ctx.own_netns,
        )?;
        auto_rest(ctx, &root, false)?;
        for e in &entries {
            entries::apply(&root, &[], e)?;
        }
        return Ok(None);
    };

    // The backing store (dir, btrfs, overlay, loop) decides how the rootfs
    // is mounted; see crate::storage.
    let spec = crate::storage::Rootfs::from_config(
        cfg.rootfs.backend.as_deref(),
        rootfs.strip_prefix("dir:").unwrap_or(rootfs),
        ctx.container_dir,
    )
    .context("lxc.rootfs.path")?;
    spec.check_supported().context("lxc.rootfs.path")?;
    let explicit_mp = cfg.rootfs.mount.as_deref().filter(|m| !m.is_empty());
    let (rootfs, mount_point, root) = match spec.plain_dir() {
        Some(dir) => {
            let mp = explicit_mp.map_or_else(|| dir.to_path_buf(), PathBuf::from);
            let opts = idmap::strip(cfg.rootfs.options.as_deref());
            let root = mount_rootfs(dir, &mp, opts.as_deref(), ctx.idmapped_root)?;
            (dir.to_path_buf(), mp, root)
        }
        None => {
            let mp = match explicit_mp {
                Some(m) => PathBuf::from(m),
                None => crate::storage::mount::default_mount_point(ctx.container_dir)?,
            };
            if idmap::requested(cfg.rootfs.options.as_deref())?.is_some() {
                bail!(
                    "lxc.rootfs.options = idmap: idmapped mounts are made of a plain directory \
                     rootfs only, not of {}",
                    spec.config_value()
                );
            }
            let root = mount_storage(&spec, &mp, cfg.rootfs.options.as_deref())?;
            (mp.clone(), mp, root)
        }
    };

    let autodev = cfg.autodev.unwrap_or(true);
    if autodev {
        autodev::mount_tmpfs(&root, cfg.autodev_tmpfs_size)?;
    }
    if let Some(mode) = cfg.mount_auto.proc {
        auto::proc(&root, mode, ctx.own_netns)?;
    }
    auto_rest(ctx, &root, true)?;
    let rootfs_s = rootfs.to_string_lossy();
    let mp_s = mount_point.to_string_lossy();
    for e in &entries {
        entries::apply(&root, &[&rootfs_s, &mp_s], e)?;
    }
    if autodev {
        autodev::fill(&root, cfg.pty_max)?;
    } else if cfg.pty_max.is_some_and(|m| m > 0) {
        autodev::devpts(&root, cfg.pty_max)?;
    }
    Ok(Some(RootFs { root, mount_point }))
}

/// sys, cgroup, cgroup2 and shmounts of lxc.mount.auto. shmounts needs a
/// rootfs: on the shared host root its target would be created in the
/// host's own /dev.
fn auto_rest(ctx: &MountCtx, root: &Root, has_rootfs: bool) -> Result<()> {
    let ma = &ctx.cfg.mount_auto;
    if let Some(mode) = ma.sys {
        auto::sys(root, mode, ctx.own_netns)?;
    }
    if let Some(ca) = ma.cgroup {
        let sys_admin = keeps_sys_admin(ctx.cfg);
        let pure_v2 = ctx.cgroup_paths.iter().any(|(c, _)| c.is_empty());
        if mounts_cgroups(ctx.cfg, ctx.own_cgroupns, pure_v2) {
            auto::cgroup(root, ca, &ctx.cgroup_paths, sys_admin, ctx.own_cgroupns)?;
        } else {
            log::info!(
                "lxc.mount.auto = cgroup: not mounted: the container has its own cgroup \
                 namespace and CAP_SYS_ADMIN and mounts its cgroups itself (add :force to \
                 mount them anyway), as LXC does"
            );
        }
    } else if let Some(mode) = ma.cgroup2 {
        auto::cgroup2(root, mode == AutoMode::Ro)?;
    }
    match &ma.shmounts {
        Some((host, cont)) if has_rootfs => auto::shmounts(root, host, cont.as_deref())?,
        Some(_) => log::warn!("lxc.mount.auto = shmounts ignored: the container has no rootfs"),
        None => {}
    }
    Ok(())
}

/// A permission error on the way to the rootfs, for a container whose root
/// is a stranger to the host (lxc.idmap): name the directory it cannot
/// search, as LXC does ("Could not access ... Please grant it x access, or
/// add an ACL for the container root").
fn with_access_hint(e: anyhow::Error, path: &Path) -> anyhow::Error {
    let denied = e.chain().any(|c| {
        c.downcast_ref::<rustix::io::Errno>() == Some(&rustix::io::Errno::ACCESS)
            || c.downcast_ref::<std::io::Error>()
                .and_then(|i| i.raw_os_error())
                == Some(libc::EACCES)
    });
    if !denied {
        return e;
    }
    let mut dirs: Vec<&Path> = path.ancestors().collect();
    dirs.reverse();
    for d in dirs {
        if rustix::fs::access(d, rustix::fs::Access::EXEC_OK).is_err() {
            let uid = std::fs::read_to_string("/proc/self/uid_map")
                .ok()
                .and_then(|m| {
                    m.lines()
                        .filter_map(|l| {
                            let f: Vec<&str> = l.split_whitespace().collect();
                            (f.first() == Some(&"0")).then(|| f.get(1).map(|s| s.to_string()))?
                        })
                        .next()
                })
                .unwrap_or_else(|| "0".into());
            return e.context(format!(
                "could not access {}: the container's root (host uid {uid}) needs search (x) \
                 permission on it; grant it (chmod o+x) or add an ACL for the container root \
                 (setfacl -m u:{uid}:x {})",
                d.display(),
                d.display()
            ));
        }
    }
    e
}

/// Recursively bind the rootfs at its mount point and apply
/// lxc.rootfs.options. The rootfs and mount point come from the trusted
/// config; everything below them is not trusted.
fn mount_rootfs(
    rootfs: &Path,
    mount_point: &Path,
    options: Option<&str>,
    idmapped: Option<&OwnedFd>,
) -> Result<Root> {
    let step = || {
        format!(
            "mounting rootfs {} on {}",
            rootfs.display(),
            mount_point.display()
        )
    };
    let opts = fstab::parse_options(options.unwrap_or(""))
        .context("lxc.rootfs.options")
        .with_context(step)?;
    let src = rootfs
        .to_str()
        .context("rootfs path is not UTF-8")
        .with_context(step)?;
    let tree = match idmapped {
        Some(t) => t
            .try_clone()
            .context("the idmapped rootfs tree")
            .with_context(step)?,
        None => ops::clone_tree(ops::BindSource::Host(src), true)
            .map_err(|e| with_access_hint(e, rootfs))
            .with_context(step)?,
    };
    let target = resolve::open_host(mount_point).with_context(step)?;
    ops::attach(tree.as_fd(), target.as_fd()).with_context(step)?;
    let flags = ops::bind_remount_flags(opts.flags);
    if !flags.is_empty() {
        ops::remount_bind(tree.as_fd(), flags).with_context(step)?;
    }
    if !opts.propagation.is_empty() {
        ops::set_propagation(tree.as_fd(), opts.propagation).with_context(step)?;
    }
    Ok(Root {
        fd: tree,
        display: rootfs.to_path_buf(),
        confined: true,
    })
}

/// Mount a rootfs that is not a plain directory (overlay, loop) on its
/// mount point, through the storage layer's detached mount.
fn mount_storage(
    spec: &crate::storage::Rootfs,
    mount_point: &Path,
    options: Option<&str>,
) -> Result<Root> {
    let step = || {
        format!(
            "mounting rootfs {} on {}",
            spec.config_value(),
            mount_point.display()
        )
    };
    let tree = crate::storage::mount::detached(spec, options.unwrap_or(""))
        .map_err(|e| with_access_hint(e, mount_point))
        .with_context(step)?;
    let target = resolve::open_host(mount_point).with_context(step)?;
    ops::attach(tree.fd.as_fd(), target.as_fd()).with_context(step)?;
    Ok(Root {
        fd: tree.fd,
        display: mount_point.to_path_buf(),
        confined: true,
    })
}

/// A detached recursive copy of the mount tree at a trusted host path.
pub fn clone_tree_of(path: &str) -> Result<std::os::fd::OwnedFd> {
    ops::clone_tree(ops::BindSource::Host(path), true)
}

/// A new filesystem as a detached mount (see [`ops::new_fs`]).
pub fn new_fs_tree(
    fstype: &str,
    source: Option<&str>,
    options: &[(&str, Option<&str>)],
    flags: MountFlags,
) -> Result<std::os::fd::OwnedFd> {
    ops::new_fs(fstype, source, options, flags)
}

/// mount(2) a filesystem straight onto an opened (O_PATH) target, where
/// it must be seen at once (every kernel has this).
pub fn mount_fs_on(target: std::os::fd::BorrowedFd<'_>, fstype: &str, data: &str) -> Result<()> {
    ops::mount_fs(target, fstype, fstype, MountFlags::empty(), data)
}

/// Attach a detached mount tree onto an opened (O_PATH) target.
pub fn attach_tree(
    tree: std::os::fd::BorrowedFd<'_>,
    target: std::os::fd::BorrowedFd<'_>,
) -> Result<()> {
    ops::attach(tree, target)
}

/// Bind a host file or directory (console, ttys) onto a path inside the
/// container root, resolved safely; the target is created (an empty file
/// when `create_file`, else a directory) when missing.
pub fn bind_into_root(
    root: &RootFs,
    host_src: &Path,
    target_in_root: &str,
    create_file: bool,
) -> Result<()> {
    let step = || {
        format!(
            "mounting {} on {}",
            host_src.display(),
            root.root.show(target_in_root)
        )
    };
    let create = if create_file {
        fstab::Create::File
    } else {
        fstab::Create::Dir
    };
    let t = root
        .root
        .open(target_in_root, Some(create))
        .with_context(step)?;
    let src = host_src
        .to_str()
        .context("path is not UTF-8")
        .with_context(step)?;
    ops::bind(ops::BindSource::Host(src), t.as_fd(), false).with_context(step)?;
    Ok(())
}

/// pivot_root into the container root, detach the old root, chdir to `/`.
///
/// Uses the `pivot_root(".", ".")` idiom (no put_old directory needed in
/// the rootfs): the old root ends up stacked on the new one and is then
/// made slave (so the detach cannot propagate to the host) and lazily
/// unmounted.
pub fn pivot(root: RootFs) -> Result<()> {
    let shown = root.root.display.display().to_string();
    let step = || format!("pivot_root into {shown}");
    let old = rustix::fs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io)
    .context("opening the old root")
    .with_context(step)?;
    rustix::process::fchdir(root.root.fd.as_fd())
        .map_err(io)
        .with_context(step)?;
    rustix::process::pivot_root(".", ".")
        .map_err(io)
        .with_context(step)?;
    let detach = || format!("detaching the old root after pivot_root into {shown}");
    rustix::process::fchdir(old.as_fd())
        .map_err(io)
        .with_context(detach)?;
    mount_change(
        ".",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(io)
    .with_context(detach)?;
    unmount(".", UnmountFlags::DETACH)
        .map_err(io)
        .with_context(detach)?;
    rustix::process::chdir("/").map_err(io).context("chdir /")?;
    Ok(())
}

/// Host side of the mount layer's fallback for kernels without the new
/// mount API: the directory its staging tmpfs goes on (see `stage.rs`).
pub fn prepare_staging() -> Result<()> {
    stage::prepare()
}

/// Child side, in a new user namespace before it becomes its root: see
/// `stage::mount_area_early`.
pub fn mount_staging_early() -> Result<()> {
    stage::mount_area_early()
}

/// Host side of `lxc.mount.auto = shmounts:HOST[:CONT]`, called by the
/// monitor before the container is spawned (in the host's mount
/// namespace): like LXC, create HOST, mount a small tmpfs on it and make it
/// shared, so mounts made under it later propagate into the container's
/// slave copy. A HOST that is already a mount point (another container set
/// it up) is only made shared.
pub fn prepare_shmounts(cfg: &Config) -> Result<()> {
    use rustix::fs::{statx, AtFlags, StatxAttributes, StatxFlags, CWD};
    let Some((host, _)) = &cfg.mount_auto.shmounts else {
        return Ok(());
    };
    let step = || format!("mounting tmpfs on {host} (lxc.mount.auto = shmounts)");
    std::fs::create_dir_all(host).with_context(step)?;
    let st = statx(
        CWD,
        host.as_str(),
        AtFlags::empty(),
        StatxFlags::BASIC_STATS,
    )
    .map_err(io)
    .with_context(step)?;
    if !st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT) {
        let t = resolve::open_host(Path::new(host)).with_context(step)?;
        ops::mount_fs(
            t.as_fd(),
            "tmpfs",
            "tmpfs",
            MountFlags::empty(),
            "size=100k,mode=0711",
        )
        .with_context(step)?;
    }
    mount_change(
        host.as_str(),
        MountPropagationFlags::SHARED | MountPropagationFlags::REC,
    )
    .map_err(io)
    .with_context(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_default_mode_depends_on_sys_admin() {
        let mut cfg = Config::default();
        assert!(keeps_sys_admin(&cfg));
        cfg.cap_drop.push("sys_admin".into());
        assert!(!keeps_sys_admin(&cfg));
        let mut cfg = Config::default();
        cfg.cap_keep.push("net_admin".into());
        assert!(!keeps_sys_admin(&cfg));
        cfg.cap_keep.push("SYS_ADMIN".into());
        assert!(keeps_sys_admin(&cfg));
    }
}
