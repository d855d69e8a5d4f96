//! A sealed lxcbox: an executable handle on our own binary that nothing
//! can write through, for running lxcbox inside a container (lxc-execute's
//! init today; a sealed re-exec of lxc-attach later).
//!
//! Why: a process in the container can reopen `/proc/1/exe` of an lxcbox
//! init. If that were the host's file, container root could overwrite the
//! host binary (the runc CVE-2019-5736 class).
//!
//! How (runc 1.2's exeseal, in order of preference):
//! 1. **Overlay**: a detached, lower-only overlayfs over the binary's
//!    directory (plus an empty directory: overlayfs needs two lower
//!    layers to run without an upper one, and then refuses every write at
//!    the superblock). The file is opened O_PATH on that mount, which is
//!    attached nowhere. No copy: the pages are the host binary's page
//!    cache, shared by every container.
//! 2. **memfd**: a sealed (no write, grow, shrink or further seals) memfd
//!    copy of `/proc/self/exe`, when overlayfs or fsopen(2) is not
//!    available (kernel, privileges) or the file on disk is not the one we
//!    run (replaced since we started).
//!
//! The API is [`SealedSelf::open`] and [`SealedSelf::exec`];
//! [`reexec_sealed`] re-executes the running applet from such a handle
//! (lxc-attach, whose child runs inside the container's PID namespace).

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rustix::fs::{fcntl_add_seals, memfd_create, Mode, OFlags, SealFlags};
use rustix::mount::{
    fsconfig_create, fsconfig_set_string, fsmount, fsopen, FsMountFlags, FsOpenFlags,
    MountAttrFlags,
};

/// How the handle was made (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seal {
    Overlay,
    Memfd,
}

/// An executable, unwritable lxcbox.
#[derive(Debug)]
pub struct SealedSelf {
    fd: OwnedFd,
    pub seal: Seal,
}

impl SealedSelf {
    /// Seal the running binary: the overlay if it works here, else a memfd copy.
    pub fn open() -> Result<SealedSelf> {
        match overlay() {
            Ok(fd) => Ok(SealedSelf {
                fd,
                seal: Seal::Overlay,
            }),
            Err(e) => {
                log::debug!("sealed overlay of lxcbox unavailable ({e:#}); copying to a memfd");
                Ok(SealedSelf {
                    fd: memfd_copy()?,
                    seal: Seal::Memfd,
                })
            }
        }
    }

    /// The memfd copy, whatever the overlay would do (tests, comparisons).
    pub fn open_memfd() -> Result<SealedSelf> {
        Ok(SealedSelf {
            fd: memfd_copy()?,
            seal: Seal::Memfd,
        })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// execveat(2) the sealed binary. Returns only on failure.
    pub fn exec(&self, argv: &[CString], env: &[CString]) -> std::io::Error {
        crate::sys::process::fexec(self.fd.as_fd(), argv, env)
    }
}

/// Set in the environment of a sealed re-exec, removed by the process it
/// starts: a second re-exec that would not be sealed either is refused
/// instead of looping.
const REEXEC_MARK: &str = "LXCBOX_SEALED_REEXEC";

/// overlayfs's statfs(2) magic.
const OVERLAYFS_SUPER_MAGIC: u64 = 0x794c_7630;

/// Whether the running binary is one nothing can write through: a memfd
/// sealed against writes, or a file on a read-only overlayfs (what
/// [`SealedSelf`] makes).
pub fn running_sealed() -> bool {
    let Ok(fd) = rustix::fs::open(
        "/proc/self/exe",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    if rustix::fs::fcntl_get_seals(&fd).is_ok_and(|s| s.contains(SealFlags::WRITE)) {
        return true;
    }
    let overlay = rustix::fs::fstatfs(&fd).is_ok_and(|s| s.f_type as u64 == OVERLAYFS_SUPER_MAGIC);
    overlay
        && rustix::fs::fstatvfs(&fd)
            .is_ok_and(|v| v.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
}

/// Re-execute the running applet (same argv, same environment) from a
/// [`SealedSelf`], unless it already runs from one. Afterwards
/// /proc/self/exe of this process and of everything it forks is the
/// sealed handle, never the host's file: a process in a container that
/// reopens it cannot write the host binary (runc's CVE-2019-5736; LXC's
/// lxc-attach re-executes itself from a memfd the same way). Returns only
/// when already sealed, or with the reason it could not be.
pub fn reexec_sealed() -> Result<()> {
    let marked = std::env::var_os(REEXEC_MARK).is_some();
    if running_sealed() {
        if marked {
            // Single-threaded here (the applet's start): nothing reads
            // the environment concurrently.
            std::env::remove_var(REEXEC_MARK);
        }
        return Ok(());
    }
    if marked {
        bail!("re-executed lxcbox from its sealed copy, but /proc/self/exe is still not sealed");
    }
    let sealed = SealedSelf::open()?;
    let argv = std::env::args_os()
        .map(|a| CString::new(a.into_vec()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .context("an argument holds a NUL byte")?;
    let mut env = Vec::new();
    for (k, v) in std::env::vars_os() {
        let mut e = k.into_vec();
        e.push(b'=');
        e.extend_from_slice(&v.into_vec());
        env.push(CString::new(e).context("an environment variable holds a NUL byte")?);
    }
    env.push(CString::new(format!("{REEXEC_MARK}=1")).expect("no NUL"));
    let err = sealed.exec(&argv, &env);
    Err(err).context("re-executing lxcbox from its sealed copy")
}

/// The directory overlayfs stacks under the binary's: empty, ours.
fn empty_lower() -> Result<PathBuf> {
    let d = crate::paths::rundir().join("sealed");
    if !d.is_dir() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&d)
            .with_context(|| format!("creating {}", d.display()))?;
    }
    Ok(d)
}

/// overlayfs separates lower layers with ':' and escapes with '\'.
fn escape_lower(p: &Path) -> Result<String> {
    let s = p.to_str().context("path is not UTF-8")?;
    Ok(s.replace('\\', "\\\\").replace(':', "\\:"))
}

fn overlay() -> Result<OwnedFd> {
    let exe = std::fs::read_link("/proc/self/exe").context("reading /proc/self/exe")?;
    let (Some(dir), Some(name)) = (exe.parent(), exe.file_name()) else {
        bail!("{} has no directory", exe.display());
    };
    let lower = format!("{}:{}", escape_lower(dir)?, escape_lower(&empty_lower()?)?);
    let ctx = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC).context("fsopen overlay")?;
    fsconfig_set_string(&ctx, "lowerdir", lower.as_str())
        .with_context(|| format!("overlay lowerdir={lower}"))?;
    // xino only produces kernel log noise here (layers on different fs).
    let _ = fsconfig_set_string(&ctx, "xino", "off");
    fsconfig_create(&ctx).context("creating the overlay")?;
    let mnt = fsmount(
        &ctx,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_RDONLY
            | MountAttrFlags::MOUNT_ATTR_NODEV
            | MountAttrFlags::MOUNT_ATTR_NOSUID,
    )
    .context("fsmount overlay")?;
    let fd = rustix::fs::openat(
        &mnt,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {} on the overlay", name.to_string_lossy()))?;
    // The file in the directory must still be the one we run (a rebuilt
    // or upgraded binary is not): overlayfs keeps size and times.
    let ours = std::fs::metadata("/proc/self/exe").context("stat /proc/self/exe")?;
    let st = rustix::fs::fstat(&fd).context("stat of the overlay file")?;
    if st.st_size as u64 != ours.size()
        || st.st_mtime != ours.mtime()
        || st.st_mtime_nsec as i64 != ours.mtime_nsec()
    {
        bail!("{} changed since lxcbox started", exe.display());
    }
    Ok(fd)
}

fn memfd_copy() -> Result<OwnedFd> {
    let mut src = std::fs::File::open("/proc/self/exe").context("opening /proc/self/exe")?;
    let len = src.metadata().context("stat /proc/self/exe")?.len();
    let mfd = memfd_create(
        "lxcbox",
        rustix::fs::MemfdFlags::CLOEXEC | rustix::fs::MemfdFlags::ALLOW_SEALING,
    )
    .context("creating a memfd for the sealed lxcbox")?;
    let mut dst = std::fs::File::from(mfd);
    // std::io::copy uses copy_file_range/sendfile where it can.
    let n = std::io::copy(&mut src, &mut dst).context("copying lxcbox into the memfd")?;
    if n != len {
        bail!("short copy of /proc/self/exe ({n} of {len} bytes)");
    }
    let fd = OwnedFd::from(dst);
    let seals = SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE;
    // F_SEAL_WRITE answers EBUSY while a page of the memfd is still
    // pinned (memfd_wait_for_pins gives up after a short wait); the
    // sendfile/splice copy can leave such references for a moment, seen
    // under load. Try again briefly before giving up.
    let mut tries = 0;
    loop {
        match fcntl_add_seals(&fd, seals) {
            Err(rustix::io::Errno::BUSY) if tries < 20 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            r => {
                break r
                    .map_err(std::io::Error::from)
                    .context("sealing the lxcbox memfd")?
            }
        }
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_dirs_are_escaped() {
        assert_eq!(escape_lower(Path::new("/a:b\\c")).unwrap(), "/a\\:b\\\\c");
    }

    /// Whatever the seal, writing through the handle (as container root
    /// would through /proc/1/exe) fails and the binary stays as it was.
    fn refuses_writes(s: &SealedSelf) {
        use std::io::Write;
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&s.fd));
        let wrote = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"x"));
        assert!(
            wrote.is_err(),
            "{:?}: write through {path} succeeded",
            s.seal
        );
    }

    #[test]
    fn memfd_copy_refuses_writes() {
        refuses_writes(&SealedSelf::open_memfd().unwrap());
    }

    #[test]
    fn overlay_refuses_writes() {
        let s = SealedSelf::open().unwrap();
        // Unit tests run as root on a kernel with overlayfs (CI and dev);
        // without the new mount API (before 5.2, the old-kernel test
        // pass) the memfd is the seal.
        use crate::sys::kernel::{has, Feature};
        let want = if has(Feature::MountApi) {
            Seal::Overlay
        } else {
            Seal::Memfd
        };
        assert_eq!(s.seal, want, "the expected seal did not work here");
        refuses_writes(&s);
    }
}
