//! Resource statistics of a cgroup, from v1 or v2 files: what lxc-top and
//! lxc-info -S show.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::read_file;
use super::set::CgroupSet;

/// USER_HZ, the unit of v1 cpuacct.stat.
pub const USER_HZ: u64 = 100;

/// One sample of a cgroup's statistics. Values missing on the host are 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// CPU time used, nanoseconds.
    pub cpu_ns: u64,
    /// CPU time in user mode, USER_HZ ticks.
    pub cpu_user: u64,
    /// CPU time in kernel mode, USER_HZ ticks.
    pub cpu_sys: u64,
    /// Block I/O bytes: total, read, write.
    pub blkio_total: u64,
    pub blkio_read: u64,
    pub blkio_write: u64,
    /// Block I/O operations.
    pub blkio_ios: u64,
    /// Memory used (bytes) and limit (0 = none known).
    pub mem_used: u64,
    pub mem_limit: u64,
    /// v1: memory+swap used; v2: swap used.
    pub memsw_used: u64,
    pub memsw_limit: u64,
    /// Kernel memory used (v1 memory.kmem.usage_in_bytes, v2 memory.stat "kernel").
    pub kmem_used: u64,
    pub kmem_limit: u64,
    /// Whether the values came from each source (lxc-info prints only those that exist).
    pub has_cpu: bool,
    pub has_blkio: bool,
    pub has_mem: bool,
    pub has_kmem: bool,
}

impl std::ops::AddAssign<&Stats> for Stats {
    fn add_assign(&mut self, o: &Stats) {
        self.cpu_ns += o.cpu_ns;
        self.cpu_user += o.cpu_user;
        self.cpu_sys += o.cpu_sys;
        self.blkio_total += o.blkio_total;
        self.blkio_read += o.blkio_read;
        self.blkio_write += o.blkio_write;
        self.blkio_ios += o.blkio_ios;
        self.mem_used += o.mem_used;
        self.mem_limit += o.mem_limit;
        self.memsw_used += o.memsw_used;
        self.memsw_limit += o.memsw_limit;
        self.kmem_used += o.kmem_used;
        self.kmem_limit += o.kmem_limit;
        self.has_cpu |= o.has_cpu;
        self.has_blkio |= o.has_blkio;
        self.has_mem |= o.has_mem;
        self.has_kmem |= o.has_kmem;
    }
}

/// A number file; "max" (v2's unlimited) and unreadable files are None.
fn int_file(dir: &std::path::Path, f: &str) -> Option<u64> {
    read_file(&dir.join(f)).ok()?.trim().parse().ok()
}

/// `key value` lines (cpu.stat, memory.stat, cpuacct.stat).
pub(crate) fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// v1 blkio.throttle.io_service_bytes / io_serviced: "MAJ:MIN Op N" lines
/// and a final "Total N". Returns (read, write, total).
pub(crate) fn parse_blkio_v1(text: &str) -> (u64, u64, u64) {
    let (mut r, mut w, mut t) = (0, 0, 0);
    for l in text.lines() {
        let c: Vec<&str> = l.split_whitespace().collect();
        match c.as_slice() {
            [_, "Read", n] => r += n.parse::<u64>().unwrap_or(0),
            [_, "Write", n] => w += n.parse::<u64>().unwrap_or(0),
            ["Total", n] => t = n.parse().unwrap_or(0),
            _ => {}
        }
    }
    (r, w, t)
}

/// v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N".
/// Returns (rbytes, wbytes, rios+wios).
pub(crate) fn parse_io_stat(text: &str) -> (u64, u64, u64) {
    let (mut r, mut w, mut ios) = (0, 0, 0);
    for tok in text.split_whitespace() {
        let Some((k, v)) = tok.split_once('=') else {
            continue;
        };
        let v: u64 = v.parse().unwrap_or(0);
        match k {
            "rbytes" => r += v,
            "wbytes" => w += v,
            "rios" | "wios" => ios += v,
            _ => {}
        }
    }
    (r, w, ios)
}

impl CgroupSet {
    /// Current statistics: each from the v1 hierarchy of its controller when
    /// there is one, else from the unified hierarchy.
    pub fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        let v1 = |c: &str| self.dirs.iter().find(|d| !d.v2 && d.has(c));
        let u = self.unified();

        if let Some(d) = v1("cpuacct") {
            if let Some(n) = int_file(&d.path, "cpuacct.usage") {
                s.cpu_ns = n;
                s.has_cpu = true;
            }
            if let Ok(t) = read_file(&d.path.join("cpuacct.stat")) {
                s.cpu_user = keyed(&t, "user").unwrap_or(0);
                s.cpu_sys = keyed(&t, "system").unwrap_or(0);
            }
        } else if let Some(t) = u.and_then(|d| read_file(&d.path.join("cpu.stat")).ok()) {
            // cpu.stat's usage lines exist even without the cpu controller.
            s.cpu_ns = keyed(&t, "usage_usec").unwrap_or(0) * 1000;
            s.cpu_user = keyed(&t, "user_usec").unwrap_or(0) * USER_HZ / 1_000_000;
            s.cpu_sys = keyed(&t, "system_usec").unwrap_or(0) * USER_HZ / 1_000_000;
            s.has_cpu = true;
        }

        if let Some(d) = v1("blkio") {
            if let Ok(t) = read_file(&d.path.join("blkio.throttle.io_service_bytes")) {
                (s.blkio_read, s.blkio_write, s.blkio_total) = parse_blkio_v1(&t);
                s.has_blkio = true;
            }
            if let Ok(t) = read_file(&d.path.join("blkio.throttle.io_serviced")) {
                s.blkio_ios = parse_blkio_v1(&t).2;
            }
        } else if let Some(t) = u.and_then(|d| read_file(&d.path.join("io.stat")).ok()) {
            let (r, w, ios) = parse_io_stat(&t);
            (s.blkio_read, s.blkio_write, s.blkio_total, s.blkio_ios) = (r, w, r + w, ios);
            s.has_blkio = true;
        }

        if let Some(d) = v1("memory") {
            let p = &d.path;
            if let Some(n) = int_file(p, "memory.usage_in_bytes") {
                s.mem_used = n;
                s.has_mem = true;
            }
            s.mem_limit = int_file(p, "memory.limit_in_bytes").unwrap_or(0);
            s.memsw_used = int_file(p, "memory.memsw.usage_in_bytes").unwrap_or(0);
            s.memsw_limit = int_file(p, "memory.memsw.limit_in_bytes").unwrap_or(0);
            if let Some(n) = int_file(p, "memory.kmem.usage_in_bytes") {
                s.kmem_used = n;
                s.has_kmem = true;
            }
            s.kmem_limit = int_file(p, "memory.kmem.limit_in_bytes").unwrap_or(0);
        } else if let Some(d) = u {
            let p = &d.path;
            if let Some(n) = int_file(p, "memory.current") {
                s.mem_used = n;
                s.has_mem = true;
            }
            s.mem_limit = int_file(p, "memory.max").unwrap_or(0);
            s.memsw_used = int_file(p, "memory.swap.current").unwrap_or(0);
            s.memsw_limit = int_file(p, "memory.swap.max").unwrap_or(0);
            // memory.stat "kernel" (Linux 5.18+): all kernel memory charged.
            if let Some(n) = read_file(&p.join("memory.stat"))
                .ok()
                .and_then(|t| keyed(&t, "kernel"))
            {
                s.kmem_used = n;
                s.has_kmem = true;
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkio_v1() {
        let t = "8:0 Read 110309376\n8:0 Write 39018496\n8:0 Sync 2818048\n\
                 8:0 Async 146509824\n8:0 Total 149327872\nTotal 149327872\n";
        assert_eq!(parse_blkio_v1(t), (110309376, 39018496, 149327872));
        assert_eq!(parse_blkio_v1("Total 0\n"), (0, 0, 0));
    }

    #[test]
    fn io_stat_v2() {
        let t = "8:0 rbytes=100 wbytes=20 rios=3 wios=4 dbytes=0 dios=0\n\
                 8:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n";
        assert_eq!(parse_io_stat(t), (101, 22, 9));
    }

    #[test]
    fn keyed_lines() {
        let t = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n";
        assert_eq!(keyed(t, "user_usec"), Some(1000));
        assert_eq!(keyed(t, "usage"), None);
    }
}
