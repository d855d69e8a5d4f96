//! A bounded byte queue between a source and a non-blocking sink. When the
//! queue is full the caller stops polling the source, which pushes back on
//! the producer instead of losing bytes or growing without bound.

use std::os::fd::AsFd;

use rustix::io::Errno;

/// Queue size per direction: big enough that a 100 MB stream moves in large
/// writes, small enough for the monitor's memory budget.
pub const QUEUE_CAP: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct Queue {
    buf: Vec<u8>,
    start: usize,
}

impl Queue {
    pub fn pending(&self) -> bool {
        self.start < self.buf.len()
    }

    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Room left before the source should stop being polled.
    pub fn has_room(&self) -> bool {
        self.len() < QUEUE_CAP
    }

    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Write as much as the sink takes now. `Ok(())` also when it would
    /// block; errors are real (EPIPE, EIO: the sink is gone).
    pub fn flush(&mut self, sink: impl AsFd) -> rustix::io::Result<()> {
        while self.pending() {
            match rustix::io::write(&sink, &self.buf[self.start..]) {
                Ok(n) => self.start += n,
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => break,
                Err(e) => return Err(e),
            }
        }
        if !self.pending() {
            // Drop the allocation when idle: the monitor may sit for days.
            self.buf = Vec::new();
            self.start = 0;
        } else if self.start > QUEUE_CAP {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(())
    }
}

/// Read once from `src` into `buf`: `Ok(None)` when it would block,
/// `Ok(Some(0))` at end of file. A pty master whose slave is closed reports
/// EIO instead of EOF (a Linux quirk); that is mapped to end of file too.
pub fn read_some(src: impl AsFd, buf: &mut [u8]) -> rustix::io::Result<Option<usize>> {
    loop {
        match rustix::io::read(&src, &mut *buf) {
            Ok(n) => return Ok(Some(n)),
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => return Ok(None),
            Err(Errno::IO) => return Ok(Some(0)),
            Err(e) => return Err(e),
        }
    }
}

/// Write all of `data` to a (possibly non-blocking) fd, waiting with poll
/// when it is full. Used for the user's stdout, whose file description we
/// must not switch to non-blocking (the user's shell shares it).
pub fn write_all(fd: impl AsFd, mut data: &[u8]) -> rustix::io::Result<()> {
    use rustix::event::{poll, PollFd, PollFlags};
    while !data.is_empty() {
        match rustix::io::write(&fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                let mut p = [PollFd::new(&fd, PollFlags::OUT)];
                match poll(&mut p, None) {
                    Ok(_) | Err(Errno::INTR) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Make `fd` non-blocking (only for fds whose file description is ours).
pub fn set_nonblocking(fd: impl AsFd) -> rustix::io::Result<()> {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    let fl = fcntl_getfl(&fd)?;
    fcntl_setfl(&fd, fl | OFlags::NONBLOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_backpressure_and_flush() {
        let (r, w) = rustix::pipe::pipe().unwrap();
        set_nonblocking(&w).unwrap();
        let mut q = Queue::default();
        let chunk = vec![7u8; 100_000];
        q.push(&chunk);
        assert!(!q.has_room());
        q.flush(&w).unwrap(); // pipe holds 64 KiB by default: partial write, no error
        assert!(q.pending());
        let mut sink = vec![0u8; 200_000];
        let mut got = 0;
        while q.pending() {
            got += rustix::io::read(&r, &mut sink).unwrap();
            q.flush(&w).unwrap();
        }
        drop(w);
        loop {
            let n = rustix::io::read(&r, &mut sink).unwrap();
            if n == 0 {
                break;
            }
            got += n;
        }
        assert_eq!(got, 100_000);
        assert!(q.has_room());
    }

    #[test]
    fn flush_to_closed_pipe_is_an_error() {
        let (r, w) = rustix::pipe::pipe().unwrap();
        drop(r);
        let mut q = Queue::default();
        q.push(b"x");
        // SIGPIPE is ignored by the Rust runtime, so this is EPIPE.
        assert_eq!(q.flush(&w), Err(Errno::PIPE));
    }
}
