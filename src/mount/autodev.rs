//! lxc.autodev: a tmpfs /dev with the minimal device set, a private devpts
//! instance, /dev/shm and the /proc/self/fd links.
//!
//! Done in two steps like LXC: the tmpfs goes on /dev before mount.auto and
//! the mount entries (so entries under /dev land on it), and it is filled
//! after them.

use std::os::fd::AsFd;

use anyhow::{Context, Result};
use rustix::fs::{chmodat, makedev, mkdirat, mknodat, symlinkat, AtFlags, FileType, Mode};
use rustix::io::Errno;
use rustix::mount::MountFlags;

use super::fstab::Create;
use super::ops::{self, BindSource};
use super::resolve::Root;

/// LXC's default size of the /dev tmpfs, in bytes (500K).
pub const DEFAULT_TMPFS_SIZE: u64 = 500_000;

/// The devices LXC creates: (name, major, minor).
const DEVICES: &[(&str, u32, u32)] = &[
    ("full", 1, 7),
    ("null", 1, 3),
    ("random", 1, 8),
    ("tty", 5, 0),
    ("urandom", 1, 9),
    ("zero", 1, 5),
];

const LINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

/// Mount the /dev tmpfs. `size` is lxc.autodev.tmpfs.size, passed to tmpfs
/// as `size=` like LXC does (so in bytes).
pub fn mount_tmpfs(root: &Root, size: Option<u64>) -> Result<()> {
    let step = || format!("mounting tmpfs on {}", root.show("dev"));
    let t = root.open("dev", Some(Create::Dir)).with_context(step)?;
    let size = size.filter(|s| *s > 0).unwrap_or(DEFAULT_TMPFS_SIZE);
    let data = format!("size={size},mode=755");
    ops::mount_fs(
        t.as_fd(),
        "none",
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NOEXEC,
        &data,
    )
    .with_context(step)
}

/// Create the devices, links, /dev/pts and /dev/shm.
pub fn fill(root: &Root, pty_max: Option<u32>) -> Result<()> {
    let dev = root.open("dev", None).context("populating /dev")?;
    for &(name, major, minor) in DEVICES {
        let shown = root.show(&format!("dev/{name}"));
        let r = mknodat(
            dev.as_fd(),
            name,
            FileType::CharacterDevice,
            Mode::from_raw_mode(0o666),
            makedev(major, minor),
        );
        match r {
            Ok(()) => chmodat(
                dev.as_fd(),
                name,
                Mode::from_raw_mode(0o666),
                AtFlags::empty(),
            )
            .map_err(std::io::Error::from)
            .with_context(|| format!("chmod {shown}"))?,
            Err(Errno::EXIST) => {}
            // In a user namespace mknod is not allowed: bind the host's
            // node onto an empty file instead, as LXC does.
            Err(Errno::PERM) | Err(Errno::OVERFLOW) => {
                let what = || format!("mounting /dev/{name} on {shown}");
                let t = root
                    .open(&format!("dev/{name}"), Some(Create::File))
                    .with_context(what)?;
                ops::bind(BindSource::Host(&format!("/dev/{name}")), t.as_fd(), false)
                    .with_context(what)?;
            }
            Err(e) => {
                return Err(std::io::Error::from(e)).with_context(|| format!("mknod {shown}"))
            }
        }
    }
    for &(name, to) in LINKS {
        match symlinkat(to, dev.as_fd(), name) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(std::io::Error::from(e)).with_context(|| {
                    format!("symlink {} -> {to}", root.show(&format!("dev/{name}")))
                })
            }
        }
    }
    for d in ["pts", "shm"] {
        match mkdirat(dev.as_fd(), d, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(std::io::Error::from(e))
                    .with_context(|| format!("mkdir {}", root.show(&format!("dev/{d}"))))
            }
        }
    }
    devpts(root, pty_max)?;
    let shm = root.open("dev/shm", None)?;
    ops::mount_fs(
        shm.as_fd(),
        "shm",
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        "mode=1777",
    )
    .with_context(|| format!("mounting tmpfs on {}", root.show("dev/shm")))
}

/// A new devpts instance on /dev/pts (`newinstance`: the container's ptys
/// are its own, not the host's) and /dev/ptmx pointing into it. Done by
/// autodev, and by the caller-facing [`super::setup_mounts`] when
/// lxc.pty.max is set on a static /dev.
///
/// An existing /dev/ptmx (a device node of a static /dev) gets
/// /dev/pts/ptmx bound over it, so the rootfs on disk is not modified; a
/// missing one becomes a `pts/ptmx` symlink.
pub fn devpts(root: &Root, pty_max: Option<u32>) -> Result<()> {
    let pts = root.open("dev/pts", Some(Create::Dir))?;
    let mut data = String::from("newinstance,ptmxmode=0666,mode=0620");
    if let Some(max) = pty_max.filter(|m| *m > 0) {
        data.push_str(&format!(",max={max}"));
    }
    let step = || format!("mounting devpts on {}", root.show("dev/pts"));
    // gid=5 (tty) is refused when gid 5 is not mapped in a user namespace;
    // retry without it like LXC.
    let flags = MountFlags::NOSUID | MountFlags::NOEXEC;
    ops::mount_fs(
        pts.as_fd(),
        "devpts",
        "devpts",
        flags,
        &format!("{data},gid=5"),
    )
    .or_else(|_| ops::mount_fs(pts.as_fd(), "devpts", "devpts", flags, &data))
    .with_context(step)?;
    let ptmx = root.show("dev/ptmx");
    let dev = root.open("dev", None)?;
    match root.open("dev/ptmx", None) {
        Ok(t) => {
            let src = root.open("dev/pts/ptmx", None)?;
            ops::bind(BindSource::Fd(src.as_fd()), t.as_fd(), false)
                .with_context(|| format!("mounting {}/pts/ptmx on {ptmx}", root.show("dev")))?;
        }
        // Missing, or already a symlink (which we do not follow).
        Err(_) => match symlinkat("pts/ptmx", dev.as_fd(), "ptmx") {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(std::io::Error::from(e))
                    .with_context(|| format!("symlink {ptmx} -> pts/ptmx"))
            }
        },
    }
    Ok(())
}
