//! The rootfs's /etc/hostname after a clone or rename: LXC writes the new
//! name (without a newline) when the file exists. The rootfs is not
//! trusted: the file is reached beneath it without following symlinks and
//! replaced through a temporary file.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{Context, Result};
use rustix::fs::{Mode, OFlags};

pub fn set_hostname(root: &Path, name: &str) -> Result<()> {
    let fd = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", root.display()))?;
    set_hostname_in(fd.as_fd(), root, name)
}

/// Write NAME (no newline, as LXC) to ROOT/etc/hostname when that file
/// exists, never following a symlink inside the rootfs.
pub fn set_hostname_in(root: std::os::fd::BorrowedFd<'_>, shown: &Path, name: &str) -> Result<()> {
    let etc = match crate::sys::resolve::open_beneath(
        root,
        Path::new("etc"),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(f) => f,
        Err(_) => return Ok(()),
    };
    let Ok(st) = rustix::fs::statat(&etc, "hostname", rustix::fs::AtFlags::SYMLINK_NOFOLLOW) else {
        return Ok(());
    };
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        log::warn!(
            "{}/etc/hostname is not a regular file: not updated",
            shown.display()
        );
        return Ok(());
    }
    let o = crate::fsutil::Opts::durable(st.st_mode & 0o7777).owned_by(st.st_uid, st.st_gid);
    let r = crate::fsutil::write_at(etc.as_fd(), "hostname".as_ref(), name.as_bytes(), o);
    r.with_context(|| format!("writing {}/etc/hostname", shown.display()))
}
