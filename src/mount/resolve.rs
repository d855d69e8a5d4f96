//! Resolving paths inside an untrusted rootfs without ever leaving it.
//!
//! Every lookup below the rootfs goes through openat2(2) relative to an fd
//! of the rootfs mount with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS (on kernels before 5.6, the equivalent walk of
//! [`crate::sys::resolve`]): a symlink anywhere in the path (`rootfs/mnt ->
//! /etc`, `rootfs/proc -> /`) is refused with ELOOP and a `..` that would
//! climb out fails with EXDEV. We refuse symlinks outright instead of
//! resolving them in-root (RESOLVE_IN_ROOT) because that is what LXC does
//! for mount targets, and a rootfs that plants a symlink at a mount target is
//! either broken or hostile. The resulting O_PATH fd is what gets mounted on
//! (via /proc/self/fd/N or move_mount), so nothing can swap the path between
//! check and use.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use rustix::fs::{mkdirat, Mode, OFlags, CWD};
use rustix::io::Errno;

use super::fstab::Create;

/// A directory every container path is resolved against: the rootfs mount
/// (confined) or the host's `/` (shared root, trusted).
pub struct Root {
    pub(crate) fd: OwnedFd,
    /// Host path of the root, for error messages.
    pub(crate) display: PathBuf,
    /// Confined lookups (untrusted rootfs) refuse symlinks and `..`.
    pub(crate) confined: bool,
}

use crate::sys::resolve::open_beneath;

/// No O_NOFOLLOW: with O_PATH it would return an fd of a trailing symlink
/// itself (which mount(2) via /proc/self/fd would then follow); without it,
/// RESOLVE_NO_SYMLINKS refuses trailing symlinks with ELOOP.
fn opath() -> OFlags {
    OFlags::PATH | OFlags::CLOEXEC
}

impl Root {
    /// The shared host root: lookups follow symlinks (the host is trusted).
    pub fn host() -> Result<Root> {
        let fd = rustix::fs::open(
            "/",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .context("opening /")?;
        Ok(Root {
            fd,
            display: PathBuf::from("/"),
            confined: false,
        })
    }

    /// The host path a container path stands for (for messages only).
    pub fn show(&self, rel: &str) -> String {
        let rel = rel.trim_start_matches('/');
        if rel.is_empty() {
            return self.display.display().to_string();
        }
        self.display.join(rel).display().to_string()
    }

    /// Reduce a container path to the relative form looked up under the
    /// root. `..` components are refused up front (even ones the kernel
    /// would keep beneath the root): LXC entries never need them and they are
    /// the classic way out of a rootfs.
    pub fn relative<'a>(&self, path: &'a str) -> Result<&'a str> {
        let rel = path.trim_start_matches('/');
        if Path::new(rel)
            .components()
            .any(|c| c == Component::ParentDir)
        {
            bail!("refusing path {path:?}: contains '..'");
        }
        Ok(if rel.is_empty() { "." } else { rel })
    }

    fn open_rel(
        &self,
        dir: BorrowedFd<'_>,
        rel: &str,
        flags: OFlags,
    ) -> rustix::io::Result<OwnedFd> {
        if self.confined {
            open_beneath(dir, Path::new(rel), flags, Mode::empty())
        } else {
            // Trusted host path: plain lookup, symlinks followed.
            rustix::fs::openat(dir, rel, flags, Mode::empty())
        }
    }

    /// Open `path` (relative to the root, or absolute meaning the same) as
    /// an O_PATH fd, creating it first when `create` asks for it.
    pub fn open(&self, path: &str, create: Option<Create>) -> Result<OwnedFd> {
        let rel = self.relative(path)?;
        let shown = self.show(rel);
        match self.open_rel(self.fd.as_fd(), rel, opath()) {
            Ok(fd) => Ok(fd),
            Err(Errno::NOENT) if create.is_some() => self.create(rel, create == Some(Create::File)),
            Err(Errno::LOOP) if self.confined => Err(self.symlink_error(rel)),
            Err(e) => Err(explain(e, &shown)).with_context(|| format!("resolving {shown}")),
        }
    }

    /// Name the symlink that made a confined lookup fail (error path only:
    /// re-walks the prefixes to find the first one that is a symlink).
    fn symlink_error(&self, rel: &str) -> anyhow::Error {
        let mut prefix = PathBuf::new();
        for c in Path::new(rel).components() {
            prefix.push(c);
            let r = open_beneath(self.fd.as_fd(), &prefix, opath(), Mode::empty());
            if let Err(Errno::LOOP) = r {
                let shown = self.show(&prefix.to_string_lossy());
                let to = rustix::fs::readlinkat(self.fd.as_fd(), &prefix, Vec::new())
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| "?".into());
                return anyhow::anyhow!(
                    "{shown} is a symlink (to {to}); refusing to follow symlinks in the rootfs"
                );
            }
        }
        explain(Errno::LOOP, &self.show(rel))
    }

    /// mkdir -p (and, for `file`, create the last component as an empty
    /// file) one component at a time, each through the parent's fd.
    fn create(&self, rel: &str, file: bool) -> Result<OwnedFd> {
        let comps: Vec<&OsStr> = Path::new(rel)
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s),
                _ => None,
            })
            .collect();
        let mut cur = self
            .open_rel(self.fd.as_fd(), ".", opath() | OFlags::DIRECTORY)
            .map_err(|e| explain(e, &self.show("")))?;
        let mut done = PathBuf::new();
        for (i, comp) in comps.iter().enumerate() {
            done.push(comp);
            let shown = self.show(&done.to_string_lossy());
            let last = i + 1 == comps.len();
            if last && file {
                let f = OFlags::CREATE | OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
                let mode = Mode::from_raw_mode(0o644);
                let r = if self.confined {
                    open_beneath(cur.as_fd(), Path::new(comp), f, mode)
                } else {
                    rustix::fs::openat(cur.as_fd(), *comp, f, mode)
                };
                match r {
                    Ok(_) | Err(Errno::ISDIR) => {}
                    Err(Errno::LOOP) if self.confined => {
                        return Err(self.symlink_error(&done.to_string_lossy()))
                    }
                    Err(e) => return Err(explain(e, &shown)).context("creating file"),
                }
            } else {
                match mkdirat(cur.as_fd(), *comp, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(explain(e, &shown)).context("creating directory"),
                }
            }
            let flags = if last {
                opath()
            } else {
                opath() | OFlags::DIRECTORY
            };
            cur = match self.open_rel(cur.as_fd(), &comp.to_string_lossy(), flags) {
                Ok(fd) => fd,
                Err(Errno::LOOP) if self.confined => {
                    return Err(self.symlink_error(&done.to_string_lossy()))
                }
                Err(e) => return Err(explain(e, &shown)),
            };
        }
        Ok(cur)
    }
}

/// Turn the resolution errnos into messages a user can act on.
pub(crate) fn explain(e: Errno, shown: &str) -> anyhow::Error {
    match e {
        Errno::LOOP => anyhow::anyhow!(
            "{shown} (or a directory on the way) is a symlink; refusing to follow symlinks in the rootfs ({e})"
        ),
        Errno::XDEV => anyhow::anyhow!("{shown} escapes the rootfs ({e})"),
        _ => anyhow::Error::new(std::io::Error::from(e)),
    }
}

/// Open a trusted host path (bind source from the config) as O_PATH.
pub fn open_host(path: &Path) -> Result<OwnedFd> {
    rustix::fs::openat(CWD, path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| anyhow::Error::new(std::io::Error::from(e)))
        .with_context(|| format!("opening {}", path.display()))
}

/// The magic-link path through which mount(2) reaches an fd's file.
pub fn fd_path(fd: BorrowedFd<'_>) -> String {
    use std::os::fd::AsRawFd;
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    use crate::sys::resolve::tests::tmpdir;

    fn confined(d: &Path) -> Root {
        let fd = rustix::fs::open(d, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        Root {
            fd,
            display: d.to_path_buf(),
            confined: true,
        }
    }

    #[test]
    fn symlinks_and_dotdot_refused() {
        let d = tmpdir("resolve-sym");
        let outside = tmpdir("resolve-sym-outside");
        symlink(&*outside, d.join("mnt")).unwrap();
        std::fs::create_dir(d.join("ok")).unwrap();
        let r = confined(&d);
        let err = format!("{:#}", r.open("mnt", Some(Create::Dir)).unwrap_err());
        assert!(err.contains("is a symlink"), "{err}");
        let err = format!("{:#}", r.open("/mnt/x", Some(Create::Dir)).unwrap_err());
        assert!(err.contains("is a symlink"), "{err}");
        let err = format!("{:#}", r.open("ok/../../etc", None).unwrap_err());
        assert!(err.contains("'..'"), "{err}");
        // Nothing was created outside.
        assert_eq!(std::fs::read_dir(&*outside).unwrap().count(), 0);
        assert!(r.open("ok", None).is_ok());
        assert!(r.open("/ok", None).is_ok());
    }

    #[test]
    fn create_dirs_and_files() {
        let d = tmpdir("resolve-create");
        let r = confined(&d);
        r.open("a/b/c", Some(Create::Dir)).unwrap();
        assert!(d.join("a/b/c").is_dir());
        r.open("x/y/file", Some(Create::File)).unwrap();
        assert!(d.join("x/y/file").is_file());
        assert!(r.open("missing", None).is_err());
    }
}
