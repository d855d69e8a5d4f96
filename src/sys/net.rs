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
