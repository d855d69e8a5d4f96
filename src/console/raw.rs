//! Raw mode for the user's terminal, undone on every way out.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use anyhow::{Context, Result};
use rustix::termios::{tcgetattr, tcsetattr, OptionalActions, Termios};

use crate::sys::pty::{restore_on_fatal_signals, SignalRestore};

/// Puts a terminal into raw mode and restores the previous settings when
/// dropped, and also when the process is killed by SIGINT, SIGTERM, SIGHUP or
/// SIGQUIT (restore, then die of the same signal). A panic unwinds through
/// Drop; with panic=abort the signal path does not run, so code holding a
/// guard must not panic (the project forbids panics on input anyway).
pub struct RawGuard {
    fd: OwnedFd,
    saved: Termios,
    hooks: Option<SignalRestore>,
}

impl RawGuard {
    /// Switch `fd` (a terminal) to raw mode. Fails if it is not a terminal.
    pub fn new(fd: BorrowedFd<'_>) -> Result<Self> {
        Self::with_signals(fd, true)
    }

    /// As [`RawGuard::new`]; `signals = false` skips the signal handlers, for
    /// callers that handle those signals themselves (e.g. a monitor that
    /// forwards SIGTERM to the container) and restore via Drop.
    pub fn with_signals(fd: BorrowedFd<'_>, signals: bool) -> Result<Self> {
        // Own a dup: the signal handler needs an fd that is certainly open.
        let fd = fd.try_clone_to_owned().context("duplicating terminal fd")?;
        let saved = tcgetattr(&fd).context("reading terminal attributes")?;
        let hooks = if signals {
            Some(restore_on_fatal_signals(&fd, &saved).context("installing signal handlers")?)
        } else {
            None
        };
        let mut raw = saved.clone();
        raw.make_raw();
        // TCSAFLUSH (Drain+flush input) like LXC: typed-ahead cooked input is
        // dropped rather than delivered raw.
        if let Err(e) = tcsetattr(&fd, OptionalActions::Flush, &raw) {
            drop(hooks);
            return Err(e).context("setting terminal to raw mode");
        }
        Ok(Self { fd, saved, hooks })
    }

    /// The settings that will be restored.
    pub fn saved(&self) -> &Termios {
        &self.saved
    }
}

impl AsFd for RawGuard {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for RawGuard {
    fn drop(&mut self) {
        // Unhook first: afterwards the fd may be closed.
        self.hooks = None;
        let _ = tcsetattr(&self.fd, OptionalActions::Now, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::PtyPair;
    use rustix::termios::LocalModes;

    #[test]
    fn raw_then_restored_on_drop() {
        let p = PtyPair::open(None).unwrap();
        let before = tcgetattr(&p.slave).unwrap();
        assert!(before
            .local_modes
            .contains(LocalModes::ECHO | LocalModes::ICANON));
        {
            let _g = RawGuard::with_signals(p.slave.as_fd(), false).unwrap();
            let during = tcgetattr(&p.slave).unwrap();
            assert!(!during
                .local_modes
                .intersects(LocalModes::ECHO | LocalModes::ICANON));
        }
        let after = tcgetattr(&p.slave).unwrap();
        assert_eq!(after.local_modes, before.local_modes);
        assert_eq!(after.input_modes, before.input_modes);
    }

    #[test]
    fn not_a_terminal_is_an_error() {
        let (r, _w) = rustix::pipe::pipe().unwrap();
        assert!(RawGuard::with_signals(r.as_fd(), false).is_err());
    }
}
