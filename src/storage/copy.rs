//! Copying a rootfs tree: everything `cp -a` and LXC's `rsync -aHXS`
//! keep (owners, modes, timestamps, xattrs including POSIX ACLs and file
//! capabilities, device nodes, fifos, sockets, symlinks, hard links,
//! sparse files), with the kernel doing the data copy: FICLONE reflinks
//! where the filesystem shares extents (btrfs, xfs), else copy_file_range
//! over the data extents only (SEEK_DATA/SEEK_HOLE keep holes), with
//! read/write as the last resort.
//!
//! The source is untrusted: every lookup is relative to a directory fd and
//! nothing is followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW), so a symlink in
//! the rootfs is copied as a symlink and can never redirect a read or a
//! write. Mount points inside the source are copied as empty directories
//! (their contents belong to another filesystem), like `cp -ax`.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context, Result};
use rustix::fs::{
    AtFlags, FileType, Mode, OFlags, SeekFrom, Statx, StatxAttributes, StatxFlags, Timestamps,
    XattrFlags,
};
use rustix::io::Errno;

/// What a copy did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub files: u64,
    pub dirs: u64,
    pub links: u64,
    pub bytes: u64,
    /// Files shared by reflink instead of copied.
    pub reflinked: u64,
}

/// Copy the contents (and the attributes) of directory `src` into the
/// existing, empty directory `dst`. `cancel` is polled between files: when
/// it becomes true the copy stops with an "interrupted" error.
pub fn copy_tree(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    src_name: &Path,
    dst_name: &Path,
    cancel: Option<&AtomicBool>,
) -> Result<Stats> {
    // Detached mounts come as O_PATH fds: reopen both ends for reading
    // directories and changing attributes.
    let reopen = |fd: BorrowedFd<'_>, name: &Path| {
        rustix::fs::openat(
            fd,
            c".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("opening {}", name.display()))
    };
    let (src_fd, dst_fd) = (reopen(src, src_name)?, reopen(dst, dst_name)?);
    let (src, dst) = (src_fd.as_fd(), dst_fd.as_fd());
    let mut c = Copier {
        cancel,
        src_name,
        dst_name,
        dst_root: dst,
        links: HashMap::new(),
        stats: Stats::default(),
        can_clone: true,
        can_cfr: true,
        buf: Vec::new(),
    };
    let st =
        statx_at(src, c"", true).with_context(|| format!("inspecting {}", src_name.display()))?;
    c.dir_contents(src, dst, Path::new(""), dev(&st))?;
    c.attrs(Target::Fd(dst), Path::new(""), &st, Some(src))?;
    Ok(c.stats)
}

/// Copy directory `src` into the existing empty directory `dst`, by path.
pub fn copy_dir(src: &Path, dst: &Path, cancel: Option<&AtomicBool>) -> Result<Stats> {
    let open = |p: &Path| {
        rustix::fs::open(
            p,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("opening {}", p.display()))
    };
    let s = open(src)?;
    let d = open(dst)?;
    copy_tree(s.as_fd(), d.as_fd(), src, dst, cancel)
}

fn dev(st: &Statx) -> (u32, u32) {
    (st.stx_dev_major, st.stx_dev_minor)
}

fn statx_at(dir: BorrowedFd<'_>, name: &CStr, empty: bool) -> rustix::io::Result<Statx> {
    let mut flags = AtFlags::SYMLINK_NOFOLLOW;
    if empty {
        flags |= AtFlags::EMPTY_PATH;
    }
    rustix::fs::statx(
        dir,
        name,
        flags,
        StatxFlags::BASIC_STATS | StatxFlags::MNT_ID,
    )
}

/// Where attributes are applied: an open fd, or a name in a directory
/// (symlinks, device nodes, fifos and sockets are never opened).
enum Target<'a> {
    Fd(BorrowedFd<'a>),
    /// (source directory, destination directory, name)
    At(BorrowedFd<'a>, BorrowedFd<'a>, &'a CStr),
}

struct Copier<'a> {
    cancel: Option<&'a AtomicBool>,
    src_name: &'a Path,
    dst_name: &'a Path,
    dst_root: BorrowedFd<'a>,
    /// (dev, ino) of multiply-linked files already copied -> path under dst.
    links: HashMap<(u32, u32, u64), PathBuf>,
    stats: Stats,
    /// Cleared after the first FICLONE the filesystems refuse.
    can_clone: bool,
    /// Cleared after copy_file_range proves unusable between these filesystems.
    can_cfr: bool,
    buf: Vec<u8>,
}

fn is_unsupported(e: Errno) -> bool {
    matches!(
        e,
        Errno::XDEV
            | Errno::OPNOTSUPP
            | Errno::INVAL
            | Errno::NOTTY
            | Errno::NOSYS
            | Errno::BADF
            | Errno::PERM
    )
}

impl Copier<'_> {
    fn src_path(&self, rel: &Path) -> PathBuf {
        self.src_name.join(rel)
    }
    fn dst_path(&self, rel: &Path) -> PathBuf {
        self.dst_name.join(rel)
    }

    fn check_cancel(&self) -> Result<()> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            bail!("interrupted");
        }
        Ok(())
    }

    fn dir_contents(
        &mut self,
        sdir: BorrowedFd<'_>,
        ddir: BorrowedFd<'_>,
        rel: &Path,
        root_dev: (u32, u32),
    ) -> Result<()> {
        let mut names = Vec::new();
        let rd = rustix::fs::Dir::read_from(sdir)
            .with_context(|| format!("reading {}", self.src_path(rel).display()))?;
        for e in rd {
            let e = e.with_context(|| format!("reading {}", self.src_path(rel).display()))?;
            let n = e.file_name();
            if n != c"." && n != c".." {
                names.push(n.to_owned());
            }
        }
        for name in names {
            self.check_cancel()?;
            let crel = rel.join(OsStr::from_bytes(name.to_bytes()));
            self.entry(sdir, ddir, &name, &crel, root_dev)?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        sdir: BorrowedFd<'_>,
        ddir: BorrowedFd<'_>,
        name: &CStr,
        rel: &Path,
        root_dev: (u32, u32),
    ) -> Result<()> {
        let st = statx_at(sdir, name, false)
            .with_context(|| format!("inspecting {}", self.src_path(rel).display()))?;
        let ft = FileType::from_raw_mode(st.stx_mode as u32);
        let dpath = || self.dst_name.join(rel).display().to_string();
        if ft != FileType::Directory && st.stx_nlink > 1 {
            let key = (st.stx_dev_major, st.stx_dev_minor, st.stx_ino);
            if let Some(first) = self.links.get(&key) {
                rustix::fs::linkat(self.dst_root, first.as_path(), ddir, name, AtFlags::empty())
                    .with_context(|| {
                        format!("linking {} to {}", dpath(), self.dst_path(first).display())
                    })?;
                self.stats.links += 1;
                return Ok(());
            }
            self.links.insert(key, rel.to_path_buf());
        }
        match ft {
            FileType::Directory => {
                rustix::fs::mkdirat(ddir, name, Mode::from_raw_mode(0o700))
                    .with_context(|| format!("creating {}", dpath()))?;
                let d = rustix::fs::openat(
                    ddir,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .with_context(|| format!("opening {}", dpath()))?;
                let mount_root = st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
                    && st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT);
                let s = if mount_root && dev(&st) != root_dev {
                    log::info!(
                        "not descending into mount point {}",
                        self.src_path(rel).display()
                    );
                    None
                } else {
                    Some(
                        rustix::fs::openat(
                            sdir,
                            name,
                            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                            Mode::empty(),
                        )
                        .with_context(|| format!("opening {}", self.src_path(rel).display()))?,
                    )
                };
                if let Some(s) = &s {
                    self.dir_contents(s.as_fd(), d.as_fd(), rel, root_dev)?;
                }
                self.stats.dirs += 1;
                self.attrs(
                    Target::Fd(d.as_fd()),
                    rel,
                    &st,
                    s.as_ref().map(|f| f.as_fd()),
                )
            }
            FileType::RegularFile => self.file(sdir, ddir, name, rel, &st),
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(sdir, name, Vec::new())
                    .with_context(|| format!("reading link {}", self.src_path(rel).display()))?;
                rustix::fs::symlinkat(target.as_c_str(), ddir, name)
                    .with_context(|| format!("creating symlink {}", dpath()))?;
                self.stats.files += 1;
                self.attrs(Target::At(sdir, ddir, name), rel, &st, None)
            }
            FileType::CharacterDevice
            | FileType::BlockDevice
            | FileType::Fifo
            | FileType::Socket => {
                let rdev = rustix::fs::makedev(st.stx_rdev_major, st.stx_rdev_minor);
                rustix::fs::mknodat(ddir, name, ft, Mode::from_raw_mode(0o600), rdev)
                    .with_context(|| format!("creating {}", dpath()))?;
                self.stats.files += 1;
                self.attrs(Target::At(sdir, ddir, name), rel, &st, None)
            }
            FileType::Unknown => bail!("{}: unknown file type", self.src_path(rel).display()),
        }
    }

    fn file(
        &mut self,
        sdir: BorrowedFd<'_>,
        ddir: BorrowedFd<'_>,
        name: &CStr,
        rel: &Path,
        st: &Statx,
    ) -> Result<()> {
        let open_src = |extra: OFlags| {
            rustix::fs::openat(
                sdir,
                name,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | extra,
                Mode::empty(),
            )
        };
        // O_NOATIME keeps the origin's access times as they were; it is
        // refused (EPERM) for files we do not own without CAP_FOWNER.
        let s = match open_src(OFlags::NOATIME) {
            Err(Errno::PERM) => open_src(OFlags::empty()),
            r => r,
        }
        .with_context(|| format!("opening {}", self.src_path(rel).display()))?;
        let d = rustix::fs::openat(
            ddir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .with_context(|| format!("creating {}", self.dst_path(rel).display()))?;
        self.data(s.as_fd(), d.as_fd(), st).with_context(|| {
            format!(
                "copying {} to {}",
                self.src_path(rel).display(),
                self.dst_path(rel).display()
            )
        })?;
        self.stats.files += 1;
        self.stats.bytes += st.stx_size;
        self.attrs(Target::Fd(d.as_fd()), rel, st, Some(s.as_fd()))
    }

    fn data(&mut self, s: BorrowedFd<'_>, d: BorrowedFd<'_>, st: &Statx) -> Result<()> {
        let size = st.stx_size;
        if size == 0 {
            return Ok(());
        }
        if self.can_clone {
            match rustix::fs::ioctl_ficlone(d, s) {
                Ok(()) => {
                    self.stats.reflinked += 1;
                    return Ok(());
                }
                Err(e) if is_unsupported(e) => self.can_clone = false,
                Err(e) => return Err(e.into()),
            }
        }
        // A file with fewer allocated blocks than its size has holes: copy
        // only the data extents.
        let sparse = st.stx_blocks.saturating_mul(512) < size;
        let mut off = 0u64;
        while off < size {
            let (start, end) = if sparse {
                let start = match rustix::fs::seek(s, SeekFrom::Data(off)) {
                    Ok(p) => p,
                    Err(Errno::NXIO) => break, // only a hole is left
                    Err(e) => return Err(e.into()),
                };
                let end = rustix::fs::seek(s, SeekFrom::Hole(start))?;
                (start, end.min(size))
            } else {
                (0, size)
            };
            self.range(s, d, start, end)?;
            off = end;
        }
        // Holes at the end: give the copy its full length.
        rustix::fs::ftruncate(d, size)?;
        Ok(())
    }

    /// Copy bytes [start, end) at the same offsets.
    fn range(&mut self, s: BorrowedFd<'_>, d: BorrowedFd<'_>, start: u64, end: u64) -> Result<()> {
        let mut pos = start;
        while pos < end && self.can_cfr {
            let mut i = pos;
            let mut o = pos;
            let want = (end - pos).min(1 << 30) as usize;
            match rustix::fs::copy_file_range(s, Some(&mut i), d, Some(&mut o), want) {
                Ok(0) => break, // the file shrank under us
                Ok(n) => pos += n as u64,
                Err(e) if is_unsupported(e) => self.can_cfr = false,
                Err(e) => return Err(e.into()),
            }
            self.check_cancel()?;
        }
        if pos >= end {
            return Ok(());
        }
        if self.buf.is_empty() {
            self.buf = vec![0u8; 1 << 20];
        }
        while pos < end {
            let want = ((end - pos) as usize).min(self.buf.len());
            let n = rustix::io::pread(s, &mut self.buf[..want], pos)?;
            if n == 0 {
                break;
            }
            let mut w = 0;
            while w < n {
                w += rustix::io::pwrite(d, &self.buf[w..n], pos + w as u64)?;
            }
            pos += n as u64;
            self.check_cancel()?;
        }
        Ok(())
    }

    /// Owner, mode, xattrs and timestamps, in the order that keeps them all:
    /// chown first (it clears set-id bits and file capabilities), then the
    /// mode, then xattrs (ACLs, capabilities), times last.
    fn attrs(
        &self,
        t: Target<'_>,
        rel: &Path,
        st: &Statx,
        src: Option<BorrowedFd<'_>>,
    ) -> Result<()> {
        let dpath = || self.dst_path(rel).display().to_string();
        let uid = rustix::fs::Uid::from_raw(st.stx_uid);
        let gid = rustix::fs::Gid::from_raw(st.stx_gid);
        let mode = Mode::from_raw_mode((st.stx_mode & 0o7777) as u32);
        let times = Timestamps {
            last_access: ts(&st.stx_atime),
            last_modification: ts(&st.stx_mtime),
        };
        match t {
            Target::Fd(fd) => {
                rustix::fs::fchown(fd, Some(uid), Some(gid))
                    .with_context(|| format!("setting the owner of {}", dpath()))?;
                rustix::fs::fchmod(fd, mode)
                    .with_context(|| format!("setting the mode of {}", dpath()))?;
                if let Some(s) = src {
                    self.xattrs_fd(s, fd, rel)?;
                }
                rustix::fs::futimens(fd, &times)
                    .with_context(|| format!("setting the times of {}", dpath()))?;
            }
            Target::At(sdir, dir, name) => {
                rustix::fs::chownat(dir, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW)
                    .with_context(|| format!("setting the owner of {}", dpath()))?;
                let ft = FileType::from_raw_mode(st.stx_mode as u32);
                if ft != FileType::Symlink {
                    rustix::fs::chmodat(dir, name, mode, AtFlags::empty())
                        .with_context(|| format!("setting the mode of {}", dpath()))?;
                }
                self.xattrs_path(rel, sdir, dir, name)?;
                rustix::fs::utimensat(dir, name, &times, AtFlags::SYMLINK_NOFOLLOW)
                    .with_context(|| format!("setting the times of {}", dpath()))?;
            }
        }
        Ok(())
    }

    fn xattrs_fd(&self, s: BorrowedFd<'_>, d: BorrowedFd<'_>, rel: &Path) -> Result<()> {
        let names = list(|b| rustix::fs::flistxattr(s, b))
            .with_context(|| format!("listing xattrs of {}", self.src_path(rel).display()))?;
        for n in names.split(|&c| c == 0).filter(|n| !n.is_empty()) {
            let name = CString::new(n).expect("no NUL inside a split name");
            let v = list(|b| rustix::fs::fgetxattr(s, name.as_c_str(), b)).with_context(|| {
                format!(
                    "reading xattr {} of {}",
                    name.to_string_lossy(),
                    self.src_path(rel).display()
                )
            })?;
            rustix::fs::fsetxattr(d, name.as_c_str(), &v, XattrFlags::empty()).with_context(
                || {
                    format!(
                        "setting xattr {} on {}",
                        name.to_string_lossy(),
                        self.dst_path(rel).display()
                    )
                },
            )?;
        }
        Ok(())
    }

    /// xattrs of objects that are not opened (symlinks, nodes): by path
    /// through the parent directory's fd, never following the last
    /// component.
    fn xattrs_path(
        &self,
        rel: &Path,
        sdir: BorrowedFd<'_>,
        ddir: BorrowedFd<'_>,
        name: &CStr,
    ) -> Result<()> {
        let at = |dir: BorrowedFd<'_>| {
            let mut p = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
            p.push(OsStr::from_bytes(name.to_bytes()));
            p
        };
        let (src, dst) = (at(sdir), at(ddir));
        let names = list(|b| rustix::fs::llistxattr(&src, b))
            .with_context(|| format!("listing xattrs of {}", self.src_path(rel).display()))?;
        for n in names.split(|&c| c == 0).filter(|n| !n.is_empty()) {
            let xn = CString::new(n).expect("no NUL inside a split name");
            let v = list(|b| rustix::fs::lgetxattr(&src, xn.as_c_str(), b))
                .with_context(|| format!("reading xattrs of {}", self.src_path(rel).display()))?;
            rustix::fs::lsetxattr(&dst, xn.as_c_str(), &v, XattrFlags::empty()).with_context(
                || {
                    format!(
                        "setting xattr {} on {}",
                        xn.to_string_lossy(),
                        self.dst_path(rel).display()
                    )
                },
            )?;
        }
        Ok(())
    }
}

fn ts(t: &rustix::fs::StatxTimestamp) -> rustix::fs::Timespec {
    rustix::fs::Timespec {
        tv_sec: t.tv_sec,
        tv_nsec: t.tv_nsec as _,
    }
}

/// Call a list/get xattr function with a growing buffer.
fn list(mut f: impl FnMut(&mut [u8]) -> rustix::io::Result<usize>) -> rustix::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        match f(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(Errno::RANGE) => {
                let need = f(&mut [])?;
                buf.resize(need.max(buf.len() * 2), 0);
            }
            Err(Errno::NODATA) | Err(Errno::OPNOTSUPP) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
    }
}

/// An open directory fd (for callers that copy between detached mounts).
pub fn open_dir_fd(p: &Path) -> Result<OwnedFd> {
    rustix::fs::open(
        p,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", p.display()))
}
