//! lxc-ps: the processes of containers, from /proc, in the formats of the
//! ps the classic lxc-ps ran (`lxc-ps -n NAME -- -ef`), with its CONTAINER
//! column in front. A process belongs to a container when its pid namespace
//! (/proc/PID/ns/pid) is the one of the container's init. No `ps` binary is
//! run: the columns are read from /proc/PID/{stat,status,cmdline} and laid
//! out as procps-ng prints them.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{bail, Result};
use serde::Serialize;

/// One process inside a container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proc {
    pub container: String,
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    /// The command line (NULs as spaces), or "[comm]" when it is empty.
    pub cmd: String,
    /// The executable's name (/proc/PID/stat's comm).
    pub comm: String,
    /// The state letter and BSD flags (`Ss`, `R+`, `Sl`, ...).
    pub stat: String,
    /// Controlling terminal as ps names it (`pts/0`, `tty1`, `?`).
    pub tty: String,
    /// CPU time used (user + system), in clock ticks.
    pub cpu_ticks: u64,
    /// Start time, in clock ticks after boot.
    pub start_ticks: u64,
    /// Virtual size and resident set, in KiB.
    pub vsz_kib: u64,
    pub rss_kib: u64,
}

/// Which ps layout to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `ps`: PID TTY TIME CMD (CMD is the executable's name).
    Default,
    /// `ps -f`: UID PID PPID C STIME TTY TIME CMD.
    Full,
    /// `ps u` / `ps aux`: USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND.
    User,
    /// lxcbox's own short form: PID CMD.
    Short,
}

/// The ps options of `lxc-ps -- OPTIONS` the built-in ps understands:
/// `-e`/`-A` (every process: always so, as only container processes are
/// shown), `-f` (full), and BSD `a`, `x`, `u` (`aux`). No options: lxcbox's
/// `CONTAINER PID CMD` list.
pub fn parse_options(args: &[String]) -> Result<Format> {
    if args.is_empty() {
        return Ok(Format::Short);
    }
    let mut format = Format::Default;
    for a in args {
        let (dash, letters) = match a.strip_prefix('-') {
            Some(l) => (true, l),
            None => (false, a.as_str()),
        };
        if letters.is_empty() || letters.starts_with('-') {
            bail!("ps option \"{a}\" is not understood by the built-in ps (-e -A -f, a x u)");
        }
        for c in letters.chars() {
            match (dash, c) {
                (true, 'e' | 'A') | (false, 'a' | 'x') => {}
                (true, 'f') => format = Format::Full,
                (false, 'u') => format = Format::User,
                _ => bail!(
                    "ps option \"{a}\" is not understood by the built-in ps (-e -A -f, a x u)"
                ),
            }
        }
    }
    Ok(format)
}

/// The pid namespace of `pid` as (device, inode), the identity nsfs gives it.
pub fn pid_ns(pid: i32) -> Option<(u64, u64)> {
    let st = rustix::fs::stat(format!("/proc/{pid}/ns/pid")).ok()?;
    Some((st.st_dev, st.st_ino))
}

/// The command line of `pid` (NULs as spaces), or "[comm]" for kernel
/// threads and zombies with an empty cmdline.
pub fn command(pid: i32) -> String {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b)
            .trim_end_matches('\0')
            .replace('\0', " "),
        _ => std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|c| format!("[{}]", c.trim_end()))
            .unwrap_or_default(),
    }
}

/// /proc/PID/stat's fields after the command name (field 3 onwards).
fn stat_fields(pid: i32) -> Option<(String, Vec<String>)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    let rest = text[close + 1..]
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Some((comm, rest))
}

/// The real uid of `pid` (/proc/PID/status).
fn uid_of(pid: i32) -> u32 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// ps's name for a tty_nr (major 136..143: pts; 4: ttyN / ttySN).
fn tty_name(nr: u64) -> String {
    if nr == 0 {
        return "?".into();
    }
    let major = (nr >> 8) & 0xfff;
    let minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 if minor < 64 => format!("tty{minor}"),
        4 => format!("ttyS{}", minor - 64),
        _ => "?".into(),
    }
}

/// Read one process; `None` if it went away meanwhile.
fn read_proc(container: &str, pid: i32, page_kib: u64) -> Option<Proc> {
    let (comm, f) = stat_fields(pid)?;
    // Field numbers of proc(5), minus 3 (the first two are pid and comm).
    let num = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let state = f.first().cloned().unwrap_or_else(|| "?".into());
    let (pgrp, session, tty_nr, tpgid) = (num(5), num(6), num(7) as u64, num(8));
    let (nice, threads) = (num(19), num(20));
    let mut stat = state;
    if nice < 0 {
        stat.push('<');
    } else if nice > 0 {
        stat.push('N');
    }
    if session == pid as i64 {
        stat.push('s');
    }
    if threads > 1 {
        stat.push('l');
    }
    if tty_nr != 0 && tpgid == pgrp {
        stat.push('+');
    }
    Some(Proc {
        container: container.to_string(),
        pid,
        ppid: num(4) as i32,
        uid: uid_of(pid),
        cmd: command(pid),
        comm,
        stat,
        tty: tty_name(tty_nr),
        cpu_ticks: (num(14) + num(15)).max(0) as u64,
        start_ticks: num(22).max(0) as u64,
        vsz_kib: num(23).max(0) as u64 / 1024,
        rss_kib: num(24).max(0) as u64 * page_kib,
    })
}

/// Processes of the given containers (name, init pid), by pid.
pub fn processes(containers: &[(String, i32)]) -> Vec<Proc> {
    let ns: HashMap<(u64, u64), &str> = containers
        .iter()
        .filter_map(|(n, p)| Some((pid_ns(*p)?, n.as_str())))
        .collect();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let page_kib = rustix::param::page_size() as u64 / 1024;
    let mut out: Vec<Proc> = rd
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let name = ns.get(&pid_ns(pid)?)?;
            read_proc(name, pid, page_kib)
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    out
}

/// What the columns are computed against: now, and the host's facts.
pub struct Clock {
    /// Clock ticks per second (USER_HZ).
    pub hz: u64,
    /// Seconds since boot.
    pub uptime: f64,
    /// Seconds since the epoch at boot.
    pub boot_epoch: i64,
    /// MemTotal in KiB.
    pub mem_kib: u64,
    /// Digits of the widest pid (procps sizes the PID column by pid_max).
    pub pid_width: usize,
}

impl Clock {
    /// The host's clock and memory, read now.
    pub fn now() -> Clock {
        let uptime = std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|u| u.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mem_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|l| l.split_whitespace().next()?.parse().ok())
            })
            .unwrap_or(1);
        let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .map(|s| s.trim().len())
            .unwrap_or(5);
        Clock {
            hz: 100,
            uptime,
            boot_epoch: now - uptime as i64,
            mem_kib,
            pid_width: pid_max.max(5),
        }
    }

    fn started(&self, p: &Proc) -> i64 {
        self.boot_epoch + (p.start_ticks / self.hz) as i64
    }

    /// Percent of one CPU used over the process's lifetime (ps's %CPU / C).
    fn cpu_percent(&self, p: &Proc) -> f64 {
        let alive = self.uptime - p.start_ticks as f64 / self.hz as f64;
        if alive <= 0.0 {
            return 0.0;
        }
        p.cpu_ticks as f64 / self.hz as f64 * 100.0 / alive
    }
}

/// `[DD-]HH:MM:SS` (ps's TIME for -f and the default format).
fn cputime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// ps's STIME/START: HH:MM today, MonDD within the year, else the year.
fn start_time(epoch: i64, now: i64) -> String {
    let (t, n) = (civil(epoch), civil(now));
    if now - epoch < 86400 && t.2 == n.2 {
        format!("{:02}:{:02}", t.3, t.4)
    } else if t.0 == n.0 {
        const MON: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!("{}{:02}", MON[(t.1 - 1) as usize], t.2)
    } else {
        t.0.to_string()
    }
}

/// (year, month, day, hour, minute) in UTC of an epoch second.
fn civil(epoch: i64) -> (i64, i64, i64, i64, i64) {
    let days = epoch.div_euclid(86400);
    let secs = epoch.rem_euclid(86400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs / 60 % 60)
}

/// User names from the host's /etc/passwd (ps prints the uid when unknown
/// or longer than 8 characters in -f).
pub fn user_names() -> HashMap<u32, String> {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            Some((uid, name.to_string()))
        })
        .collect()
}

/// The CONTAINER column (at least its header wide), then the ps layout.
pub fn render(
    procs: &[Proc],
    format: Format,
    clock: &Clock,
    users: &HashMap<u32, String>,
) -> String {
    let w = procs
        .iter()
        .map(|p| p.container.chars().count())
        .fold("CONTAINER".len(), usize::max);
    let pw = clock.pid_width;
    let now = clock.boot_epoch + clock.uptime as i64;
    let user = |uid: u32, max: usize| match users.get(&uid) {
        Some(n) if n.len() <= max => n.clone(),
        _ => uid.to_string(),
    };
    let mut out = String::new();
    let _ = write!(out, "{:<w$} ", "CONTAINER");
    let _ = match format {
        Format::Short => writeln!(out, "{:>7} CMD", "PID"),
        Format::Default => writeln!(out, "{:>pw$} TTY          TIME CMD", "PID"),
        Format::Full => writeln!(
            out,
            "{:<8} {:>pw$} {:>pw$}  C STIME TTY          TIME CMD",
            "UID", "PID", "PPID"
        ),
        Format::User => writeln!(
            out,
            "{:<8} {:>pw$} %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND",
            "USER", "PID"
        ),
    };
    for p in procs {
        let _ = write!(out, "{:<w$} ", p.container);
        let secs = p.cpu_ticks / clock.hz;
        let _ = match format {
            Format::Short => writeln!(out, "{:>7} {}", p.pid, p.cmd),
            Format::Default => {
                writeln!(
                    out,
                    "{:>pw$} {:<8} {:>8} {}",
                    p.pid,
                    p.tty,
                    cputime(secs),
                    p.comm
                )
            }
            Format::Full => writeln!(
                out,
                "{:<8} {:>pw$} {:>pw$} {:>2} {:<5} {:<8} {:>8} {}",
                user(p.uid, 8),
                p.pid,
                p.ppid,
                clock.cpu_percent(p) as u64,
                start_time(clock.started(p), now),
                p.tty,
                cputime(secs),
                p.cmd
            ),
            Format::User => writeln!(
                out,
                "{:<8} {:>pw$} {:>4.1} {:>4.1} {:>6} {:>5} {:<8} {:<4} {:<5} {:>3}:{:02} {}",
                user(p.uid, 8),
                p.pid,
                clock.cpu_percent(p),
                p.rss_kib as f64 * 100.0 / clock.mem_kib.max(1) as f64,
                p.vsz_kib,
                p.rss_kib,
                p.tty,
                p.stat,
                start_time(clock.started(p), now),
                secs / 60,
                secs % 60,
                p.cmd
            ),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock {
        Clock {
            hz: 100,
            uptime: 1000.0,
            boot_epoch: 1_700_000_000,
            mem_kib: 1000,
            pid_width: 5,
        }
    }

    fn sample() -> Proc {
        Proc {
            container: "c1".into(),
            pid: 42,
            ppid: 1,
            uid: 0,
            cmd: "/bin/sleep 100".into(),
            comm: "sleep".into(),
            stat: "S".into(),
            tty: "?".into(),
            cpu_ticks: 250,
            start_ticks: 50_000,
            vsz_kib: 2000,
            rss_kib: 100,
        }
    }

    #[test]
    fn finds_processes_sharing_a_pid_namespace() {
        // Our own pid namespace: this very process must be listed.
        let me = std::process::id() as i32;
        let ps = processes(&[("host".into(), me)]);
        let mine = ps
            .iter()
            .find(|p| p.pid == me && p.container == "host")
            .unwrap();
        assert_eq!(
            mine.ppid,
            rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get())
        );
        assert!(mine.stat.starts_with(['R', 'S']), "{}", mine.stat);
        assert!(processes(&[("gone".into(), i32::MAX)]).is_empty());
    }

    #[test]
    fn layouts_as_procps() {
        let users = HashMap::from([(0, "root".to_string())]);
        let p = [sample()];
        assert_eq!(
            render(&p, Format::Short, &clock(), &users),
            "CONTAINER     PID CMD\nc1             42 /bin/sleep 100\n"
        );
        assert_eq!(
            render(&p, Format::Default, &clock(), &users),
            "CONTAINER   PID TTY          TIME CMD\nc1           42 ?        00:00:02 sleep\n"
        );
        // Started 500 s after boot, 2.5 s of CPU over 500 s: C = 0.
        let full = render(&p, Format::Full, &clock(), &users);
        assert_eq!(
            full.lines().next().unwrap(),
            "CONTAINER UID        PID  PPID  C STIME TTY          TIME CMD"
        );
        assert!(
            full.ends_with(
                "c1        root        42     1  0 22:21 ?        00:00:02 /bin/sleep 100\n"
            ),
            "{full}"
        );
        let u = render(&p, Format::User, &clock(), &users);
        assert!(
            u.contains(" 0.5 10.0   2000   100 ?        S    22:21   0:02 /bin/sleep 100"),
            "{u}"
        );
    }

    #[test]
    fn options_and_times() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_options(&[]).unwrap(), Format::Short);
        assert_eq!(parse_options(&s(&["-ef"])).unwrap(), Format::Full);
        assert_eq!(parse_options(&s(&["-e"])).unwrap(), Format::Default);
        assert_eq!(parse_options(&s(&["aux"])).unwrap(), Format::User);
        assert!(parse_options(&s(&["-o", "pid"])).is_err());
        assert!(parse_options(&s(&["--forest"])).is_err());
        assert_eq!(cputime(3 * 86400 + 3661), "3-01:01:01");
        assert_eq!(civil(0), (1970, 1, 1, 0, 0));
        assert_eq!(civil(1_700_000_000), (2023, 11, 14, 22, 13));
        assert_eq!(start_time(1_700_000_000, 1_700_000_100), "22:13");
        assert_eq!(start_time(1_700_000_000, 1_700_600_000), "Nov14");
        assert_eq!(start_time(1_600_000_000, 1_700_000_000), "2020");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
        assert_eq!(tty_name(0), "?");
    }
}
