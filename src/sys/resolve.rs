//! Opening paths inside an untrusted directory tree: openat2(2) (5.6) where
//! the kernel has it, else a component-by-component walk that follows the
//! same rules.
//!
//! The walk opens each component with O_PATH | O_NOFOLLOW relative to the
//! fd of the previous one, so no symlink is ever followed by the kernel and
//! nothing can redirect a lookup between check and use: a component that
//! is swapped for a symlink behind our back is opened as the symlink
//! itself (and refused), never followed. Mount points are crossed as the
//! kernel crosses them, and `..` is handled on our own stack of directory
//! fds, so it can never climb above the starting directory.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use rustix::fs::{
    fstat, fstatfs, openat, openat2, readlinkat, FileType, Mode, OFlags, ResolveFlags,
};
use rustix::io::{Errno, Result};

use super::kernel::{self, Feature};

/// The kernel's limit on symlinks in one lookup (MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;
/// statfs f_type of procfs, home of the magic links.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
/// RESOLVE_NO_MAGICLINKS: a symlink anywhere in `path` fails with ELOOP, a
/// `..` that would leave `dir` (or an absolute path) with EXDEV.
pub fn open_beneath(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd> {
    resolve(dir, path, flags, mode, Rules::Beneath)
}

/// openat2 with RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS: like
/// openat(2), absolute paths and `..` included, but a symlink anywhere in
/// `path` fails with ELOOP.
pub fn open_no_symlinks(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd> {
    resolve(dir, path, flags, mode, Rules::NoSymlinks)
}

/// openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: `root` is `/`
/// for the lookup (absolute symlinks and `..` stay inside it), magic links
/// (/proc/PID/fd/N, exe, root, ...) fail with ELOOP.
pub fn open_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd> {
    resolve(root, path, flags, mode, Rules::InRoot)
}

/// The kernel's openat2 where it has one, else the walk.
fn resolve(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
    mode: Mode,
    rules: Rules,
) -> Result<OwnedFd> {
    if kernel::has(Feature::Openat2) {
        return openat2(dir, path, flags, mode, rules.how());
    }
    walk(dir, path, flags, mode, rules)
}

fn opath(dir: BorrowedFd<'_>, name: &OsStr) -> Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn is_symlink(fd: BorrowedFd<'_>) -> Result<bool> {
    Ok(FileType::from_raw_mode(fstat(fd)?.st_mode) == FileType::Symlink)
}

fn is_dir(fd: BorrowedFd<'_>) -> Result<bool> {
    Ok(FileType::from_raw_mode(fstat(fd)?.st_mode) == FileType::Directory)
}

/// Open the last component with the caller's flags, never following a
/// symlink: O_NOFOLLOW makes the kernel refuse one (ELOOP), and with
/// O_PATH (where O_NOFOLLOW opens the link itself) the result is checked.
fn open_last(dir: BorrowedFd<'_>, name: &OsStr, flags: OFlags, mode: Mode) -> Result<OwnedFd> {
    let fd = match openat(dir, name, flags | OFlags::NOFOLLOW, mode) {
        // O_DIRECTORY on a symlink says ENOTDIR: it is the symlink we refuse.
        Err(Errno::NOTDIR) if flags.contains(OFlags::DIRECTORY) => {
            let link = opath(dir, name)?;
            return Err(if is_symlink(link.as_fd())? {
                Errno::LOOP
            } else {
                Errno::NOTDIR
            });
        }
        r => r?,
    };
    if flags.contains(OFlags::PATH) && is_symlink(fd.as_fd())? {
        return Err(Errno::LOOP);
    }
    Ok(fd)
}

/// The fallback of [`open_beneath`].
pub fn walk_beneath(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd> {
    walk(dir, path, flags, mode, Rules::Beneath)
}

/// The fallback of [`open_in_root`].
pub fn walk_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd> {
    walk(root, path, flags, mode, Rules::InRoot)
}

/// What the walk does with symlinks, `..` at the top and absolute paths.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rules {
    /// Refuse symlinks (ELOOP) and leaving the top (EXDEV).
    Beneath,
    /// The top is `/`: follow symlinks inside it, stay at the top on `..`.
    InRoot,
    /// Refuse symlinks; `..` is the kernel's (an absolute path starts at
    /// `/`).
    NoSymlinks,
}

impl Rules {
    /// openat2's flags for the same rules.
    fn how(self) -> ResolveFlags {
        let base = ResolveFlags::NO_MAGICLINKS;
        match self {
            Rules::Beneath => base | ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS,
            Rules::InRoot => base | ResolveFlags::IN_ROOT,
            Rules::NoSymlinks => base | ResolveFlags::NO_SYMLINKS,
        }
    }
}

/// Is the symlink `name` in `dir` a magic link? Those live on procfs and
/// read as absolute paths or `type:[inode]`; procfs's ordinary symlinks
/// (`self`, `thread-self`, `mounts` -> `self/mounts`, `net` -> `self/net`)
/// are relative.
fn is_magic(dir: BorrowedFd<'_>, target: &OsStr) -> Result<bool> {
    if fstatfs(dir)?.f_type as i64 != PROC_SUPER_MAGIC {
        return Ok(false);
    }
    let t = target.as_bytes();
    Ok(t.first() == Some(&b'/') || t.contains(&b':'))
}

fn walk(
    top: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
    mode: Mode,
    rules: Rules,
) -> Result<OwnedFd> {
    if path.as_os_str().is_empty() {
        return Err(Errno::NOENT);
    }
    let slash;
    let top = match rules {
        Rules::Beneath if path.is_absolute() => return Err(Errno::XDEV),
        Rules::NoSymlinks if path.is_absolute() => {
            slash = rustix::fs::open(
                "/",
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            slash.as_fd()
        }
        _ => top,
    };
    let mut todo: VecDeque<OsString> = VecDeque::new();
    push_front(&mut todo, path);
    // Directories entered below `top`; `..` pops, and never pops `top`.
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    while let Some(comp) = todo.pop_front() {
        let cur = stack.last().map_or(top, |f| f.as_fd());
        match comp.as_bytes() {
            b"." => continue,
            b".." => {
                match rules {
                    // `..` is no symlink: the kernel's own (which stays at
                    // `/` there).
                    Rules::NoSymlinks => stack.push(opath(cur, OsStr::new(".."))?),
                    _ => {
                        if stack.pop().is_none() && rules == Rules::Beneath {
                            return Err(Errno::XDEV);
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        let last = todo.iter().all(|c| c == ".");
        // Without symlinks, the last component's open (O_NOFOLLOW) refuses
        // one itself.
        if last && rules != Rules::InRoot {
            return open_last(cur, &comp, flags, mode);
        }
        let fd = match opath(cur, &comp) {
            Ok(fd) => fd,
            // The last component may be created by the open itself.
            Err(Errno::NOENT) if last && flags.contains(OFlags::CREATE) => {
                return open_last(cur, &comp, flags, mode);
            }
            Err(e) => return Err(e),
        };
        let follow = !last || !flags.contains(OFlags::NOFOLLOW);
        if follow && is_symlink(fd.as_fd())? {
            if rules != Rules::InRoot {
                return Err(Errno::LOOP);
            }
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::LOOP);
            }
            let target = readlinkat(cur, &comp, Vec::new())?;
            let target = OsStr::from_bytes(target.as_bytes());
            if is_magic(cur, target)? {
                return Err(Errno::LOOP);
            }
            if target.as_bytes().first() == Some(&b'/') {
                stack.clear();
            }
            push_front(&mut todo, Path::new(target));
            continue;
        }
        if last {
            return open_last(cur, &comp, flags, mode);
        }
        if !is_dir(fd.as_fd())? {
            return Err(Errno::NOTDIR);
        }
        stack.push(fd);
    }
    // Only `.` and `..` (or names undone by `..`): open where we are.
    let cur = stack.last().map_or(top, |f| f.as_fd());
    open_last(cur, OsStr::new("."), flags, mode)
}

/// Queue `path`'s components (`.` and `..` kept, the root dropped) before
/// what is left to walk.
fn push_front(todo: &mut VecDeque<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            Component::CurDir => Some(".".into()),
            Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    for p in parts.into_iter().rev() {
        todo.push_front(p);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    /// A temp dir removed on drop, even when an assertion fails.
    pub(crate) struct Tmp(pub(crate) PathBuf);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    impl std::ops::Deref for Tmp {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    /// An empty temp dir named after `tag` and this process.
    pub(crate) fn tmpdir(tag: &str) -> Tmp {
        let d = std::env::temp_dir().join(format!("lxcbox-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Tmp(d)
    }

    fn tree(tag: &str) -> (Tmp, OwnedFd) {
        let t = tmpdir(&format!("walk-{tag}"));
        let d = t.0.clone();
        std::fs::create_dir_all(d.join("root/a/b")).unwrap();
        std::fs::create_dir_all(d.join("outside")).unwrap();
        std::fs::write(d.join("root/a/b/f"), "in").unwrap();
        std::fs::write(d.join("outside/f"), "out").unwrap();
        symlink("/a/b", d.join("root/abs")).unwrap();
        symlink("a/b/f", d.join("root/rel")).unwrap();
        symlink("../../..", d.join("root/a/b/up")).unwrap();
        symlink(d.join("outside"), d.join("root/host")).unwrap();
        symlink("loop2", d.join("root/loop1")).unwrap();
        symlink("loop1", d.join("root/loop2")).unwrap();
        let fd = rustix::fs::open(
            d.join("root"),
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        (t, fd)
    }

    fn read(fd: OwnedFd) -> String {
        let p = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
        std::fs::read_to_string(p).unwrap()
    }

    fn rd() -> OFlags {
        OFlags::RDONLY | OFlags::CLOEXEC
    }

    /// The walk and the kernel agree (when this kernel has openat2).
    fn both(root: BorrowedFd<'_>, p: &str, beneath: bool) -> Result<String> {
        let walked = if beneath {
            walk_beneath(root, Path::new(p), rd(), Mode::empty())
        } else {
            walk_in_root(root, Path::new(p), rd(), Mode::empty())
        }
        .map(read);
        if kernel::has(Feature::Openat2) {
            let k = if beneath {
                open_beneath(root, Path::new(p), rd(), Mode::empty())
            } else {
                open_in_root(root, Path::new(p), rd(), Mode::empty())
            }
            .map(read);
            assert_eq!(walked, k, "{p} (beneath: {beneath})");
        }
        walked
    }

    #[test]
    fn beneath_refuses_every_symlink_and_escape() {
        let (_t, r) = tree("beneath");
        let r = r.as_fd();
        assert_eq!(both(r, "a/b/f", true).as_deref(), Ok("in"));
        assert_eq!(both(r, "./a/./b/f", true).as_deref(), Ok("in"));
        assert_eq!(both(r, "a/b/../b/f", true).as_deref(), Ok("in"));
        assert_eq!(both(r, "rel", true), Err(Errno::LOOP));
        assert_eq!(both(r, "abs/f", true), Err(Errno::LOOP));
        assert_eq!(both(r, "host/f", true), Err(Errno::LOOP));
        assert_eq!(both(r, "a/b/up/outside/f", true), Err(Errno::LOOP));
        assert_eq!(both(r, "a/../../outside/f", true), Err(Errno::XDEV));
        assert_eq!(both(r, "missing", true), Err(Errno::NOENT));
        assert_eq!(both(r, "a/b/f/x", true), Err(Errno::NOTDIR));
        // O_PATH of a trailing symlink: refused, not opened as the link.
        let p = OFlags::PATH | OFlags::CLOEXEC;
        assert_eq!(
            walk_beneath(r, Path::new("host"), p, Mode::empty()).err(),
            Some(Errno::LOOP)
        );
        let d = p | OFlags::DIRECTORY;
        assert_eq!(
            walk_beneath(r, Path::new("abs"), d, Mode::empty()).err(),
            Some(Errno::LOOP)
        );
    }

    #[test]
    fn in_root_keeps_symlinks_and_dotdot_inside() {
        let (_t, r) = tree("inroot");
        let r = r.as_fd();
        assert_eq!(both(r, "rel", false).as_deref(), Ok("in"));
        assert_eq!(both(r, "abs/f", false).as_deref(), Ok("in"));
        assert_eq!(both(r, "/abs/f", false).as_deref(), Ok("in"));
        // `..` and absolute targets are clamped at the root: up/ is /.
        assert_eq!(both(r, "a/b/up/a/b/f", false).as_deref(), Ok("in"));
        assert_eq!(both(r, "../../a/b/f", false).as_deref(), Ok("in"));
        // A symlink to a host path is resolved inside the root (no
        // /…/outside there).
        assert_eq!(both(r, "host/f", false), Err(Errno::NOENT));
        assert_eq!(both(r, "loop1", false), Err(Errno::LOOP));
    }

    #[test]
    fn in_root_refuses_magic_links() {
        let root = rustix::fs::open("/", OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let me = format!("proc/{}/", std::process::id());
        // An ordinary procfs symlink is followed...
        let st = walk_in_root(
            root.as_fd(),
            Path::new("proc/self/stat"),
            rd(),
            Mode::empty(),
        );
        assert!(st.is_ok(), "{st:?}");
        // ...a magic one is not.
        let exe = walk_in_root(
            root.as_fd(),
            Path::new(&format!("{me}exe")),
            rd(),
            Mode::empty(),
        );
        assert_eq!(exe.err(), Some(Errno::LOOP));
        let cwd = walk_in_root(
            root.as_fd(),
            Path::new(&format!("{me}cwd/x")),
            rd(),
            Mode::empty(),
        );
        assert_eq!(cwd.err(), Some(Errno::LOOP));
    }

    #[test]
    fn no_symlinks_anywhere_absolute_or_not() {
        let (t, r) = tree("nosym");
        let root = t.0.join("root");
        let abs = |p: &str| root.join(p).to_string_lossy().into_owned();
        let go = |p: &str| {
            let w = walk(
                r.as_fd(),
                Path::new(p),
                rd(),
                Mode::empty(),
                Rules::NoSymlinks,
            );
            if kernel::has(Feature::Openat2) {
                let k = open_no_symlinks(r.as_fd(), Path::new(p), rd(), Mode::empty());
                assert_eq!(w.as_ref().err(), k.as_ref().err(), "{p}");
            }
            w.map(read)
        };
        assert_eq!(go("a/b/f").as_deref(), Ok("in"));
        assert_eq!(go("../outside/f").as_deref(), Ok("out"));
        assert_eq!(go("a/b/../../../outside/f").as_deref(), Ok("out"));
        assert_eq!(go("rel"), Err(Errno::LOOP));
        assert_eq!(go("a/b/up/x"), Err(Errno::LOOP));
        let fallback = |p: &str| {
            let root =
                rustix::fs::open("/", OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
            walk(
                root.as_fd(),
                Path::new(p),
                rd(),
                Mode::empty(),
                Rules::NoSymlinks,
            )
            .map(read)
        };
        assert_eq!(fallback(&abs("a/b/f")).as_deref(), Ok("in"));
        assert_eq!(fallback(&abs("abs/f")), Err(Errno::LOOP));
        assert_eq!(fallback("/../../proc/self/stat").err(), Some(Errno::LOOP));
    }

    #[test]
    fn create_through_the_walk() {
        let (t, r) = tree("create");
        let f = OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC;
        let m = Mode::from_raw_mode(0o600);
        walk_beneath(r.as_fd(), Path::new("a/new"), f, m).unwrap();
        assert!(t.0.join("root/a/new").is_file());
        walk_in_root(r.as_fd(), Path::new("/abs/new2"), f, m).unwrap();
        assert!(t.0.join("root/a/b/new2").is_file());
        // Creating through a symlink is refused beneath.
        assert_eq!(
            walk_beneath(r.as_fd(), Path::new("abs/x"), f, m).err(),
            Some(Errno::LOOP)
        );
        assert!(!t.0.join("outside/x").exists());
    }
}
