//! Payload cgroups that a SIGKILLed monitor left behind.
//!
//! Init dies with its monitor through the parent-death signal (SIGKILL).
//! But a frozen task cannot act on a signal: if the container was frozen
//! when its monitor was killed, init stays in the frozen cgroup forever
//! with SIGKILL pending, the stale lxc.payload.NAME cannot be removed, and
//! the next start of NAME has to take lxc.payload.NAME-1.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{read_file, write_file};

/// How long [`release_killed_frozen`] waits for the released tasks to exit.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// SIGKILL's bit in the SigPnd/ShdPnd masks of /proc/PID/status.
const SIGKILL_BIT: u64 = 1 << (libc::SIGKILL - 1);

/// If the cgroup directory `dir` is frozen and one of its tasks already has
/// a SIGKILL pending, thaw it so the kill takes effect, and wait (a bounded
/// while) for it to empty. Thawing only lets a kill that was already
/// decided happen, so a live frozen container is never thawed by this: its
/// tasks have no SIGKILL pending. Returns true when it thawed `dir`.
/// Call it on every directory of the stale cgroup before removing them.
pub fn release_killed_frozen(dir: &Path) -> bool {
    let v1 = dir.join("freezer.state");
    let v2 = dir.join("cgroup.freeze");
    let (file, thawed) = if v1.exists() {
        (v1, "THAWED")
    } else if v2.exists() {
        (v2, "0")
    } else {
        return false;
    };
    match read_file(&file) {
        Ok(s) if s != thawed => {}
        _ => return false,
    }
    let procs = dir.join("cgroup.procs");
    let pids = read_file(&procs).unwrap_or_default();
    if !pids.lines().any(|p| sigkill_pending(p.trim())) {
        return false;
    }
    if let Err(e) = write_file(&file, thawed) {
        log::warn!("thawing stale cgroup {}: {e:#}", dir.display());
        return false;
    }
    let end = Instant::now() + EXIT_WAIT;
    while Instant::now() < end && !read_file(&procs).unwrap_or_default().is_empty() {
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// True if the process has SIGKILL pending (thread or process-wide queue).
fn sigkill_pending(pid: &str) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status.lines().any(|l| {
        let mask = l
            .strip_prefix("SigPnd:")
            .or_else(|| l.strip_prefix("ShdPnd:"));
        mask.and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .is_some_and(|m| m & SIGKILL_BIT != 0)
    })
}
