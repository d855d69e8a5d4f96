//! Freeze and thaw. v1: freezer.state (FREEZING until the kernel reports
//! FROZEN); v2: cgroup.freeze, confirmed through the "frozen" line of
//! cgroup.events. The v1 freezer is preferred when mounted (hybrid hosts).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::fs::inotify;

use super::set::CgroupSet;
use super::{read_file, write_file};

/// How long thaw() waits for v2 to report "frozen 0".
const THAW_TIMEOUT: Duration = Duration::from_secs(5);

enum Freezer {
    V1(PathBuf),
    V2(PathBuf),
}

impl CgroupSet {
    fn freezer(&self) -> Result<Freezer> {
        if let Some(d) = self.dirs.iter().find(|d| !d.v2 && d.has("freezer")) {
            return Ok(Freezer::V1(d.path.clone()));
        }
        if let Some(d) = self.unified() {
            // The v2 freezer came with Linux 5.2.
            if !d.path.join("cgroup.freeze").exists() {
                bail!(
                    "no freezer: no v1 freezer hierarchy, and this kernel's cgroup v2 has none (cgroup.freeze, Linux 5.2+)"
                );
            }
            return Ok(Freezer::V2(d.path.clone()));
        }
        bail!("no freezer: neither a v1 freezer hierarchy nor cgroup v2")
    }

    /// Ask the kernel to freeze every task; returns at once (see
    /// [`CgroupSet::wait_frozen`]). Freezing a frozen cgroup is harmless.
    pub fn freeze_start(&self) -> Result<()> {
        match self.freezer()? {
            Freezer::V1(d) => write_file(&d.join("freezer.state"), "FROZEN"),
            Freezer::V2(d) => write_file(&d.join("cgroup.freeze"), "1"),
        }
        .context("freezing")
    }

    /// Wait until the kernel reports the cgroup frozen.
    pub fn wait_frozen(&self, timeout: Duration) -> Result<()> {
        match self.freezer()? {
            Freezer::V1(d) => wait_v1(&d, timeout),
            Freezer::V2(d) => wait_v2(&d, true, timeout),
        }
    }

    /// freeze_start + wait_frozen.
    pub fn freeze(&self, timeout: Duration) -> Result<()> {
        self.freeze_start()?;
        self.wait_frozen(timeout)
    }

    /// Thaw; thawing a running cgroup is harmless.
    pub fn thaw(&self) -> Result<()> {
        match self.freezer()? {
            Freezer::V1(d) => write_file(&d.join("freezer.state"), "THAWED").context("thawing"),
            Freezer::V2(d) => {
                write_file(&d.join("cgroup.freeze"), "0").context("thawing")?;
                wait_v2(&d, false, THAW_TIMEOUT)
            }
        }
    }

    /// One look at a freeze under way, without waiting: true once the
    /// kernel reports the cgroup frozen. On v1 a cgroup still FREEZING is
    /// asked again (writing FROZEN makes the kernel retry tasks it could
    /// not freeze yet); one that went back to THAWED is an error.
    pub fn poll_frozen(&self) -> Result<bool> {
        match self.freezer()? {
            Freezer::V1(d) => {
                let state = d.join("freezer.state");
                match read_file(&state)?.as_str() {
                    "FROZEN" => Ok(true),
                    "THAWED" => bail!("{} went back to THAWED while freezing", state.display()),
                    _ => {
                        write_file(&state, "FROZEN")?;
                        Ok(false)
                    }
                }
            }
            Freezer::V2(d) => v2_frozen(&d),
        }
    }

    /// True when the kernel reports the cgroup completely frozen (a v1
    /// cgroup still FREEZING is not).
    pub fn is_frozen(&self) -> Result<bool> {
        match self.freezer()? {
            Freezer::V1(d) => Ok(read_file(&d.join("freezer.state"))? == "FROZEN"),
            Freezer::V2(d) => v2_frozen(&d),
        }
    }
}

/// v1 has no notification for the FREEZING→FROZEN transition, so poll with
/// a growing sleep. A task that could not be frozen leaves the state at
/// FREEZING; writing FROZEN again makes the kernel retry it.
fn wait_v1(dir: &Path, timeout: Duration) -> Result<()> {
    let state = dir.join("freezer.state");
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_micros(200);
    loop {
        let s = read_file(&state)?;
        match s.as_str() {
            "FROZEN" => return Ok(()),
            "THAWED" => bail!("{} went back to THAWED while freezing", state.display()),
            _ => {}
        }
        if Instant::now() >= deadline {
            bail!("{} still {s} after {timeout:?}", state.display());
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(20));
        write_file(&state, "FROZEN")?;
    }
}

fn v2_frozen(dir: &Path) -> Result<bool> {
    let ev = read_file(&dir.join("cgroup.events"))?;
    Ok(ev.lines().any(|l| l.trim() == "frozen 1"))
}

/// Wait for cgroup.events to report `frozen 1` (or `frozen 0`). The kernel
/// signals each change of cgroup.events as an inotify IN_MODIFY (and a
/// POLLPRI on an open fd), so this sleeps in poll(2), no busy loop. The
/// watch is set before the first read so a change between the two is not
/// lost.
fn wait_v2(dir: &Path, want: bool, timeout: Duration) -> Result<()> {
    let events = dir.join("cgroup.events");
    let ino = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
        .context("inotify_init")?;
    inotify::add_watch(&ino, &events, inotify::WatchFlags::MODIFY)
        .with_context(|| format!("inotify watch on {}", events.display()))?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 1024];
    loop {
        if v2_frozen(dir)? == want {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!(
                "{} did not report frozen {} within {timeout:?}",
                events.display(),
                u8::from(want)
            );
        }
        let ts = rustix::time::Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: left.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(&ino, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(anyhow!(e)).context("poll on inotify"),
        }
        // Drain the queued events; their content does not matter.
        while let Ok(n) = rustix::io::read(&ino, &mut buf) {
            if n == 0 {
                break;
            }
        }
    }
}
