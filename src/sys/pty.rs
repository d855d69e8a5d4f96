//! Terminal restoration from signal handlers (used by console::RawGuard).

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use rustix::termios::{tcsetattr, OptionalActions, Termios};
use signal_hook::low_level::{emulate_default_handler, register, unregister};
pub use signal_hook::SigId;

/// Fatal signals after which a raw terminal must be put back: the user's
/// shell would otherwise be left without echo or line editing.
pub const FATAL_SIGNALS: &[i32] = &[
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGQUIT,
];

/// On each of [`FATAL_SIGNALS`], write `saved` back to `fd` and then die of
/// the signal as if no handler had been installed (so the parent shell sees
/// "killed by SIGTERM", not an exit code). `fd` must stay open until the
/// returned ids are passed to [`unhook`]; RawGuard owns a dup for this.
pub fn restore_on_fatal_signals(fd: &OwnedFd, saved: &Termios) -> std::io::Result<Vec<SigId>> {
    let raw = fd.as_raw_fd();
    let mut ids = Vec::with_capacity(FATAL_SIGNALS.len());
    for &sig in FATAL_SIGNALS {
        let t = saved.clone();
        // SAFETY: the action only does async-signal-safe things: one TCSETS
        // ioctl on an fd the caller keeps open until `unhook` (the handler is
        // unregistered before the fd is closed), and emulate_default_handler,
        // which signal-hook documents as async-signal-safe. It allocates
        // nothing and takes no locks; `t` was cloned beforehand.
        let id = unsafe {
            register(sig, move || {
                // SAFETY: `raw` is open for as long as this handler is registered (see above).
                let fd = BorrowedFd::borrow_raw(raw);
                let _ = tcsetattr(fd, OptionalActions::Now, &t);
                let _ = emulate_default_handler(sig);
            })
        };
        match id {
            Ok(id) => ids.push(id),
            Err(e) => {
                unhook(ids);
                return Err(e);
            }
        }
    }
    Ok(ids)
}

/// Remove handlers installed by [`restore_on_fatal_signals`].
pub fn unhook(ids: Vec<SigId>) {
    for id in ids {
        unregister(id);
    }
}
