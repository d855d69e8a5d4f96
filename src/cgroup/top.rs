//! Presentation over [`Stats`]: lxc-top's screen and batch rows, lxc-info
//! -S lines, and lxc-priority's show/set. Layouts follow LXC's tools byte
//! for byte so scripts parsing them keep working.

use anyhow::{bail, Result};

use super::read_file;
use super::set::CgroupSet;
use super::stats::{Stats, USER_HZ};

const ESC_CLEAR: &str = "\x1b[H\x1b[J";
const ESC_NORM: &str = "\x1b[0m";
const ESC_BOLD_REV: &str = "\x1b[7m\x1b[1m";

/// lxc-top -b's first line.
pub const BATCH_HEADER: &str = "time_ms,container,cpu_nanos,cpu_sys_userhz,cpu_user_userhz,\
blkio_bytes,blkio_iops,mem_used_bytes,memsw_used_bytes,kernel_mem_used_bytes";

/// lxc-top -s: what to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Name,
    Cpu,
    Blkio,
    Mem,
    MemSw,
    Kmem,
}

impl SortBy {
    /// n c b m s k, as lxc-top -s and its interactive keys take them.
    pub fn from_char(c: char) -> Option<SortBy> {
        Some(match c {
            'n' => SortBy::Name,
            'c' => SortBy::Cpu,
            'b' => SortBy::Blkio,
            'm' => SortBy::Mem,
            's' => SortBy::MemSw,
            'k' => SortBy::Kmem,
            _ => return None,
        })
    }
}

/// One container's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub stats: Stats,
}

/// One sample for each running container; a container whose statistics
/// cannot be read (it stopped meanwhile) shows zeros, as LXC does.
pub fn collect(sets: &[(String, CgroupSet)]) -> Vec<Row> {
    sets.iter()
        .map(|(name, set)| Row {
            name: name.clone(),
            stats: set.stats().unwrap_or_default(),
        })
        .collect()
}

/// lxc-top's interactive keys: a sort letter selects that order (pressed
/// again, it flips the direction), `r` flips it. Returns true for `q`.
pub fn handle_key(key: char, sort: &mut SortBy, reverse: &mut bool) -> bool {
    match key {
        'q' => return true,
        'r' => *reverse = !*reverse,
        c => {
            if let Some(by) = SortBy::from_char(c) {
                *reverse = if by == *sort { !*reverse } else { false };
                *sort = by;
            }
        }
    }
    false
}

/// Names sort ascending, values descending (largest first); `reverse`
/// flips either.
pub fn sort_rows(rows: &mut [Row], by: SortBy, reverse: bool) {
    let key = |r: &Row| -> u64 {
        match by {
            SortBy::Name => 0,
            SortBy::Cpu => r.stats.cpu_ns,
            SortBy::Blkio => r.stats.blkio_total,
            SortBy::Mem => r.stats.mem_used,
            SortBy::MemSw => r.stats.memsw_used,
            SortBy::Kmem => r.stats.kmem_used,
        }
    };
    rows.sort_by(|a, b| {
        let o = match by {
            SortBy::Name => a.name.cmp(&b.name),
            _ => key(b).cmp(&key(a)),
        };
        if reverse {
            o.reverse()
        } else {
            o
        }
    });
}

/// LXC's size rendering with two decimals; `small` renders values below
/// 1 KiB (lxc-top pads them, lxc-info says "N bytes").
fn humanize(v: u64, small: impl Fn(u64) -> String) -> String {
    const K: u64 = 1 << 10;
    const M: u64 = 1 << 20;
    const G: u64 = 1 << 30;
    if v > G {
        format!("{}.{:02} GiB", v >> 30, (v & (G - 1)) / 10_737_419)
    } else if v > M {
        let x = v + 5243; // rounding, as LXC does
        format!("{}.{:02} MiB", x >> 20, ((x & (M - 1)) * 100) >> 20)
    } else if v > K {
        let x = v + 5;
        format!("{}.{:02} KiB", x >> 10, ((x & (K - 1)) * 100) >> 10)
    } else {
        small(v)
    }
}

/// lxc-top's size column.
pub fn size_top(v: u64) -> String {
    humanize(v, |v| format!("{v:3}.00   "))
}

/// lxc-info's size rendering.
pub fn size_info(v: u64) -> String {
    humanize(v, |v| format!("{v} bytes"))
}

/// The two bold header lines; MemSw and KMem columns appear only when some
/// container uses them (judged from `total`).
pub fn header(total: &Stats) -> String {
    let mut s = String::from(ESC_BOLD_REV);
    s += &format!(
        "{:<18} {:>12} {:>12} {:>12} {:>36} {:>10}",
        "Container", "CPU", "CPU", "CPU", "BlkIO", "Mem"
    );
    if total.memsw_used > 0 {
        s += &format!(" {:>10}", "MemSw");
    }
    if total.kmem_used > 0 {
        s += &format!(" {:>10}", "KMem");
    }
    s += "\n";
    s += &format!(
        "{:<18} {:>12} {:>12} {:>12} {:>36} {:>10}",
        "Name", "Used", "Sys", "User", "Total(Read/Write)", "Used"
    );
    if total.memsw_used > 0 {
        s += &format!(" {:>10}", "Used");
    }
    if total.kmem_used > 0 {
        s += &format!(" {:>10}", "Used");
    }
    s += "\n";
    s += ESC_NORM;
    s
}

/// One interactive line (no newline).
pub fn row_line(name: &str, st: &Stats, total: &Stats) -> String {
    let io = format!(
        "{}({}/{})",
        size_top(st.blkio_total),
        size_top(st.blkio_read),
        size_top(st.blkio_write)
    );
    let name: String = name.chars().take(18).collect();
    let mut s = format!(
        "{:<18} {:>12.2} {:>12.2} {:>12.2} {:>36} {:>10}",
        name,
        st.cpu_ns as f64 / 1e9,
        st.cpu_sys as f64 / USER_HZ as f64,
        st.cpu_user as f64 / USER_HZ as f64,
        io,
        size_top(st.mem_used)
    );
    if total.memsw_used > 0 {
        s += &format!(" {:>10}", size_top(st.memsw_used));
    }
    if total.kmem_used > 0 {
        s += &format!(" {:>10}", size_top(st.kmem_used));
    }
    s
}

/// One lxc-top -b line (no newline).
pub fn batch_line(time_ms: u64, name: &str, s: &Stats) -> String {
    format!(
        "{time_ms},{name},{},{},{},{},{},{},{},{}",
        s.cpu_ns,
        s.cpu_sys,
        s.cpu_user,
        s.blkio_total,
        s.blkio_ios,
        s.mem_used,
        s.memsw_used,
        s.kmem_used
    )
}

/// A whole interactive screen: clear, header, at most `max_rows` rows
/// (already sorted) and the "TOTAL i of n" line.
pub fn screen(rows: &[Row], max_rows: usize) -> String {
    let mut total = Stats::default();
    for r in rows {
        total += &r.stats;
    }
    let mut out = String::from(ESC_CLEAR);
    out += &header(&total);
    let shown = rows.len().min(max_rows);
    for r in &rows[..shown] {
        out += &row_line(&r.name, &r.stats, &total);
        out += "\n";
    }
    out += &row_line(&format!("TOTAL {shown} of {}", rows.len()), &total, &total);
    out
}

/// lxc-info -S's cgroup lines ("CPU use:", "BlkIO use:", "Memory use:",
/// "KMem use:"), only for the statistics the host has; `humanize` false is
/// lxc-info -H (raw numbers).
pub fn info_lines(s: &Stats, humanize: bool) -> Vec<String> {
    let size = |v: u64| {
        if humanize {
            size_info(v)
        } else {
            v.to_string()
        }
    };
    let mut out = Vec::new();
    if s.has_cpu {
        if humanize {
            out.push(format!(
                "{:<15} {:.2} seconds",
                "CPU use:",
                s.cpu_ns as f64 / 1e9
            ));
        } else {
            out.push(format!("{:<15} {}", "CPU use:", s.cpu_ns));
        }
    }
    if s.has_blkio {
        out.push(format!("{:<15} {}", "BlkIO use:", size(s.blkio_total)));
    }
    if s.has_mem {
        out.push(format!("{:<15} {}", "Memory use:", size(s.mem_used)));
    }
    if s.has_kmem {
        out.push(format!("{:<15} {}", "KMem use:", size(s.kmem_used)));
    }
    out
}

/// lxc-priority: the file holding the CPU share, cpu.shares (v1) or
/// cpu.weight (v2).
fn priority_key(set: &CgroupSet) -> Result<&'static str> {
    if set.dirs.iter().any(|d| !d.v2 && d.has("cpu")) {
        Ok("cpu.shares")
    } else if set.unified().is_some_and(|d| d.has("cpu")) {
        Ok("cpu.weight")
    } else {
        bail!("no cpu controller for this container (neither v1 cpu nor v2 cpu enabled)")
    }
}

/// lxc-priority without a value: (file name, current value).
pub fn priority_get(set: &CgroupSet) -> Result<(&'static str, u64)> {
    let k = priority_key(set)?;
    let v = set.get(k)?;
    let n = v
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{k}: unexpected content \"{v}\""))?;
    Ok((k, n))
}

/// lxc-priority VALUE: write the share in the host's own unit (cpu.shares
/// 2..262144 on v1, cpu.weight 1..10000 on v2).
pub fn priority_set(set: &CgroupSet, value: u64) -> Result<&'static str> {
    let k = priority_key(set)?;
    let ok = match k {
        "cpu.shares" => (2..=262_144).contains(&value),
        _ => (1..=10_000).contains(&value),
    };
    if !ok {
        bail!("{value} is out of range for {k}");
    }
    set.set(k, &value.to_string())?;
    // Read back: the kernel clamps some values silently.
    let back = read_file(&set.key_path(k)?)?;
    if back.trim() != value.to_string() {
        log::warn!("{k}: wrote {value}, kernel reports {back}");
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_lxc() {
        assert_eq!(size_info(0), "0 bytes");
        assert_eq!(size_info(1024), "1024 bytes");
        assert_eq!(size_info(1536), "1.50 KiB");
        assert_eq!(size_info(3 << 20), "3.00 MiB");
        // LXC truncates GiB fractions (divides by 10737419 > 2^30/100).
        assert_eq!(size_info((5 << 30) + (1 << 29)), "5.49 GiB");
        assert_eq!(size_top(7), "  7.00   ");
    }

    fn row(n: &str, cpu: u64, mem: u64) -> Row {
        Row {
            name: n.into(),
            stats: Stats {
                cpu_ns: cpu,
                mem_used: mem,
                ..Stats::default()
            },
        }
    }

    #[test]
    fn sorting() {
        let mut r = vec![row("b", 1, 30), row("a", 3, 10), row("c", 2, 20)];
        sort_rows(&mut r, SortBy::Name, false);
        assert_eq!(r.iter().map(|r| r.name.as_str()).collect::<String>(), "abc");
        sort_rows(&mut r, SortBy::Cpu, false);
        assert_eq!(r.iter().map(|r| r.name.as_str()).collect::<String>(), "acb");
        sort_rows(&mut r, SortBy::Mem, true);
        assert_eq!(r.iter().map(|r| r.name.as_str()).collect::<String>(), "acb");
        assert_eq!(SortBy::from_char('k'), Some(SortBy::Kmem));
        assert_eq!(SortBy::from_char('x'), None);
    }

    #[test]
    fn keys() {
        let (mut by, mut rev) = (SortBy::Name, false);
        assert!(!handle_key('c', &mut by, &mut rev));
        assert_eq!((by, rev), (SortBy::Cpu, false));
        handle_key('c', &mut by, &mut rev);
        assert_eq!((by, rev), (SortBy::Cpu, true));
        handle_key('m', &mut by, &mut rev);
        assert_eq!((by, rev), (SortBy::Mem, false));
        handle_key('r', &mut by, &mut rev);
        assert!(rev);
        assert!(handle_key('q', &mut by, &mut rev));
    }

    #[test]
    fn table_layout() {
        let r = vec![row("web", 2_500_000_000, 3 << 20)];
        let s = screen(&r, 10);
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines[0].starts_with("\x1b[H\x1b[J\x1b[7m\x1b[1mContainer "));
        assert!(lines[1].starts_with("Name "));
        assert!(lines[1].ends_with("Total(Read/Write)       Used"));
        let body = lines[2].trim_start_matches(ESC_NORM);
        assert!(
            body.starts_with("web                        2.50         0.00"),
            "{body:?}"
        );
        assert!(body.ends_with("  3.00 MiB"), "{body:?}");
        assert!(lines[3].starts_with("TOTAL 1 of 1 "));
        assert_eq!(
            batch_line(5, "web", &r[0].stats),
            "5,web,2500000000,0,0,0,0,3145728,0,0"
        );
    }

    #[test]
    fn info() {
        let s = Stats {
            cpu_ns: 230_000_000,
            mem_used: 1_688_000,
            has_cpu: true,
            has_mem: true,
            has_blkio: true,
            ..Stats::default()
        };
        assert_eq!(
            info_lines(&s, true),
            vec![
                "CPU use:        0.23 seconds",
                "BlkIO use:      0 bytes",
                "Memory use:     1.61 MiB",
            ]
        );
        assert_eq!(info_lines(&s, false)[0], "CPU use:        230000000");
    }
}
