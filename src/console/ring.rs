//! The in-memory console ring buffer (lxc.console.buffer.size).

/// The size LXC's `auto` keyword gives lxc.console.buffer.size (128 KiB); we
/// use it when the key is unset so that output produced while nobody is
/// attached can still be read back. Memory is only used as output arrives.
pub const DEFAULT_BUFFER_SIZE: usize = 128 * 1024;

/// A fixed-capacity byte ring that keeps the newest bytes.
#[derive(Debug, Clone)]
pub struct RingBuffer {
    buf: Vec<u8>,
    cap: usize,
    /// Next write position once `buf` has reached `cap`.
    head: usize,
}

impl RingBuffer {
    /// A ring of `cap` bytes. LXC rounds sizes below a page up to one page;
    /// callers pass the configured value through [`RingBuffer::config_size`].
    pub fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            cap,
            head: 0,
        }
    }

    /// lxc.console.buffer.size as LXC applies it: unset → our default,
    /// 0 → no buffer, below one page → one page.
    pub fn config_size(configured: Option<u64>) -> usize {
        match configured {
            None => DEFAULT_BUFFER_SIZE,
            Some(0) => 0,
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX).max(4096),
        }
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn clear(&mut self) {
        self.buf = Vec::new();
        self.head = 0;
    }

    pub fn write(&mut self, mut data: &[u8]) {
        if self.cap == 0 {
            return;
        }
        if data.len() >= self.cap {
            data = &data[data.len() - self.cap..];
            self.buf.clear();
            self.buf.extend_from_slice(data);
            self.head = 0;
            return;
        }
        // Still growing: append what fits.
        let room = self.cap - self.buf.len();
        if room > 0 {
            let n = room.min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        // Full: overwrite the oldest bytes, wrapping at most once.
        while !data.is_empty() {
            let n = (self.cap - self.head).min(data.len());
            self.buf[self.head..self.head + n].copy_from_slice(&data[..n]);
            self.head = (self.head + n) % self.cap;
            data = &data[n..];
        }
    }

    /// The buffered bytes, oldest first.
    pub fn contents(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.buf.len());
        v.extend_from_slice(&self.buf[self.head..]);
        v.extend_from_slice(&self.buf[..self.head]);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_newest() {
        let mut r = RingBuffer::new(8);
        r.write(b"abc");
        assert_eq!(r.contents(), b"abc");
        r.write(b"defgh");
        assert_eq!(r.contents(), b"abcdefgh");
        r.write(b"ij");
        assert_eq!(r.contents(), b"cdefghij");
        r.write(b"klmnopq");
        assert_eq!(r.contents(), b"jklmnopq");
        r.write(b"0123456789");
        assert_eq!(r.contents(), b"23456789");
        r.write(b"x");
        assert_eq!(r.contents(), b"3456789x");
        assert_eq!(r.len(), 8);
        r.clear();
        assert!(r.is_empty());
    }

    #[test]
    fn against_model() {
        // compare with a naive "append then keep the tail" model
        let mut r = RingBuffer::new(13);
        let mut model: Vec<u8> = Vec::new();
        let mut x: u32 = 7;
        for i in 0..500u32 {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            let len = (x >> 16) as usize % 30;
            let chunk: Vec<u8> = (0..len).map(|j| (i as usize + j) as u8).collect();
            r.write(&chunk);
            model.extend_from_slice(&chunk);
            let keep = model.len().saturating_sub(13);
            model.drain(..keep);
            assert_eq!(r.contents(), model);
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(RingBuffer::config_size(None), DEFAULT_BUFFER_SIZE);
        assert_eq!(RingBuffer::config_size(Some(0)), 0);
        assert_eq!(RingBuffer::config_size(Some(100)), 4096);
        let mut r = RingBuffer::new(0);
        r.write(b"abc");
        assert!(r.is_empty());
    }
}
