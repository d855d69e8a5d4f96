//! Loop devices through /dev/loop-control and the LOOP_* ioctls
//! (linux/loop.h), without losetup.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};

const LOOP_SET_FD: libc::c_ulong = 0x4C00;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LOOP_SET_STATUS64: libc::c_ulong = 0x4C04;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;

const LO_FLAGS_READ_ONLY: u32 = 1;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// struct loop_info64
#[repr(C)]
#[derive(Clone, Copy)]
struct LoopInfo64 {
    device: u64,
    inode: u64,
    rdevice: u64,
    offset: u64,
    sizelimit: u64,
    number: u32,
    encrypt_type: u32,
    encrypt_key_size: u32,
    flags: u32,
    file_name: [u8; 64],
    crypt_name: [u8; 64],
    encrypt_key: [u8; 32],
    init: [u64; 2],
}

/// struct loop_config (LOOP_CONFIGURE, Linux 5.8+)
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

/// An attached loop device. With autoclear set, the kernel detaches it
/// when the last user goes away: this fd, then any mount of it.
pub struct LoopDevice {
    pub fd: OwnedFd,
    pub path: PathBuf,
}

fn ioctl_arg(fd: BorrowedFd<'_>, req: libc::c_ulong, arg: libc::c_ulong) -> io::Result<i32> {
    // SAFETY: the requests used with this helper (LOOP_CTL_GET_FREE,
    // LOOP_SET_FD, LOOP_CLR_FD) take an integer argument, not a pointer.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req as _, arg) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn info(read_only: bool, name: &[u8]) -> LoopInfo64 {
    let mut file_name = [0u8; 64];
    let n = name.len().min(63);
    file_name[..n].copy_from_slice(&name[..n]);
    LoopInfo64 {
        device: 0,
        inode: 0,
        rdevice: 0,
        offset: 0,
        sizelimit: 0,
        number: 0,
        encrypt_type: 0,
        encrypt_key_size: 0,
        flags: LO_FLAGS_AUTOCLEAR | if read_only { LO_FLAGS_READ_ONLY } else { 0 },
        file_name,
        crypt_name: [0; 64],
        encrypt_key: [0; 32],
        init: [0; 2],
    }
}

/// Bind `backing` (an open image file) to a free loop device, with
/// autoclear. `name` is recorded as the device's backing file name.
pub fn attach(backing: BorrowedFd<'_>, read_only: bool, name: &[u8]) -> io::Result<LoopDevice> {
    let ctl = rustix::fs::open(
        "/dev/loop-control",
        OFlags::RDWR | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let access = if read_only {
        OFlags::RDONLY
    } else {
        OFlags::RDWR
    };
    // Another process may take the free device between GET_FREE and our
    // configure (EBUSY): ask again.
    let mut last = io::Error::from_raw_os_error(libc::EBUSY);
    for _ in 0..16 {
        let n = ioctl_arg(ctl.as_fd(), LOOP_CTL_GET_FREE, 0)?;
        let path = PathBuf::from(format!("/dev/loop{n}"));
        let fd = rustix::fs::open(&path, access | OFlags::CLOEXEC, Mode::empty())?;
        let cfg = LoopConfig {
            fd: backing.as_raw_fd() as u32,
            block_size: 0,
            info: info(read_only, name),
            reserved: [0; 8],
        };
        // SAFETY: LOOP_CONFIGURE reads a struct loop_config, which `cfg` is,
        // fully initialised; the backing fd stays open across the call.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), LOOP_CONFIGURE as _, &cfg) };
        if r == 0 {
            return Ok(LoopDevice { fd, path });
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EBUSY) => last = e,
            // Kernels before 5.8: the two-step LOOP_SET_FD + SET_STATUS64.
            Some(libc::EINVAL) | Some(libc::ENOTTY) => {
                match ioctl_arg(fd.as_fd(), LOOP_SET_FD, backing.as_raw_fd() as _) {
                    Ok(_) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        last = e;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
                let i = info(read_only, name);
                // SAFETY: LOOP_SET_STATUS64 reads a struct loop_info64.
                let r = unsafe { libc::ioctl(fd.as_raw_fd(), LOOP_SET_STATUS64 as _, &i) };
                if r < 0 {
                    let e = io::Error::last_os_error();
                    let _ = ioctl_arg(fd.as_fd(), LOOP_CLR_FD, 0);
                    return Err(e);
                }
                return Ok(LoopDevice { fd, path });
            }
            _ => return Err(e),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_sizes_match_linux_loop_h() {
        assert_eq!(std::mem::size_of::<LoopInfo64>(), 232);
        assert_eq!(std::mem::size_of::<LoopConfig>(), 304);
    }
}
