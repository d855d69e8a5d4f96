//! Terminal restoration from signal handlers (used by console::RawGuard).
//!
//! Not signal-hook's registry: it cannot uninstall its handler (after the
//! last action is removed the signal is silently ignored — documented in
//! signal_hook_registry::unregister), so a monitor that dropped its RawGuard
//! would afterwards ignore SIGTERM. Plain sigaction lets us put back exactly
//! the disposition we found.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use rustix::termios::{tcsetattr, OptionalActions, Termios};

/// Fatal signals after which a raw terminal must be put back: the user's
/// shell would otherwise be left without echo or line editing.
pub const FATAL_SIGNALS: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

struct Saved {
    fd: RawFd,
    termios: Termios,
}

/// The terminal the handler restores. Boxes put here are never freed: a
/// handler on another thread may still be reading one after the guard that
/// made it is gone (about 70 bytes per guard, a handful per process).
static ACTIVE: AtomicPtr<Saved> = AtomicPtr::new(ptr::null_mut());

extern "C" fn on_fatal(sig: libc::c_int) {
    let p = ACTIVE.load(Ordering::SeqCst);
    if !p.is_null() {
        // SAFETY: non-null pointers in ACTIVE come from Box::into_raw and are
        // never freed, so `p` is valid for reads.
        let s = unsafe { &*p };
        // SAFETY: the fd belongs to a live RawGuard (it is unregistered
        // before the guard closes it); if a racing drop closed it, the ioctl
        // just fails with EBADF or hits a non-tty (ENOTTY).
        let fd = unsafe { BorrowedFd::borrow_raw(s.fd) };
        // TCSETS is a plain ioctl: async-signal-safe.
        let _ = tcsetattr(fd, OptionalActions::Now, &s.termios);
    }
    // Reset to SIG_DFL, unblock and re-raise: the process dies of `sig`, so
    // the parent shell sees "killed by SIGTERM". Async-signal-safe per
    // signal-hook's documentation.
    let _ = signal_hook::low_level::emulate_default_handler(sig);
}

/// While alive, [`FATAL_SIGNALS`] restore the saved termios and kill the
/// process; dropping it puts back the previous dispositions.
pub struct SignalRestore {
    prev: Vec<(i32, libc::sigaction)>,
    /// What ACTIVE held before (an AtomicPtr only to keep the guard Send;
    /// it is never dereferenced here).
    prev_active: AtomicPtr<Saved>,
}

/// Install the handlers for `fd` (kept open by the caller until the returned
/// value is dropped) and `saved`.
pub fn restore_on_fatal_signals(fd: &OwnedFd, saved: &Termios) -> std::io::Result<SignalRestore> {
    let mine = Box::into_raw(Box::new(Saved {
        fd: fd.as_raw_fd(),
        termios: saved.clone(),
    }));
    let mut guard = SignalRestore {
        prev: Vec::with_capacity(FATAL_SIGNALS.len()),
        prev_active: AtomicPtr::new(ACTIVE.swap(mine, Ordering::SeqCst)),
    };
    for sig in FATAL_SIGNALS {
        // SAFETY: an all-zero sigaction is a valid value (empty mask, no
        // flags); the fields we need are set below.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_fatal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        // SAFETY: as above, zeroed is a valid sigaction to be overwritten.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are to valid, initialised sigaction values;
        // the handler only does async-signal-safe work (see on_fatal).
        let rc = unsafe {
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, &mut old)
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error()); // guard's Drop rolls back
        }
        guard.prev.push((sig, old));
    }
    Ok(guard)
}

impl Drop for SignalRestore {
    fn drop(&mut self) {
        for (sig, old) in self.prev.drain(..).rev() {
            // SAFETY: `old` is the disposition sigaction returned for `sig`.
            unsafe {
                libc::sigaction(sig, &old, ptr::null_mut());
            }
        }
        ACTIVE.store(self.prev_active.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler_of(sig: i32) -> usize {
        // SAFETY: querying only (null new action), into a valid zeroed value.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, ptr::null(), &mut old);
            old.sa_sigaction
        }
    }

    #[test]
    fn installs_and_puts_back_dispositions() {
        // SIGQUIT: nothing else in the test process touches it.
        let before = handler_of(libc::SIGQUIT);
        let (r, _w) = rustix::pipe::pipe().unwrap();
        let t = crate::console::PtyPair::open(None).unwrap();
        let termios = rustix::termios::tcgetattr(&t.slave).unwrap();
        let g = restore_on_fatal_signals(&r, &termios).unwrap();
        assert_eq!(
            handler_of(libc::SIGQUIT),
            on_fatal as extern "C" fn(libc::c_int) as usize
        );
        drop(g);
        assert_eq!(handler_of(libc::SIGQUIT), before);
    }
}
