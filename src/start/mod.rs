//! The launch pipeline: lxc-start / lxc-execute become the container's
//! monitor, clone the child into new namespaces, step through setup in
//! lock-step with it, serve the command socket while init runs, and clean
//! up everything when it ends.
//!
//! - [`plan`]: the immutable plan, built before anything is created, with
//!   THE namespace decision ([`namespaces`]);
//! - [`live`]: the one owner of what the start creates (undone on drop);
//! - [`launch`]: one run as its life cycle (STARTING → RUNNING → STOPPING,
//!   or ABORTING), [`child`] the container's side, [`sync`] their typed
//!   messages;
//! - [`serve`]: the monitor's event loop, which never blocks.

mod cgroups;
mod child;
mod console;
pub mod daemon;
pub mod hooks;
mod launch;
mod limits;
mod live;
pub mod lock;
pub mod namespaces;
pub mod plan;
mod serve;
mod sync;
pub mod words;

pub use serve::RunEnd;

use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::container::Container;
use crate::monitor::events::Publisher;
use crate::monitor::State;
use crate::namespace::Namespace;
use crate::sys::process::{self, ExitStatus};

/// For the ephemeral sentinel (crate::store::ephemeral), which clears what
/// a killed monitor left.
pub(crate) use cgroups::remove_stale as remove_stale_cgroups;

/// What the applet asks for.
#[derive(Debug)]
pub struct StartSpec {
    pub container: Container,
    /// The command after `--` (may be empty).
    pub command: Vec<String>,
    /// lxc-execute: lxcbox's init is PID 1 and runs the command as PID 2.
    pub execute: bool,
    /// --share-net/ipc/uts/pid: (namespace, NAME|PID)
    pub share: Vec<(Namespace, String)>,
    /// lxc-execute -u / -g
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Fork a monitor into the background (lxc-start's default, -d).
    pub daemon: bool,
    /// lxc-start -F: the caller's terminal becomes the container's console.
    pub foreground: bool,
    pub pidfile: Option<PathBuf>,
}

/// Raised when the container already runs: LXC reports it and exits 0.
#[derive(Debug)]
pub struct AlreadyRunning;

impl std::fmt::Display for AlreadyRunning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Container is already running")
    }
}

impl std::error::Error for AlreadyRunning {}

/// The lock is held. A monitor that has just announced STOPPED (or is
/// STOPPING) still holds it for a moment: lxc-stop has returned, and a start
/// right after it must not be refused for that. Wait for such a monitor to
/// let go (bounded); refuse at once when the container runs or starts.
fn lock_after_teardown(lxcpath: &str, name: &str) -> Result<lock::StartLock> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match crate::monitor::client::state(lxcpath, name)? {
            State::Running => return Err(AlreadyRunning.into()),
            State::Stopped | State::Stopping if std::time::Instant::now() < deadline => {}
            _ => bail!("the container is already being started or stopped by another process"),
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        if let Some(l) = lock::try_lock(lxcpath, name)? {
            return Ok(l);
        }
    }
}

/// Start a container. Returns the exit status the applet should exit with
/// (init's status; 0 for a daemonised start that reached RUNNING).
pub fn start(spec: StartSpec) -> Result<i32> {
    let name = spec.container.name.clone();
    let lxcpath = spec.container.lxcpath.clone();
    let mut lock = match lock::try_lock(&lxcpath, &name)? {
        Some(l) => l,
        None => lock_after_teardown(&lxcpath, &name)?,
    };
    // A container a real LXC runs (or starts right now) is refused; while
    // ours runs, LXC cannot start it.
    lock.hold_lxc_claim(crate::coexist::claim(&lxcpath, &name)?);
    let listener = bind_command_socket(&lxcpath, &name)?;
    if spec.daemon {
        match daemon::fork()? {
            daemon::Forked::Parent(r) => {
                drop(listener);
                drop(lock);
                r?;
                return Ok(0);
            }
            daemon::Forked::Child(mut n) => {
                let r = monitor(spec, listener, lock, Some(&mut n));
                if let Err(e) = &r {
                    n.fail(&format!("{e:#}"));
                }
                process::exit_now(r.map(|s| s.code()).unwrap_or(1));
            }
        }
    }
    monitor(spec, listener, lock, None).map(ExitStatus::code)
}

fn bind_command_socket(lxcpath: &str, name: &str) -> Result<UnixListener> {
    let addr = crate::monitor::client::command_addr(lxcpath, name)?;
    match UnixListener::bind_addr(&addr) {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(AlreadyRunning.into()),
        Err(e) => Err(e).context("binding the command socket"),
    }
}

/// lxc.monitor.unshare: the monitor gets a mount namespace of its own
/// (a recursive slave of the host's) before any hook runs, as LXC does.
fn unshare_monitor_mounts() -> Result<()> {
    process::unshare(libc::CLONE_NEWNS)
        .context("lxc.monitor.unshare: unsharing the monitor's mount namespace")?;
    rustix::mount::mount_change(
        "/",
        rustix::mount::MountPropagationFlags::DOWNSTREAM
            | rustix::mount::MountPropagationFlags::REC,
    )
    .context("lxc.monitor.unshare: making / a recursive slave")
}

/// How long an exiting monitor keeps retrying events for subscribers
/// that stopped reading.
const EVENT_DRAIN: Duration = Duration::from_secs(1);

/// The monitor: run the container (again on reboot) until it stops.
fn monitor(
    spec: StartSpec,
    listener: UnixListener,
    lock: lock::StartLock,
    mut notify: Option<&mut daemon::Notifier>,
) -> Result<ExitStatus> {
    let c = &spec.container;
    let publisher = Publisher::new(&c.lxcpath, &c.name);
    let _ = process::set_proctitle(&format!("[lxc monitor] {} {}", c.lxcpath, c.name));
    if let Some(p) = &spec.pidfile {
        let pid = format!("{}\n", std::process::id());
        crate::fsutil::write_volatile(p, pid.as_bytes(), 0o644)
            .with_context(|| format!("writing pidfile {}", p.display()))?;
    }
    if c.config.monitor_unshare {
        unshare_monitor_mounts()?;
    }
    if let Some(f) = &c.config.log_syslog {
        if let Err(e) = crate::log::enable_syslog(f) {
            log::warn!("lxc.log.syslog = {f}: {e:#}");
        }
    }
    // An ephemeral container is destroyed when it stops, even if this
    // monitor is killed (storage helper: crate::store::ephemeral).
    let _ephemeral = crate::store::ephemeral::watch(c)?;
    process::block_all_signals().context("blocking signals")?;
    // Window-size changes of a -F terminal are handled by the console's
    // own SIGWINCH handler, not the monitor's signalfd.
    process::unblock_signal(libc::SIGWINCH).context("unblocking SIGWINCH")?;
    let layout = cgroups::layout(&c.config)?;
    cgroups::remove_stale(&layout, &c.name);
    // A daemonised monitor lives as long as its container: it gets its own
    // cgroup (lxc.monitor.NAME) as with LXC. A foreground lxc-execute /
    // lxc-start -F stays in its caller's cgroup like any command: moving a
    // process between v1 cgroups costs an RCU grace period (the
    // cgroup_threadgroup_rwsem write side), several milliseconds, twice.
    // Payload cgroups are created from `layout`, i.e. under the cgroup the
    // monitor started in, even after it moved into its own.
    let monitor_cg = if spec.daemon {
        Some(cgroups::enter_monitor_cgroup(&layout, &c.name, &c.config)?)
    } else {
        None
    };
    let ctx = launch::RunCtx {
        spec: &spec,
        layout: &layout,
        listener: &listener,
        publisher: &publisher,
    };
    let result = loop {
        publisher.state(State::Starting);
        match launch::launch_once(&ctx, notify.as_deref_mut()) {
            Ok(RunEnd::Reboot(_)) => publisher.state(State::Stopped),
            Ok(RunEnd::Stopped(status)) => break Ok(status),
            Err(e) => break Err(e),
        }
    };
    if let Some(p) = &spec.pidfile {
        let _ = std::fs::remove_file(p);
    }
    // Everything is undone before STOPPED is announced: whoever waits for
    // it (lxc-stop, lxc-wait) finds nothing of the container left.
    if let Some((mon, original)) = monitor_cg {
        cgroups::leave_monitor_cgroup(&layout, &c.config, mon, original);
    }
    crate::store::ephemeral::on_stop(c);
    // Stop answering before STOPPED is announced: whoever sees STOPPED
    // must find nobody at the command socket (a second lxc-stop then says
    // "not running"). The lock stays until STOPPED is out, so a new start
    // cannot publish its STARTING before our STOPPED.
    drop(listener);
    publisher.state(State::Stopped);
    drop(lock);
    // A subscriber that stopped reading gets a last chance, bounded.
    publisher.drain(EVENT_DRAIN);
    // The caller's signal mask is not restored: the applet exits right
    // after the monitor returns.
    result
}
