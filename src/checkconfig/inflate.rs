//! gzip (RFC 1952) around raw deflate (RFC 1951), decode only: enough to
//! read /proc/config.gz. Written here because the registry (for
//! miniz_oxide) was unreachable when lxc-checkconfig was built; the
//! decoder follows zlib's reference "puff" and is checked against
//! gzip(1)'s output and the kernel's own /proc/config.gz.

/// Decompressed output is capped (a kernel configuration is well under 1 MiB).
const MAX_OUT: usize = 64 << 20;

/// One gzip member: header, deflate stream, CRC-32 and size check.
pub fn gunzip(data: &[u8]) -> Option<Vec<u8>> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if data.len() < 18 || data[0] != 0x1f || data[1] != 0x8b || data[2] != 8 {
        return None;
    }
    let flags = data[3];
    let mut i = 10;
    if flags & FEXTRA != 0 {
        let xlen = usize::from(u16::from_le_bytes([*data.get(i)?, *data.get(i + 1)?]));
        i += 2 + xlen;
    }
    for f in [FNAME, FCOMMENT] {
        if flags & f != 0 {
            i += data.get(i..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        i += 2;
    }
    let (out, used) = inflate(data.get(i..)?)?;
    let trailer = data.get(i + used..i + used + 8)?;
    let crc = u32::from_le_bytes(trailer[..4].try_into().ok()?);
    let size = u32::from_le_bytes(trailer[4..].try_into().ok()?);
    (crc32(&out) == crc && out.len() as u32 == size).then_some(out)
}

/// CRC-32 (IEEE, reflected), bit by bit: the input is small.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    cnt: u32,
}

impl Bits<'_> {
    fn bits(&mut self, n: u32) -> Option<u32> {
        while self.cnt < n {
            self.buf |= u64::from(*self.data.get(self.pos)?) << self.cnt;
            self.pos += 1;
            self.cnt += 8;
        }
        let v = (self.buf & ((1u64 << n) - 1)) as u32;
        self.buf >>= n;
        self.cnt -= n;
        Some(v)
    }
}

const MAXBITS: usize = 15;

struct Huffman {
    count: [u16; MAXBITS + 1],
    symbol: Vec<u16>,
}

/// Canonical Huffman code from code lengths; also returns how many codes
/// are left unused (negative: over-subscribed).
fn construct(lengths: &[u8]) -> (Huffman, i32) {
    let mut h = Huffman {
        count: [0; MAXBITS + 1],
        symbol: vec![0; lengths.len()],
    };
    for &l in lengths {
        h.count[usize::from(l)] += 1;
    }
    if usize::from(h.count[0]) == lengths.len() {
        return (h, 0);
    }
    let mut left: i32 = 1;
    for len in 1..=MAXBITS {
        left = (left << 1) - i32::from(h.count[len]);
        if left < 0 {
            return (h, left);
        }
    }
    let mut offs = [0u16; MAXBITS + 1];
    for len in 1..MAXBITS {
        offs[len + 1] = offs[len] + h.count[len];
    }
    for (sym, &l) in lengths.iter().enumerate() {
        if l != 0 {
            h.symbol[usize::from(offs[usize::from(l)])] = sym as u16;
            offs[usize::from(l)] += 1;
        }
    }
    (h, left)
}

fn decode(b: &mut Bits<'_>, h: &Huffman) -> Option<u16> {
    let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
    for len in 1..=MAXBITS {
        code |= b.bits(1)? as i32;
        let count = i32::from(h.count[len]);
        if code - count < first {
            return h.symbol.get((index + code - first) as usize).copied();
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    None
}

const LENS: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEXT: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DISTS: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DEXT: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

fn codes(b: &mut Bits<'_>, out: &mut Vec<u8>, len: &Huffman, dist: &Huffman) -> Option<()> {
    loop {
        let sym = decode(b, len)?;
        match sym {
            0..=255 => out.push(sym as u8),
            256 => return Some(()),
            _ => {
                let s = usize::from(sym - 257);
                let n = usize::from(*LENS.get(s)?) + b.bits(u32::from(LEXT[s]))? as usize;
                let d = usize::from(decode(b, dist)?);
                let back = usize::from(*DISTS.get(d)?) + b.bits(u32::from(DEXT[d]))? as usize;
                if back > out.len() || out.len() + n > MAX_OUT {
                    return None;
                }
                let start = out.len() - back;
                for k in 0..n {
                    out.push(out[start + k]);
                }
            }
        }
    }
}

/// Raw deflate: the output and the number of input bytes used.
pub fn inflate(data: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut b = Bits {
        data,
        pos: 0,
        buf: 0,
        cnt: 0,
    };
    let mut out = Vec::new();
    loop {
        let last = b.bits(1)?;
        match b.bits(2)? {
            0 => {
                // Stored: from the next byte boundary.
                b.buf = 0;
                b.cnt = 0;
                let hdr = data.get(b.pos..b.pos + 4)?;
                let n = u16::from_le_bytes([hdr[0], hdr[1]]);
                if n != !u16::from_le_bytes([hdr[2], hdr[3]]) {
                    return None;
                }
                let start = b.pos + 4;
                out.extend_from_slice(data.get(start..start + usize::from(n))?);
                b.pos = start + usize::from(n);
            }
            1 => {
                let mut l = [0u8; 288];
                l[..144].fill(8);
                l[144..256].fill(9);
                l[256..280].fill(7);
                l[280..].fill(8);
                let (lencode, _) = construct(&l);
                let (distcode, _) = construct(&[5u8; 30]);
                codes(&mut b, &mut out, &lencode, &distcode)?;
            }
            2 => dynamic(&mut b, &mut out)?,
            _ => return None,
        }
        if out.len() > MAX_OUT {
            return None;
        }
        if last == 1 {
            // Unused bits of the last byte belong to it.
            return Some((out, b.pos));
        }
    }
}

fn dynamic(b: &mut Bits<'_>, out: &mut Vec<u8>) -> Option<()> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let nlen = b.bits(5)? as usize + 257;
    let ndist = b.bits(5)? as usize + 1;
    let ncode = b.bits(4)? as usize + 4;
    if nlen > 286 || ndist > 30 {
        return None;
    }
    let mut lengths = [0u8; 320];
    for &o in ORDER.iter().take(ncode) {
        lengths[o] = b.bits(3)? as u8;
    }
    let (lencode, left) = construct(&lengths[..19]);
    if left != 0 {
        return None;
    }
    let mut i = 0;
    while i < nlen + ndist {
        let sym = decode(b, &lencode)?;
        if sym < 16 {
            lengths[i] = sym as u8;
            i += 1;
            continue;
        }
        let (val, rep) = match sym {
            16 => (*lengths.get(i.checked_sub(1)?)?, 3 + b.bits(2)? as usize),
            17 => (0, 3 + b.bits(3)? as usize),
            _ => (0, 11 + b.bits(7)? as usize),
        };
        if i + rep > nlen + ndist {
            return None;
        }
        lengths[i..i + rep].fill(val);
        i += rep;
    }
    if lengths[256] == 0 {
        return None;
    }
    let (lencode, left) = construct(&lengths[..nlen]);
    if left < 0 || (left > 0 && nlen - usize::from(lencode.count[0]) != 1) {
        return None;
    }
    let (distcode, left) = construct(&lengths[nlen..nlen + ndist]);
    if left < 0 || (left > 0 && ndist - usize::from(distcode.count[0]) != 1) {
        return None;
    }
    codes(b, out, &lencode, &distcode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip_cli(data: &[u8], level: &str) -> Vec<u8> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut c = Command::new("gzip")
            .args([level, "-c"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gzip(1)");
        let mut sin = c.stdin.take().unwrap();
        let d = data.to_vec();
        let t = std::thread::spawn(move || sin.write_all(&d).unwrap());
        let out = c.wait_with_output().unwrap();
        t.join().unwrap();
        out.stdout
    }

    #[test]
    fn what_gzip_writes_reads_back() {
        let mut text = Vec::new();
        for i in 0..20_000u32 {
            text.extend_from_slice(
                format!(
                    "CONFIG_OPTION_{i}=y\n# CONFIG_X{} is not set\n",
                    i * 7919 % 1000
                )
                .as_bytes(),
            );
        }
        let mut noise: Vec<u8> = Vec::new();
        let mut x = 12345u32;
        for _ in 0..100_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            noise.push((x >> 16) as u8);
        }
        for data in [&text[..], &noise[..], b"", b"a"] {
            for level in ["-1", "-9"] {
                let g = gzip_cli(data, level);
                assert_eq!(
                    gunzip(&g).as_deref(),
                    Some(data),
                    "level {level}, {} bytes",
                    data.len()
                );
            }
        }
    }

    #[test]
    fn stored_blocks_and_corruption() {
        // A stored block, by hand.
        let data = b"CONFIG_X=y\n";
        let mut g = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x01];
        g.extend_from_slice(&(data.len() as u16).to_le_bytes());
        g.extend_from_slice(&(!(data.len() as u16)).to_le_bytes());
        g.extend_from_slice(data);
        g.extend_from_slice(&crc32(data).to_le_bytes());
        g.extend_from_slice(&(data.len() as u32).to_le_bytes());
        assert_eq!(gunzip(&g).as_deref(), Some(&data[..]));
        let n = g.len();
        g[n - 6] ^= 0x10; // CRC mismatch
        assert!(gunzip(&g).is_none());
        assert!(gunzip(b"plain text, not gzip").is_none());
        let mut t = gzip_cli(&[b'x'; 5000], "-9");
        t.truncate(t.len() - 12);
        assert!(gunzip(&t).is_none());
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn the_kernels_config() {
        if let Ok(d) = std::fs::read("/proc/config.gz") {
            let t = gunzip(&d).expect("/proc/config.gz decodes");
            assert!(String::from_utf8_lossy(&t).contains("CONFIG_NAMESPACES="));
        }
    }
}
