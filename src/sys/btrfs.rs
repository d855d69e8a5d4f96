//! btrfs ioctls: subvolume create, snapshot, destroy, and the filesystem id.
//!
//! The btrfs-progs tools are never run: these are the same ioctls they use
//! (linux/btrfs.h), on an fd of the parent directory.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

const MAGIC: u64 = 0x94;
/// Room for a subvolume name in btrfs_ioctl_vol_args (4096 - 8).
const PATH_NAME_MAX: usize = 4087;
/// BTRFS_SUBVOL_NAME_MAX
const SUBVOL_NAME_MAX: usize = 4039;

/// struct btrfs_ioctl_vol_args
#[repr(C)]
struct VolArgs {
    fd: i64,
    name: [u8; PATH_NAME_MAX + 1],
}

/// struct btrfs_ioctl_vol_args_v2 (the size/qgroup union is unused here)
#[repr(C)]
struct VolArgsV2 {
    fd: i64,
    transid: u64,
    flags: u64,
    unused: [u64; 4],
    name: [u8; SUBVOL_NAME_MAX + 1],
}

const fn iow(nr: u64, size: usize) -> u64 {
    (1 << 30) | ((size as u64) << 16) | (MAGIC << 8) | nr
}
const fn ior(nr: u64, size: usize) -> u64 {
    (2 << 30) | ((size as u64) << 16) | (MAGIC << 8) | nr
}

const SUBVOL_CREATE: u64 = iow(14, std::mem::size_of::<VolArgs>());
const SNAP_DESTROY: u64 = iow(15, std::mem::size_of::<VolArgs>());
const SNAP_CREATE_V2: u64 = iow(23, std::mem::size_of::<VolArgsV2>());
/// struct btrfs_ioctl_fs_info_args is 1024 bytes; the fsid sits at offset 16.
const FS_INFO_SIZE: usize = 1024;
const FS_INFO: u64 = ior(31, FS_INFO_SIZE);

fn name_into(dst: &mut [u8], name: &[u8]) -> io::Result<()> {
    if name.is_empty() || name.len() >= dst.len() || name.contains(&0) || name.contains(&b'/') {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    dst[..name.len()].copy_from_slice(name);
    Ok(())
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Create subvolume `name` in the directory `parent`.
pub fn subvol_create(parent: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let mut a = Box::new(VolArgs {
        fd: 0,
        name: [0; PATH_NAME_MAX + 1],
    });
    name_into(&mut a.name, name)?;
    // SAFETY: SUBVOL_CREATE reads a btrfs_ioctl_vol_args; `a` is one, fully
    // initialised, NUL-terminated name, and lives across the call.
    check(unsafe { libc::ioctl(parent.as_raw_fd(), SUBVOL_CREATE as _, &mut *a) })
}

/// Snapshot the subvolume open at `source` as `name` in `parent`.
pub fn snapshot(source: BorrowedFd<'_>, parent: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let mut a = Box::new(VolArgsV2 {
        fd: source.as_raw_fd() as i64,
        transid: 0,
        flags: 0,
        unused: [0; 4],
        name: [0; SUBVOL_NAME_MAX + 1],
    });
    name_into(&mut a.name, name)?;
    // SAFETY: SNAP_CREATE_V2 reads a btrfs_ioctl_vol_args_v2; `a` is one,
    // zeroed except for the source fd (open for the call) and the name.
    check(unsafe { libc::ioctl(parent.as_raw_fd(), SNAP_CREATE_V2 as _, &mut *a) })
}

/// Delete subvolume `name` in `parent` (it must hold no nested subvolumes:
/// ENOTEMPTY otherwise).
pub fn subvol_destroy(parent: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let mut a = Box::new(VolArgs {
        fd: 0,
        name: [0; PATH_NAME_MAX + 1],
    });
    name_into(&mut a.name, name)?;
    // SAFETY: as for subvol_create: a valid, initialised vol_args.
    check(unsafe { libc::ioctl(parent.as_raw_fd(), SNAP_DESTROY as _, &mut *a) })
}

/// The filesystem's UUID (BTRFS_IOC_FS_INFO), the same for every
/// subvolume of one filesystem (unlike st_dev and statfs's f_fsid).
pub fn fsid(fd: BorrowedFd<'_>) -> io::Result<[u8; 16]> {
    let mut buf = vec![0u8; FS_INFO_SIZE];
    // SAFETY: FS_INFO writes exactly FS_INFO_SIZE bytes (the size is
    // encoded in the request number) into the buffer we own.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), FS_INFO as _, buf.as_mut_ptr()) })?;
    let mut id = [0u8; 16];
    id.copy_from_slice(&buf[16..32]);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_linux_btrfs_h() {
        assert_eq!(std::mem::size_of::<VolArgs>(), 4096);
        assert_eq!(std::mem::size_of::<VolArgsV2>(), 4096);
        assert_eq!(SUBVOL_CREATE, 0x5000_940e);
        assert_eq!(SNAP_DESTROY, 0x5000_940f);
        assert_eq!(SNAP_CREATE_V2, 0x5000_9417);
        assert_eq!(FS_INFO, 0x8400_941f);
    }
}
