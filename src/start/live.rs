//! The one owner of what a start creates on the host: the payload cgroups,
//! the console hub (pty masters, a -F terminal in raw mode), the shared
//! namespaces it opened, init itself, the host side of the network, and
//! init's namespaces preserved for the stop hook. Dropping it undoes all
//! of it in reverse order, so an error anywhere in the start (`?`) leaves
//! nothing behind; a normal stop calls [`Live::undo`] at its point in the
//! life cycle.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use crate::cgroup::CgroupSet;
use crate::console::ConsoleHub;
use crate::namespace::Namespace;

use super::namespaces::SharedNs;

/// Init, running: signalled through its pidfd, or by pid on kernels
/// without pidfds (safe until it is reaped, which [`Init::wait`] records).
pub type Init = crate::sys::spawn::Child;

#[derive(Default)]
pub struct Live {
    pub cgroups: Option<CgroupSet>,
    /// (controller dir under /sys/fs/cgroup, container cgroup dir) for
    /// lxc.mount.auto = cgroup, derived from `cgroups`.
    pub cgroup_paths: Vec<(String, PathBuf)>,
    pub hub: Option<ConsoleHub>,
    pub shared: Vec<SharedNs>,
    pub init: Option<Init>,
    pub net: Option<crate::net::HostNet>,
    /// Init's namespaces, open in the monitor for the stop hook.
    pub preserved: Vec<(Namespace, OwnedFd)>,
}

impl Live {
    /// The console plan the child needs (ptys are inherited through the clone).
    pub fn console_plan(
        &self,
        cfg: &crate::config::Config,
        only_ttys: bool,
    ) -> Option<super::console::ConsolePlan> {
        self.hub
            .as_ref()
            .map(|h| super::console::plan(h, cfg, only_ttys))
    }

    /// The shared namespace `ns`, if one is joined.
    pub fn shared_fd(&self, ns: Namespace) -> Option<&OwnedFd> {
        self.shared.iter().find(|s| s.ns == ns).map(|s| &s.fd)
    }

    /// Take everything back, in reverse order of creation: SIGKILL init and
    /// reap it, kill what is left in the cgroups (a shared PID namespace
    /// does not die with init) and remove them, tear the network down,
    /// release the console (restoring a -F terminal). Idempotent.
    pub fn undo(&mut self) {
        if let Some(init) = self.init.take() {
            let _ = init.kill(libc::SIGKILL);
            let _ = init.wait(false);
        }
        if let Some(cg) = self.cgroups.take() {
            let _ = cg.kill_all(rustix::process::Signal::KILL);
            if let Err(e) = cg.remove() {
                log::error!("removing the container's cgroups: {e:#}");
            }
        }
        if let Some(n) = self.net.take() {
            if let Err(e) = n.teardown() {
                log::error!("removing the container's network devices: {e:#}");
            }
        }
        self.hub = None;
        self.preserved.clear();
        self.shared.clear();
    }

    /// LXC's stop-hook view of the namespaces: `/proc/MONITOR/fd/N` per
    /// preserved namespace (hook version 1: LXC_<NS>_NS variables; version
    /// 0: `ns:path` arguments).
    pub fn namespace_paths(&self) -> Vec<(Namespace, String)> {
        let me = std::process::id();
        self.preserved
            .iter()
            .map(|(ns, fd)| {
                use std::os::fd::AsRawFd;
                (*ns, format!("/proc/{me}/fd/{}", fd.as_raw_fd()))
            })
            .collect()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.undo();
    }
}
