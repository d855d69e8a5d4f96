//! Namespace helpers the mount layer and its tests need.

use rustix::thread::UnshareFlags;

/// Move the calling thread into a new mount namespace (a private copy of
/// the current mount table).
pub fn unshare_mount_ns() -> std::io::Result<()> {
    // SAFETY: unshare_unsafe is unsafe only because CLONE_FILES could make
    // fds of other threads invalid; CLONE_NEWNS (which implies CLONE_FS,
    // i.e. cwd/root/umask) leaves the fd table shared and untouched.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }.map_err(Into::into)
}

/// Put the calling process's future children into a new PID namespace.
pub fn unshare_pid_ns() -> std::io::Result<()> {
    // SAFETY: CLONE_NEWPID only changes the PID namespace of children
    // created later; no memory or fd of this process is affected.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWPID) }.map_err(Into::into)
}
