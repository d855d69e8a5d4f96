//! Namespace helper for cgroup work: a private mount namespace for the
//! calling thread (used to mount a cgroup2 hierarchy over /sys/fs/cgroup
//! without touching the host's mounts, e.g. in tests of the pure v2 layout).

/// unshare(CLONE_NEWNS) for the calling thread. Threads of a process share
/// one mount namespace only until one of them unshares; afterwards this
/// thread (and the children it forks) sees its own copy.
pub fn unshare_mount_ns() -> rustix::io::Result<()> {
    super::mount::unshare_mount_ns()
        .map_err(|e| rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::INVAL))
}
