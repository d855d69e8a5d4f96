//! [`CgroupSet`]: a container's cgroup in every hierarchy (created in
//! create.rs): lookup, attach, process listing, kill and removal.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::create::undo;
use super::layout::{join_cgroup, Layout};
use super::{read_file, write_file};

/// LXC's prefix of a container's cgroup.
pub const PAYLOAD_PREFIX: &str = "lxc.payload.";
/// LXC's prefix of a monitor's cgroup.
pub const MONITOR_PREFIX: &str = "lxc.monitor.";

/// How long [`CgroupSet::remove`] retries while exiting tasks linger.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(10);

/// One directory of a [`CgroupSet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupDir {
    pub path: PathBuf,
    pub v2: bool,
    /// v1: the hierarchy's controllers; v2: the cgroup's cgroup.controllers.
    pub controllers: Vec<String>,
    /// Directories we created above `path` (outermost first), removed after it.
    #[serde(default)]
    pub created_parents: Vec<PathBuf>,
}

impl CgroupDir {
    pub fn has(&self, ctrl: &str) -> bool {
        self.controllers.iter().any(|c| c == ctrl)
    }
}

/// A container's (or monitor's) cgroup: one directory per hierarchy.
/// Self-contained, so the monitor can serialize it and tools act on it
/// without rediscovering the layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupSet {
    /// The cgroup's path relative to the creator's cgroup, e.g. `lxc.payload.c1`.
    pub relative: String,
    pub dirs: Vec<CgroupDir>,
    /// lxc.cgroup.dir.container.inner: the sub-cgroup (of every dir) that
    /// processes are attached to, while limits stay on the outer cgroup
    /// which the container cannot write.
    #[serde(default)]
    pub inner: Option<String>,
}

impl CgroupSet {
    /// The cgroup a running process is in, in every hierarchy of `layout`
    /// that a container gets a cgroup in.
    pub fn from_pid(layout: &Layout, pid: i32) -> Result<CgroupSet> {
        let file = format!("/proc/{pid}/cgroup");
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
        let mut dirs = Vec::new();
        let mut relative = String::new();
        for h in layout.container_hierarchies() {
            let key = if h.v2 {
                String::new()
            } else {
                h.controllers.join(",")
            };
            let found = text.lines().find_map(|l| {
                let mut it = l.splitn(3, ':');
                let (_, c, p) = (it.next()?, it.next()?, it.next()?);
                let mut c: Vec<&str> = c.split(',').filter(|s| !s.is_empty()).collect();
                c.sort_unstable();
                (c.join(",") == key).then(|| p.trim_end_matches(" (deleted)").to_string())
            });
            let Some(p) = found else { continue };
            relative = p
                .strip_prefix(h.base.as_str())
                .unwrap_or(&p)
                .trim_start_matches('/')
                .to_string();
            let path = join_cgroup(&h.mountpoint, &h.mount_root, &p);
            let controllers = if h.v2 {
                read_file(&path.join("cgroup.controllers"))
                    .map(|s| s.split_whitespace().map(str::to_string).collect())
                    .unwrap_or_default()
            } else {
                h.controllers.clone()
            };
            dirs.push(CgroupDir {
                path,
                v2: h.v2,
                controllers,
                created_parents: Vec::new(),
            });
        }
        // An ordinary user to whom no hierarchy is delegated has none in
        // the layout (Layout::discover): an empty set, as LXC runs them.
        if dirs.is_empty() && layout.container_hierarchies().next().is_some() {
            bail!("process {pid} is in none of the host's cgroup hierarchies");
        }
        Ok(CgroupSet {
            relative,
            dirs,
            inner: None,
        })
    }

    /// Every directory of the set.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.path.clone()).collect()
    }

    /// The unified (v2) directory, if any.
    pub fn unified(&self) -> Option<&CgroupDir> {
        self.dirs.iter().find(|d| d.v2)
    }

    /// The directory of controller `ctrl`: the v1 one first, else the
    /// unified one when the controller is enabled there.
    pub fn dir_for(&self, ctrl: &str) -> Option<&CgroupDir> {
        self.dirs
            .iter()
            .find(|d| !d.v2 && d.has(ctrl))
            .or_else(|| self.unified().filter(|d| d.has(ctrl)))
    }

    /// True when the set has at least one v1 directory.
    pub fn has_v1(&self) -> bool {
        self.dirs.iter().any(|d| !d.v2)
    }

    /// Move process `pid` (all its threads) into the cgroup, everywhere.
    pub fn attach(&self, pid: i32) -> Result<()> {
        for d in self.process_dirs() {
            write_file(&d.join("cgroup.procs"), &pid.to_string())
                .with_context(|| format!("attaching process {pid} to {}", d.display()))?;
        }
        Ok(())
    }

    /// The processes in the cgroup and its sub-cgroups, sorted.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let d = self
            .unified()
            .or_else(|| self.dirs.first())
            .ok_or_else(|| anyhow!("empty cgroup set"))?;
        let mut out = Vec::new();
        collect_pids(&d.path, &mut out)?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Send `sig` to every process in the cgroup. SIGKILL on v2 uses
    /// cgroup.kill (Linux 5.14+), which also catches processes forked
    /// while we iterate. Otherwise the cgroup is frozen around the pass
    /// (as LXC does), so nothing can fork past the snapshot of pids; a
    /// cgroup that was already frozen stays frozen.
    pub fn kill_all(&self, sig: rustix::process::Signal) -> Result<()> {
        if sig == rustix::process::Signal::KILL {
            if let Some(d) = self.unified() {
                let f = d.path.join("cgroup.kill");
                if f.exists() && write_file(&f, "1").is_ok() {
                    return Ok(());
                }
            }
        }
        let was_frozen = self.is_frozen().unwrap_or(true);
        if !was_frozen {
            if let Err(e) = self.freeze(Duration::from_secs(2)) {
                log::debug!("kill_all: freezing first failed: {e:#}");
            }
        }
        let res = self.signal_each(sig);
        if !was_frozen {
            let _ = self.thaw();
        }
        res
    }

    fn signal_each(&self, sig: rustix::process::Signal) -> Result<()> {
        for pid in self.pids()? {
            let Some(p) = rustix::process::Pid::from_raw(pid) else {
                continue;
            };
            match rustix::process::kill_process(p, sig) {
                Ok(()) | Err(rustix::io::Errno::SRCH) => {}
                Err(e) => {
                    return Err(anyhow!(e)).with_context(|| format!("sending {sig:?} to {pid}"))
                }
            }
        }
        Ok(())
    }

    /// Remove the cgroup (with any sub-cgroups the container made) in every
    /// hierarchy, then the parents we created when they are empty. rmdir
    /// fails with EBUSY while exiting tasks are still being reaped, so it is
    /// retried until [`REMOVE_TIMEOUT`].
    pub fn remove(&self) -> Result<()> {
        let deadline = Instant::now() + REMOVE_TIMEOUT;
        let mut first_err = None;
        for d in &self.dirs {
            if let Err(e) = remove_tree(&d.path, deadline) {
                first_err.get_or_insert(e);
            }
        }
        undo(&self.dirs);
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    let procs = match std::fs::read_to_string(dir.join("cgroup.procs")) {
        Ok(s) => s,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}/cgroup.procs", dir.display())),
    };
    out.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    for sub in subdirs(dir)? {
        collect_pids(&sub, out)?;
    }
    Ok(())
}

/// Sub-cgroups of `dir` (cgroupfs lists files and directories; only
/// directories are cgroups).
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.with_context(|| format!("listing {}", dir.display()))?;
        if ent.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.push(ent.path());
        }
    }
    Ok(out)
}

/// Depth-first rmdir of a cgroup tree, retrying EBUSY until `deadline`.
fn remove_tree(dir: &Path, deadline: Instant) -> Result<()> {
    // Usually the container made no sub-cgroup: one rmdir does it. A
    // cgroup with children (or tasks still exiting) answers EBUSY.
    match std::fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    for sub in subdirs(dir)? {
        remove_tree(&sub, deadline)?;
    }
    let mut delay = Duration::from_millis(1);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => {
                super::owner::forget(dir);
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error())
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(50));
            }
            Err(e) => {
                let mut left = Vec::new();
                let _ = collect_pids(dir, &mut left);
                return Err(e).with_context(|| {
                    format!(
                        "removing cgroup {} (processes left: {left:?})",
                        dir.display()
                    )
                });
            }
        }
    }
}
