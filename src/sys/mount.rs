//! Namespace helpers the mount layer and its tests need.

use std::sync::atomic::{AtomicU64, Ordering};

use rustix::thread::UnshareFlags;

/// Move the calling thread into a new mount namespace (a private copy of
/// the current mount table).
pub fn unshare_mount_ns() -> std::io::Result<()> {
    // SAFETY: unshare_unsafe is unsafe only because CLONE_FILES could make
    // fds of other threads invalid; CLONE_NEWNS (which implies CLONE_FS,
    // i.e. cwd/root/umask) leaves the fd table shared and untouched.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }?;
    note_own_mount_ns();
    Ok(())
}

/// The inode of the mount namespace lxcbox made this process (or an
/// ancestor it was forked from) enter; 0 for none.
static OWN_MNT_NS: AtomicU64 = AtomicU64::new(0);

// The cast is for 32-bit ABIs, where the field type differs.
#[allow(clippy::unnecessary_cast)]
fn mount_ns_ino() -> Option<u64> {
    rustix::fs::stat("/proc/self/ns/mnt")
        .ok()
        .map(|s| s.st_ino as u64)
}

/// Record that the current mount namespace is one lxcbox made (unshare or
/// clone with CLONE_NEWNS): mounts made here are seen by no one else.
pub fn note_own_mount_ns() {
    if let Some(i) = mount_ns_ino() {
        OWN_MNT_NS.store(i, Ordering::Relaxed);
    }
}

/// Is this process in a mount namespace lxcbox made for it (and still
/// there: a setns elsewhere since makes this false)?
pub fn in_own_mount_ns() -> bool {
    let own = OWN_MNT_NS.load(Ordering::Relaxed);
    own != 0 && mount_ns_ino() == Some(own)
}

/// Put the calling process's future children into a new PID namespace.
pub fn unshare_pid_ns() -> std::io::Result<()> {
    // SAFETY: CLONE_NEWPID only changes the PID namespace of children
    // created later; no memory or fd of this process is affected.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWPID) }.map_err(Into::into)
}

/// struct mount_attr of <linux/mount.h> (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) (Linux 5.12; rustix has its flags but not the call):
/// make the detached tree `tree`, and every mount below it, an idmapped
/// mount with the id mapping of user namespace `userns`.
pub fn set_idmap_recursive(
    tree: std::os::fd::BorrowedFd<'_>,
    userns: std::os::fd::BorrowedFd<'_>,
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    const SYS_MOUNT_SETATTR: libc::c_long = 442; // one number on every architecture
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    // SAFETY: the path is a NUL-terminated empty string (AT_EMPTY_PATH acts
    // on `tree` itself), `attr` is a live mount_attr and the size passed is
    // its size; the kernel only reads both.
    let r = unsafe {
        libc::syscall(
            SYS_MOUNT_SETATTR,
            tree.as_raw_fd(),
            c"".as_ptr(),
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}
