//! lxc-attach's system calls that rustix lacks.

use std::io;

/// Block `signals` in this thread (added to the current mask), so they
/// queue for a signalfd instead of running their default action.
pub fn block_signals(signals: &[i32]) -> io::Result<()> {
    // SAFETY: sigset_t is a plain bit array; sigemptyset/sigaddset write
    // only into our local set, pthread_sigmask only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
    }
    Ok(())
}
