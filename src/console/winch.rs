//! SIGWINCH delivered through a self-pipe that a poll loop can watch.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use anyhow::{Context, Result};
use rustix::pipe::{pipe_with, PipeFlags};

/// Registered on creation, unregistered on drop. Several may coexist
/// (signal-hook chains them).
pub struct Winch {
    read: OwnedFd,
    id: signal_hook::SigId,
}

impl Winch {
    pub fn new() -> Result<Self> {
        let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)
            .context("creating SIGWINCH pipe")?;
        let id = signal_hook::low_level::pipe::register(signal_hook::consts::SIGWINCH, write)
            .context("installing SIGWINCH handler")?;
        Ok(Self { read, id })
    }

    /// Consume pending notifications (several resizes collapse into one).
    pub fn drain(&self) {
        let mut b = [0u8; 64];
        while matches!(rustix::io::read(&self.read, &mut b), Ok(n) if n > 0) {}
    }
}

impl AsFd for Winch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}

impl Drop for Winch {
    fn drop(&mut self) {
        signal_hook::low_level::unregister(self.id);
    }
}
