//! Observing and stopping containers: waiting for states, graceful and hard
//! stops, signals. Used by lxc-stop, lxc-wait, lxc-kill, lxc-shutdown,
//! lxc-destroy.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::monitor::client::{self, Client};
use crate::monitor::events::Subscription;
use crate::monitor::proto::Request;
use crate::monitor::State;

/// How often a waiter double-checks that the monitor still exists (a
/// SIGKILLed monitor publishes nothing).
const LIVENESS_CHECK: Duration = Duration::from_millis(250);

/// Wait until `name` is in one of `states`. `timeout` None: forever.
/// Returns the state reached, or `None` on timeout.
pub fn wait_for(
    lxcpath: &str,
    name: &str,
    states: &[State],
    timeout: Option<Duration>,
) -> Result<Option<State>> {
    // Subscribe before asking, so no transition falls between the two.
    let sub = Subscription::new(lxcpath)?;
    wait_with(&sub, lxcpath, name, states, timeout)
}

/// As [`wait_for`], with a subscription the caller made earlier (before
/// triggering the change it waits for).
pub fn wait_with(
    sub: &Subscription,
    lxcpath: &str,
    name: &str,
    states: &[State],
    timeout: Option<Duration>,
) -> Result<Option<State>> {
    let now = match client::state(lxcpath, name)? {
        State::Stopped => lxc_state(lxcpath, name),
        s => s,
    };
    if states.contains(&now) {
        return Ok(Some(now));
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let slice = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(None);
                }
                left.min(LIVENESS_CHECK)
            }
            None => LIVENESS_CHECK,
        };
        match sub.recv(Some(slice))? {
            Some(ev) if ev.name == name => {
                if let Some(st) = ev.state {
                    if states.contains(&st) {
                        return Ok(Some(st));
                    }
                }
            }
            Some(_) => {}
            None => {
                // No lxcbox monitor (a SIGKILLed one publishes nothing): the
                // container is stopped, or a real LXC runs it (polled, as it
                // publishes to no subscription of ours).
                if Client::connect(lxcpath, name)?.is_none() {
                    let st = lxc_state(lxcpath, name);
                    if states.contains(&st) {
                        return Ok(Some(st));
                    }
                }
            }
        }
    }
}

/// The state of a container no lxcbox monitor runs: what a real LXC says,
/// else STOPPED.
fn lxc_state(lxcpath: &str, name: &str) -> State {
    crate::coexist::running(lxcpath, name).map_or(State::Stopped, |r| r.state)
}

/// Outcome of [`stop`].
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    Done,
    NotRunning,
    /// Graceful stop timed out and killing was not allowed.
    TimedOut,
}

/// How to stop.
#[derive(Debug, Clone, Copy)]
pub struct StopOptions {
    /// Kill at once (lxc.signal.stop) instead of asking init to halt.
    pub kill: bool,
    /// Seconds to wait for a graceful stop; None = forever.
    pub timeout: Option<Duration>,
    /// Do not wait at all.
    pub nowait: bool,
    /// Never escalate to a kill after the timeout.
    pub nokill: bool,
}

/// Stop a running container.
pub fn stop(lxcpath: &str, name: &str, o: StopOptions) -> Result<Stopped> {
    let sub = Subscription::new(lxcpath)?;
    let Some(mut c) = Client::connect(lxcpath, name)? else {
        // Not ours: a real LXC may run it (then say so, do not claim it is
        // not running).
        crate::coexist::refuse_if_run_by_lxc(lxcpath, name)?;
        return Ok(Stopped::NotRunning);
    };
    let req = if o.kill || o.timeout == Some(Duration::ZERO) {
        Request::Kill
    } else {
        halt_request(lxcpath, name)
    };
    if let Err(e) = c.call(req) {
        drop(c);
        return stopped_meanwhile(&sub, lxcpath, name, e);
    }
    drop(c);
    if o.nowait {
        return Ok(Stopped::Done);
    }
    let first_wait = if o.kill { None } else { o.timeout };
    if wait_with(&sub, lxcpath, name, &[State::Stopped], first_wait)?.is_some() {
        return Ok(Stopped::Done);
    }
    if o.nokill {
        return Ok(Stopped::TimedOut);
    }
    if let Some(mut c) = Client::connect(lxcpath, name)? {
        if let Err(e) = c.call(Request::Signal {
            signal: libc::SIGKILL,
        }) {
            drop(c);
            return stopped_meanwhile(&sub, lxcpath, name, e);
        }
    }
    wait_with(&sub, lxcpath, name, &[State::Stopped], None)?;
    Ok(Stopped::Done)
}

/// The graceful stop signal as LXC picks it: lxc.signal.halt of the config
/// file on disk now (edited since the start, it still counts), SIGPWR when
/// it sets none. Without a readable LXCPATH/NAME/config (a container
/// started from `-f FILE`), the monitor uses its running config's.
fn halt_request(lxcpath: &str, name: &str) -> Request {
    let path = std::path::Path::new(lxcpath).join(name).join("config");
    if !path.exists() {
        return Request::Halt;
    }
    match crate::config::Config::load(&path) {
        Ok(cfg) => Request::Signal {
            signal: cfg.signal_halt.unwrap_or(libc::SIGPWR),
        },
        Err(e) => {
            log::warn!("{e:#}; using the running config's lxc.signal.halt");
            Request::Halt
        }
    }
}

/// How long a stop request that failed in transit waits for STOPPED
/// before reporting the failure.
const LOST_REQUEST_WAIT: Duration = Duration::from_secs(30);

/// A stop request failed. Usually the monitor was already going away: a
/// concurrent lxc-stop got there first and the monitor, busy tearing down,
/// closed our connection (ECONNRESET, EPIPE, EOF) without answering. The
/// container is then stopping, which is what was asked: wait for STOPPED.
/// Only if it does not come is the request's error reported.
fn stopped_meanwhile(
    sub: &Subscription,
    lxcpath: &str,
    name: &str,
    err: anyhow::Error,
) -> Result<Stopped> {
    match wait_with(
        sub,
        lxcpath,
        name,
        &[State::Stopped],
        Some(LOST_REQUEST_WAIT),
    )? {
        Some(_) => Ok(Stopped::Done),
        None => Err(err),
    }
}

/// Reboot: init gets lxc.signal.reboot and the monitor starts it again.
/// Waits (unless `nowait`) until the container is RUNNING again.
pub fn reboot(
    lxcpath: &str,
    name: &str,
    timeout: Option<Duration>,
    nowait: bool,
) -> Result<Stopped> {
    let sub = Subscription::new(lxcpath)?;
    let Some(mut c) = Client::connect(lxcpath, name)? else {
        return Ok(Stopped::NotRunning);
    };
    c.call(Request::Reboot)?;
    drop(c);
    if nowait {
        return Ok(Stopped::Done);
    }
    // First the STARTING of the new run, then RUNNING.
    let deadline = timeout.map(|t| Instant::now() + t);
    let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let mut restarted = false;
    loop {
        if left() == Some(Duration::ZERO) {
            return Ok(Stopped::TimedOut);
        }
        match sub.recv(Some(left().unwrap_or(LIVENESS_CHECK).min(LIVENESS_CHECK)))? {
            Some(ev) if ev.name == name => match ev.state {
                Some(State::Starting) => restarted = true,
                Some(State::Running) if restarted => return Ok(Stopped::Done),
                _ => {}
            },
            Some(_) => {}
            None => {
                if Client::connect(lxcpath, name)?.is_none() {
                    anyhow::bail!("the container stopped instead of rebooting");
                }
            }
        }
    }
}

/// Send a signal to init.
pub fn signal(lxcpath: &str, name: &str, sig: i32) -> Result<bool> {
    client::call_done(lxcpath, name, Request::Signal { signal: sig })
}

/// The cgroups of a running container (`None` if it is not running).
pub fn cgroups(lxcpath: &str, name: &str) -> Result<Option<crate::cgroup::CgroupSet>> {
    client::cgroups(lxcpath, name)
}

/// Freeze (`true`) or thaw a running container through its monitor, which
/// publishes FREEZING/FROZEN or THAWED/RUNNING. `Ok(false)`: not running.
pub fn set_frozen(lxcpath: &str, name: &str, freeze: bool) -> Result<bool> {
    let req = if freeze {
        Request::Freeze
    } else {
        Request::Unfreeze
    };
    client::call_done(lxcpath, name, req)
}
