//! Writing and reading files safely. Every file lxcbox writes (configs,
//! snapshot metadata, leases, state records, files in a container's root)
//! goes through [`write_at`]: a temporary file in the same directory, then
//! a rename over the old name, so a reader (or a crash, or a full disk)
//! sees the old file or the new one, never half of one. Durable writes
//! are fsync'd (the file before the rename, the directory after it): a
//! rename that reaches the disk before the data would otherwise leave an
//! empty file after a power cut.
//!
//! Config files are read with [`read_capped`]: regular files only (never
//! a FIFO that blocks or a device that never ends), up to a size limit.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context, Result};
use rustix::fs::{AtFlags, Mode, OFlags};

/// How [`write_at`] writes a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opts {
    /// The file's mode, exactly (whatever the umask).
    pub mode: u32,
    /// uid and gid to give it (None: the writer's).
    pub owner: Option<(u32, u32)>,
    /// fsync the file before the rename and the directory after it.
    pub durable: bool,
}

impl Opts {
    /// Data that must survive a crash: configs, metadata, leases.
    pub const fn durable(mode: u32) -> Opts {
        Opts {
            mode,
            owner: None,
            durable: true,
        }
    }

    /// Records a reboot clears anyway (the run directory).
    pub const fn volatile(mode: u32) -> Opts {
        Opts {
            mode,
            owner: None,
            durable: false,
        }
    }

    pub const fn owned_by(self, uid: u32, gid: u32) -> Opts {
        Opts {
            owner: Some((uid, gid)),
            ..self
        }
    }
}

/// `.NAME.tmpPID-RANDOM`: hidden, unique, beside the target.
fn tmp_name(name: &OsStr) -> OsString {
    let r = crate::store::conftext::random_bytes(4);
    let mut t = OsString::from(".");
    t.push(name);
    t.push(format!(
        ".tmp{}-{:02x}{:02x}{:02x}{:02x}",
        std::process::id(),
        r[0],
        r[1],
        r[2],
        r[3]
    ));
    t
}

/// Write `data` as `name` in directory `dir` through a temporary file and
/// renameat(2). Nothing is followed: the temporary file is created with
/// O_EXCL|O_NOFOLLOW and the rename replaces a symlink at `name` rather
/// than writing through it, so this is also safe in an untrusted tree
/// (a container's rootfs opened by fd). On failure the temporary file is
/// removed and the old `name` is untouched.
pub fn write_at(dir: BorrowedFd<'_>, name: &OsStr, data: &[u8], o: Opts) -> std::io::Result<()> {
    let tmp = tmp_name(name);
    let fd = rustix::fs::openat(
        dir,
        tmp.as_os_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(o.mode & 0o777),
    )?;
    let r = (|| -> std::io::Result<()> {
        if let Some((uid, gid)) = o.owner {
            rustix::fs::fchown(
                &fd,
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            )?;
        }
        // After the chown, which clears set-id bits.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(o.mode))?;
        let mut f = std::fs::File::from(fd);
        f.write_all(data)?;
        if o.durable {
            f.sync_all()?;
        }
        drop(f);
        rustix::fs::renameat(dir, tmp.as_os_str(), dir, name)?;
        if o.durable {
            rustix::fs::fsync(dir)?;
        }
        Ok(())
    })();
    if r.is_err() {
        let _ = rustix::fs::unlinkat(dir, tmp.as_os_str(), AtFlags::empty());
    }
    r
}

/// [`write_at`] for a host path (its directory is trusted: it is opened
/// following symlinks; the file itself never is).
pub fn write_path(path: &Path, data: &[u8], o: Opts) -> Result<()> {
    let step = || format!("writing {}", path.display());
    let Some(name) = path.file_name() else {
        bail!("writing {}: not a file name", path.display());
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = rustix::fs::open(
        parent,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(std::io::Error::from)
    .with_context(step)?;
    write_at(dir.as_fd(), name, data, o).with_context(step)
}

/// Write `data` to `path` with `mode`, durably (temporary file, fsync,
/// rename, fsync of the directory).
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    write_path(path, data, Opts::durable(mode))
}

/// Like [`write_atomic`] without the fsyncs: for records in the run
/// directory, which a reboot clears.
pub fn write_volatile(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    write_path(path, data, Opts::volatile(mode))
}

/// Replace an existing file keeping its mode and owner (a new file gets
/// `mode` and the writer's ids), durably.
pub fn rewrite(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let o = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => {
            Opts::durable(m.permissions().mode() & 0o7777).owned_by(m.uid(), m.gid())
        }
        _ => Opts::durable(mode),
    };
    write_path(path, data, o)
}

/// Copy a small file (a hook script, an fstab) keeping its mode.
/// Open (creating, mode 0600, never through a symlink) a lock file that
/// LXC also locks: a shared file, locked and edited in place, where a
/// rename would lose the other side's lock.
pub fn open_lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

pub fn copy_small(from: &Path, to: &Path) -> Result<()> {
    let data = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    let mode = std::fs::metadata(from)
        .with_context(|| format!("inspecting {}", from.display()))?
        .permissions()
        .mode()
        & 0o7777;
    if to.exists() {
        anyhow::bail!("copy destination {} exists", to.display());
    }
    write_atomic(to, &data, mode)
}

/// The most a config file may hold. LXC reads any size; the biggest real
/// configs are a few KiB, and 16 MiB of lxc.environment lines is far past
/// anything useful, while /dev/zero or a runaway generator would otherwise
/// be read until the memory cgroup kills us.
pub const CONFIG_MAX: u64 = 16 << 20;

/// Read a config file: a regular file (a FIFO would block forever, a
/// device may never end; /dev/null reads as empty), at most `limit` bytes. The file is opened
/// O_NONBLOCK so that opening a FIFO returns at once, and checked with
/// fstat on the opened fd (no race with a rename).
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let step = || format!("reading {}", path.display());
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(std::io::Error::from)
    .with_context(step)?;
    let st = rustix::fs::fstat(&fd)
        .map_err(std::io::Error::from)
        .with_context(step)?;
    let ft = rustix::fs::FileType::from_raw_mode(st.st_mode);
    // /dev/null is the usual way to say "an empty configuration"
    // (`lxc-execute -f /dev/null`): it ends at once, so it is let through.
    if ft == rustix::fs::FileType::CharacterDevice && st.st_rdev == rustix::fs::makedev(1, 3) {
        return Ok(Vec::new());
    }
    if ft != rustix::fs::FileType::RegularFile {
        bail!(
            "{}: not a regular file ({}): a configuration must be a file",
            path.display(),
            file_type_name(ft)
        );
    }
    if st.st_size as u64 > limit {
        bail!(
            "{}: {} bytes, more than the {} bytes a configuration may have",
            path.display(),
            st.st_size,
            limit
        );
    }
    let mut out = Vec::with_capacity(st.st_size as usize);
    // The size can change under us (a file being appended to): never
    // read more than the limit whatever it says now.
    std::fs::File::from(fd)
        .take(limit + 1)
        .read_to_end(&mut out)
        .with_context(step)?;
    if out.len() as u64 > limit {
        bail!(
            "{}: more than the {limit} bytes a configuration may have",
            path.display()
        );
    }
    Ok(out)
}

fn file_type_name(ft: rustix::fs::FileType) -> &'static str {
    use rustix::fs::FileType as T;
    match ft {
        T::Directory => "a directory",
        T::Fifo => "a FIFO",
        T::CharacterDevice => "a character device",
        T::BlockDevice => "a block device",
        T::Socket => "a socket",
        T::Symlink => "a symbolic link",
        _ => "not a regular file",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("lxcbox-fsutil-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn replaces_and_leaves_no_temporary() {
        let d = tmpdir("replace");
        let p = d.join("config");
        std::fs::write(&p, "old").unwrap();
        write_atomic(&p, b"new", 0o640).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        let names: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_symlink_is_replaced_not_followed() {
        let d = tmpdir("symlink");
        let victim = d.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let p = d.join("config");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        write_volatile(&p, b"x", 0o600).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert!(std::fs::symlink_metadata(&p).unwrap().file_type().is_file());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn rewrite_keeps_mode_and_owner() {
        let d = tmpdir("rewrite");
        let p = d.join("config");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o604)).unwrap();
        std::os::unix::fs::chown(&p, Some(1234), Some(4321)).unwrap();
        rewrite(&p, b"new", 0o600).unwrap();
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!(
            (m.permissions().mode() & 0o7777, m.uid(), m.gid()),
            (0o604, 1234, 4321)
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn read_capped_refuses_what_is_not_a_file() {
        let e = read_capped(Path::new("/dev/zero"), CONFIG_MAX).unwrap_err();
        assert!(format!("{e:#}").contains("a character device"), "{e:#}");
        let d = tmpdir("fifo");
        let f = d.join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &f,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = read_capped(&f, CONFIG_MAX).unwrap_err();
        assert!(format!("{e:#}").contains("a FIFO"), "{e:#}");
        assert!(read_capped(Path::new("/dev/null"), CONFIG_MAX)
            .unwrap()
            .is_empty());
        let big = d.join("big");
        std::fs::write(&big, vec![b'#'; 100]).unwrap();
        assert!(read_capped(&big, 99).is_err());
        assert_eq!(read_capped(&big, 100).unwrap().len(), 100);
        let _ = std::fs::remove_dir_all(&d);
    }
}
