//! Logging with LXC's levels and `-o FILE -l LEVEL` conventions, on env_logger.

use std::fs::OpenOptions;
use std::io::Write;

use anyhow::{bail, Context, Result};
use log::LevelFilter;

/// LXC's log priorities, from most to least verbose, with their `log` level.
pub const PRIORITIES: &[(&str, LevelFilter)] = &[
    ("TRACE", LevelFilter::Trace),
    ("DEBUG", LevelFilter::Debug),
    ("INFO", LevelFilter::Info),
    ("NOTICE", LevelFilter::Info),
    ("WARN", LevelFilter::Warn),
    ("WARNING", LevelFilter::Warn),
    ("ERROR", LevelFilter::Error),
    ("CRIT", LevelFilter::Error),
    ("ALERT", LevelFilter::Error),
    ("FATAL", LevelFilter::Error),
];

/// Parse an LXC priority name (case-insensitive) or a syslog-style number 0..=8.
pub fn parse_priority(s: &str) -> Result<LevelFilter> {
    let up = s.trim().to_ascii_uppercase();
    if let Some((_, l)) = PRIORITIES.iter().find(|(n, _)| *n == up) {
        return Ok(*l);
    }
    // LXC also accepts the numeric priorities of lxc_log_priority_to_int: 0 (TRACE) .. 8 (FATAL).
    if let Ok(n) = up.parse::<usize>() {
        let by_num = [
            "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRIT", "ALERT", "FATAL",
        ];
        if let Some(name) = by_num.get(n) {
            return parse_priority(name);
        }
    }
    bail!("invalid log priority \"{s}\" (expected one of TRACE DEBUG INFO NOTICE WARN ERROR CRIT ALERT FATAL)")
}

/// Where log records go and at which level.
#[derive(Debug, Clone, Default)]
pub struct LogSetup {
    /// `-o FILE`; `none` disables the file log.
    pub file: Option<String>,
    /// `-l LEVEL`.
    pub priority: Option<String>,
    /// `-q`: nothing on stderr.
    pub quiet: bool,
    /// Without `-l`, show warnings on stderr too (not only errors).
    pub warnings: bool,
}

/// Where records currently go: stderr (LXC's short form) or a log file
/// (LXC's long form). Switchable after start-up, so a container's
/// lxc.log.file / lxc.log.level apply once its config is loaded.
enum Sink {
    Stderr,
    File(std::fs::File),
}

static SINK: std::sync::Mutex<Option<Sink>> = std::sync::Mutex::new(None);

/// lxc.log.syslog: records (at the same level) also go to the system
/// logger, as `<PRI>TOOL[PID]: message` datagrams.
struct Syslog {
    sock: std::os::unix::net::UnixDatagram,
    facility: u8,
}

static SYSLOG: std::sync::Mutex<Option<Syslog>> = std::sync::Mutex::new(None);

/// Where the system logger listens: /dev/log, or `$LXCBOX_SYSLOG_SOCKET`
/// (hosts whose logger is elsewhere, and tests).
fn syslog_socket() -> std::path::PathBuf {
    match std::env::var_os("LXCBOX_SYSLOG_SOCKET") {
        Some(p) if !p.is_empty() => p.into(),
        _ => "/dev/log".into(),
    }
}

/// Send records to syslog with `facility` (daemon, local0 .. local7).
/// Never blocks: a logger that does not keep up loses records.
pub fn enable_syslog(facility: &str) -> Result<()> {
    let code = match facility {
        "daemon" => 3,
        f => match f.strip_prefix("local").and_then(|n| n.parse::<u8>().ok()) {
            Some(n) if n <= 7 => 16 + n,
            _ => bail!("unknown syslog facility \"{facility}\""),
        },
    };
    let path = syslog_socket();
    let sock = std::os::unix::net::UnixDatagram::unbound().context("creating a syslog socket")?;
    sock.connect(&path)
        .with_context(|| format!("connecting to the system logger at {}", path.display()))?;
    sock.set_nonblocking(true)
        .context("setting the syslog socket non-blocking")?;
    *SYSLOG.lock().unwrap_or_else(|e| e.into_inner()) = Some(Syslog {
        sock,
        facility: code,
    });
    Ok(())
}

fn to_syslog(tool: &str, level: log::Level, msg: &str) {
    let g = SYSLOG.lock().unwrap_or_else(|e| e.into_inner());
    let Some(s) = g.as_ref() else { return };
    // Severities of syslog(3): err 3, warning 4, info 6, debug 7.
    let sev = match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    };
    let line = format!(
        "<{}>{tool}[{}]: {msg}",
        u32::from(s.facility) * 8 + sev,
        std::process::id()
    );
    let _ = s.sock.send(line.as_bytes());
}

/// The writer env_logger writes to: the current [`Sink`].
struct SinkWriter;

impl Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut g = SINK.lock().unwrap_or_else(|e| e.into_inner());
        match g.as_mut() {
            Some(Sink::File(f)) => f.write(buf),
            _ => std::io::stderr().write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// True when records go to a log file (-o, lxc.log.file) rather than stderr.
pub fn logs_to_file() -> bool {
    to_file()
}

fn to_file() -> bool {
    matches!(
        SINK.lock().unwrap_or_else(|e| e.into_inner()).as_ref(),
        Some(Sink::File(_))
    )
}

fn open_log(path: &str) -> Result<std::fs::File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening log file {path}"))
}

/// Install the process-wide logger. `tool` is the applet name (`lxc-start`),
/// `name` the container, if any: both prefix every record as LXC does.
pub fn init(tool: &str, name: Option<&str>, setup: &LogSetup) -> Result<()> {
    let level = match &setup.priority {
        Some(p) => parse_priority(p)?,
        None => LevelFilter::Error,
    };
    let (sink, max) = match setup.file.as_deref() {
        Some("none") => (Sink::Stderr, LevelFilter::Off),
        Some(path) => (Sink::File(open_log(path)?), level),
        // Without a log file LXC's stderr shows errors only (log.c's
        // log_append_stderr drops everything below ERROR); an explicit -l
        // shows that level on stderr (LXC would need -o for it).
        None if setup.quiet => (Sink::Stderr, LevelFilter::Off),
        None if setup.priority.is_some() => (Sink::Stderr, level),
        None if setup.warnings => (Sink::Stderr, LevelFilter::Warn),
        None => (Sink::Stderr, LevelFilter::Error),
    };
    *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(sink);
    let long = match name {
        Some(n) => format!("{tool} {n}"),
        None => tool.to_string(),
    };
    let short = match name {
        Some(n) => format!("{tool}: {n}: "),
        None => format!("{tool}: "),
    };
    let mut b = env_logger::Builder::new();
    // Filtering is by log::max_level(), which reconfigure() can change.
    b.filter_level(LevelFilter::Trace);
    b.target(env_logger::Target::Pipe(Box::new(SinkWriter)));
    let ident = tool.to_string();
    let tag = name.map(|n| format!("{n}: ")).unwrap_or_default();
    b.format(move |w, r| {
        to_syslog(&ident, r.level(), &format!("{tag}{}", r.args()));
        if to_file() {
            writeln!(
                w,
                "{long} {} {:<8} {} - {}",
                timestamp(),
                lxc_level(r.level()),
                r.target(),
                r.args()
            )
        } else {
            writeln!(w, "{short}{}", r.args())
        }
    });
    // A second init in one process (tests) is harmless.
    let _ = b.try_init();
    log::set_max_level(max);
    Ok(())
}

/// Apply a container's lxc.log.file / lxc.log.level where the command
/// line (-o / -l) did not already decide, as LXC does.
pub fn apply_config(setup: &LogSetup, file: Option<&str>, level: Option<&str>) -> Result<()> {
    if setup.file.is_none() {
        if let Some(path) = file.filter(|p| !p.is_empty()) {
            let f = open_log(path)?;
            *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(Sink::File(f));
            if setup.priority.is_none() && level.is_none() {
                log::set_max_level(LevelFilter::Error);
            }
        }
    }
    if setup.priority.is_none() && !setup.quiet {
        if let Some(l) = level.filter(|l| !l.is_empty()) {
            log::set_max_level(parse_priority(l)?);
        }
    }
    Ok(())
}

fn lxc_level(l: log::Level) -> &'static str {
    match l {
        log::Level::Trace => "TRACE",
        log::Level::Debug => "DEBUG",
        log::Level::Info => "INFO",
        log::Level::Warn => "WARN",
        log::Level::Error => "ERROR",
    }
}

/// LXC's log timestamp: YYYYMMDDhhmmss.mmm in UTC.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86400));
    let rem = secs.rem_euclid(86400);
    format!(
        "{y:04}{mo:02}{d:02}{:02}{:02}{:02}.{:03}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities() {
        assert_eq!(parse_priority("debug").unwrap(), LevelFilter::Debug);
        assert_eq!(parse_priority("NOTICE").unwrap(), LevelFilter::Info);
        assert_eq!(parse_priority("8").unwrap(), LevelFilter::Error);
        assert!(parse_priority("LOUD").is_err());
    }

    #[test]
    fn civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
