//! Namespace helper for cgroup work: a private mount namespace for the
//! calling thread (used to mount a cgroup2 hierarchy over /sys/fs/cgroup
//! without touching the host's mounts, e.g. in tests of the pure v2 layout).

use rustix::io;
use rustix::thread::UnshareFlags;

/// unshare(CLONE_NEWNS) for the calling thread. Threads of a process share
/// one mount namespace only until one of them unshares; afterwards this
/// thread (and the children it forks) sees its own copy.
pub fn unshare_mount_ns() -> io::Result<()> {
    // SAFETY: rustix marks unshare unsafe because of CLONE_FILES (other
    // threads could observe fds from a table this thread no longer uses).
    // CLONE_NEWNS (which implies CLONE_FS) leaves the fd table shared.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
}
