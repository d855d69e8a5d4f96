//! Namespace calls for the network code that rustix only offers as `unsafe`.

use rustix::thread::{unshare_unsafe, UnshareFlags};

/// Moves the calling thread into a new, empty network namespace.
///
/// Tests park such threads as stand-ins for containers; the runtime uses it
/// for `lxc-unshare`-like helpers. Only the calling thread is affected.
pub fn unshare_netns() -> std::io::Result<()> {
    // SAFETY: unshare_unsafe is unsafe only because of CLONE_FILES (threads
    // could observe fds from a different table); CLONE_NEWNET touches no fd
    // table, only this thread's network namespace.
    unsafe { unshare_unsafe(UnshareFlags::NEWNET) }.map_err(Into::into)
}

/// Asks the kernel for extended acks (NETLINK_EXT_ACK) on a netlink socket,
/// so that errors carry its message ("Nexthop device is not up", ...), and
/// for capped acks (NETLINK_CAP_ACK: the failed request is not echoed).
/// rustix has no wrapper for these netlink-level options.
pub fn netlink_ext_ack(fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    const SOL_NETLINK: libc::c_int = 270;
    const NETLINK_CAP_ACK: libc::c_int = 10;
    const NETLINK_EXT_ACK: libc::c_int = 11;
    for opt in [NETLINK_CAP_ACK, NETLINK_EXT_ACK] {
        let one: libc::c_int = 1;
        // SAFETY: `fd` is a valid open socket for the duration of the call
        // (borrowed), and the option value points to a live c_int whose size
        // is passed along; the kernel only reads it.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                SOL_NETLINK,
                opt,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Binds a socket to one network device (SO_BINDTODEVICE): it then only
/// receives what arrives there and sends there, which lets one DHCP server
/// per bridge share port 67. rustix has no wrapper for it.
pub fn bind_to_device(fd: std::os::fd::BorrowedFd<'_>, ifname: &str) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let name = std::ffi::CString::new(ifname)
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let bytes = name.as_bytes_with_nul();
    // SAFETY: `fd` is a valid open socket (borrowed for the call); the
    // option value points to `bytes`, a live NUL-terminated buffer whose
    // exact length is passed; the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            bytes.as_ptr().cast(),
            bytes.len() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
