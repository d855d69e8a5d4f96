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
