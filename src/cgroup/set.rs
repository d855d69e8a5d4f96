//! [`CgroupSet`]: a container's cgroup in every hierarchy; creation with
//! LXC's naming and numbered suffixes, attach, process listing, kill and
//! removal.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::layout::{join_cgroup, Hierarchy, Layout};
use super::{read_file, write_file};
use crate::config::Config;

/// LXC's prefix of a container's cgroup.
pub const PAYLOAD_PREFIX: &str = "lxc.payload.";
/// LXC's prefix of a monitor's cgroup.
pub const MONITOR_PREFIX: &str = "lxc.monitor.";
/// How many numbered suffixes to try when a name is taken (LXC: NAME-1 ...).
const MAX_SUFFIX: u32 = 1000;
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

/// Splits `a/b/c` into the parent path `a/b` and the leaf `c`.
fn split_rel(rel: &str) -> (String, String) {
    let rel = rel.trim_matches('/');
    match rel.rsplit_once('/') {
        Some((p, l)) => (p.to_string(), l.to_string()),
        None => (String::new(), rel.to_string()),
    }
}

/// Rejects relative cgroup paths that could escape the base cgroup.
fn check_rel(rel: &str, what: &str) -> Result<()> {
    if rel.trim_matches('/').is_empty()
        || rel
            .split('/')
            .any(|c| c == ".." || c == "." || c.contains('\0'))
    {
        bail!("invalid cgroup path \"{rel}\" for {what}");
    }
    Ok(())
}

impl CgroupSet {
    /// Create a container's cgroup under the caller's cgroup in every
    /// hierarchy with controllers (and the unified one). Naming:
    /// lxc.cgroup.dir.container (fixed), else lxc.cgroup.dir/lxc.payload.NAME,
    /// else the global lxc.cgroup.pattern with %n replaced by the name, else
    /// lxc.payload.NAME; generated names get -1, -2 ... when taken.
    /// Anything created is removed again on error.
    pub fn create_payload(
        layout: &Layout,
        name: &str,
        cfg: &Config,
        pattern: Option<&str>,
    ) -> Result<CgroupSet> {
        let (rel, fixed) = if let Some(d) = &cfg.cgroup_dir_container {
            (d.clone(), true)
        } else if let Some(d) = &cfg.cgroup_dir {
            (
                format!("{}/{PAYLOAD_PREFIX}{name}", d.trim_matches('/')),
                false,
            )
        } else if let Some(p) = pattern.filter(|p| !p.is_empty()) {
            (p.replace("%n", name), false)
        } else {
            (format!("{PAYLOAD_PREFIX}{name}"), false)
        };
        let mut set = Self::create(layout, &rel, fixed)
            .with_context(|| format!("creating the cgroup of container {name}"))?;
        // LXC honours .inner only together with the split container/monitor dirs.
        if let (Some(inner), Some(_), Some(_)) = (
            cfg.cgroup_dir_container_inner.as_deref(),
            &cfg.cgroup_dir_container,
            &cfg.cgroup_dir_monitor,
        ) {
            if let Err(e) = set.make_inner(inner) {
                let _ = set.remove();
                return Err(e.context(format!("creating the cgroup of container {name}")));
            }
        }
        Ok(set)
    }

    /// Create the inner sub-cgroup in every dir. On v2 the outer cgroup
    /// holds no process, so its controllers can be delegated to the inner
    /// one.
    fn make_inner(&mut self, inner: &str) -> Result<()> {
        check_rel(inner, "lxc.cgroup.dir.container.inner")?;
        let inner = inner.trim_matches('/').to_string();
        for d in &self.dirs {
            if d.v2 {
                delegate(&d.path);
            }
            let mut cur = d.path.clone();
            for comp in inner.split('/') {
                let parent = cur.clone();
                cur = cur.join(comp);
                std::fs::create_dir(&cur).with_context(|| format!("mkdir {}", cur.display()))?;
                if !d.v2 && d.has("cpuset") {
                    copy_cpuset(&parent, &cur)?;
                }
            }
        }
        self.inner = Some(inner);
        Ok(())
    }

    /// Where the container's processes live: the dirs, or their inner
    /// sub-cgroup (where the container's cgroup namespace should be rooted).
    pub fn process_dirs(&self) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .map(|d| match &self.inner {
                Some(i) => d.path.join(i),
                None => d.path.clone(),
            })
            .collect()
    }

    /// Create the monitor's cgroup: lxc.cgroup.dir.monitor (fixed), else
    /// lxc.cgroup.dir/lxc.monitor.NAME, else lxc.monitor.NAME.
    pub fn create_monitor(layout: &Layout, name: &str, cfg: &Config) -> Result<CgroupSet> {
        let (rel, fixed) = if let Some(d) = &cfg.cgroup_dir_monitor {
            (d.clone(), true)
        } else if let Some(d) = &cfg.cgroup_dir {
            (
                format!("{}/{MONITOR_PREFIX}{name}", d.trim_matches('/')),
                false,
            )
        } else {
            (format!("{MONITOR_PREFIX}{name}"), false)
        };
        Self::create(layout, &rel, fixed)
            .with_context(|| format!("creating the monitor cgroup of container {name}"))
    }

    /// Create `rel` below the caller's cgroup in each container hierarchy.
    /// `fixed`: the name may not get a numbered suffix.
    pub fn create(layout: &Layout, rel: &str, fixed: bool) -> Result<CgroupSet> {
        check_rel(rel, "the container")?;
        let (parent_rel, leaf) = split_rel(rel);
        let hs: Vec<&Hierarchy> = layout.container_hierarchies().collect();
        if hs.is_empty() {
            bail!("no usable cgroup hierarchy");
        }
        let mut dirs: Vec<CgroupDir> = Vec::with_capacity(hs.len());
        // First the parents (kept across suffix attempts).
        for h in &hs {
            let parent = join_cgroup(&h.base_dir(), "/", &parent_rel);
            let mut d = CgroupDir {
                path: parent,
                v2: h.v2,
                controllers: h.controllers.clone(),
                created_parents: Vec::new(),
            };
            if let Err(e) = make_parents(h, &parent_rel, &mut d) {
                undo(&dirs);
                undo(std::slice::from_ref(&d));
                return Err(e);
            }
            dirs.push(d);
        }
        for attempt in 0..MAX_SUFFIX {
            let cand = if attempt == 0 {
                leaf.clone()
            } else {
                format!("{leaf}-{attempt}")
            };
            let mut made = 0;
            let mut taken = false;
            let mut failure = None;
            for (h, d) in hs.iter().zip(dirs.iter()) {
                let p = d.path.join(&cand);
                match std::fs::create_dir(&p) {
                    Ok(()) => made += 1,
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                        taken = true;
                        break;
                    }
                    Err(e) => {
                        failure = Some(anyhow!(e).context(format!("mkdir {}", p.display())));
                        break;
                    }
                }
                if let Err(e) = init_new_dir(h, &d.path, &p) {
                    failure = Some(e);
                    break;
                }
            }
            if taken || failure.is_some() {
                for d in dirs.iter().take(made) {
                    let _ = std::fs::remove_dir(d.path.join(&cand));
                }
            }
            if let Some(e) = failure {
                undo(&dirs);
                return Err(e);
            }
            if taken {
                if fixed {
                    undo(&dirs);
                    bail!("cgroup {rel} already exists");
                }
                continue;
            }
            let relative = if parent_rel.is_empty() {
                cand.clone()
            } else {
                format!("{parent_rel}/{cand}")
            };
            for d in dirs.iter_mut() {
                d.path = d.path.join(&cand);
                if d.v2 {
                    // What the new cgroup can use: what its parent delegated.
                    if let Ok(s) = read_file(&d.path.join("cgroup.controllers")) {
                        d.controllers = s.split_whitespace().map(str::to_string).collect();
                    }
                }
            }
            return Ok(CgroupSet {
                relative,
                dirs,
                inner: None,
            });
        }
        undo(&dirs);
        bail!("no free cgroup name for {rel} (tried {leaf}-1 to {leaf}-{MAX_SUFFIX})")
    }

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
        if dirs.is_empty() {
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

/// Create the missing components of `parent_rel` below `h`'s base cgroup,
/// recording them in `d.created_parents`; on v2 delegate controllers down
/// to the new cgroup's parent.
fn make_parents(h: &Hierarchy, parent_rel: &str, d: &mut CgroupDir) -> Result<()> {
    let mut cur = h.base_dir();
    if h.v2 {
        delegate(&cur);
    }
    for comp in parent_rel.split('/').filter(|c| !c.is_empty()) {
        let next = cur.join(comp);
        match std::fs::create_dir(&next) {
            Ok(()) => {
                d.created_parents.push(next.clone());
                init_new_dir(h, &cur, &next)?;
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("mkdir {}", next.display())),
        }
        if h.v2 {
            delegate(&next);
        }
        cur = next;
    }
    Ok(())
}

/// v2: enable in `dir`'s cgroup.subtree_control every controller it has, so
/// that its children can set limits. One write per missing controller so
/// that one refusal (e.g. EBUSY from the no-internal-processes rule, or a
/// threaded controller) does not block the others; failures only warn, the
/// limit that needs the controller then fails with its own error.
fn delegate(dir: &Path) {
    let Ok(avail) = read_file(&dir.join("cgroup.controllers")) else {
        return;
    };
    let enabled = read_file(&dir.join("cgroup.subtree_control")).unwrap_or_default();
    let enabled: Vec<&str> = enabled.split_whitespace().collect();
    for c in avail.split_whitespace().filter(|c| !enabled.contains(c)) {
        if let Err(e) = write_file(&dir.join("cgroup.subtree_control"), &format!("+{c}")) {
            log::warn!("cannot delegate controller {c} in {}: {e:#}", dir.display());
        }
    }
}

/// v1 cpuset refuses tasks while cpuset.cpus / cpuset.mems are empty, and a
/// new cpuset cgroup starts empty unless the parent has clone_children set
/// (which we do not change on the host): copy them from the parent.
fn init_new_dir(h: &Hierarchy, parent: &Path, dir: &Path) -> Result<()> {
    if h.v2 || !h.has("cpuset") {
        return Ok(());
    }
    copy_cpuset(parent, dir)
}

fn copy_cpuset(parent: &Path, dir: &Path) -> Result<()> {
    for f in ["cpuset.cpus", "cpuset.mems"] {
        // Some kernels mount cpuset with the "noprefix" option.
        let name = if dir.join(f).exists() {
            f
        } else {
            f.trim_start_matches("cpuset.")
        };
        if read_file(&dir.join(name))?.trim().is_empty() {
            let v = read_file(&parent.join(name))?;
            write_file(&dir.join(name), &v)?;
        }
    }
    Ok(())
}

/// rmdir the parents recorded in `dirs` (innermost first), ignoring
/// failures: a parent shared with another container is still in use.
fn undo(dirs: &[CgroupDir]) {
    for d in dirs {
        for p in d.created_parents.iter().rev() {
            let _ = std::fs::remove_dir(p);
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
    for sub in subdirs(dir)? {
        remove_tree(&sub, deadline)?;
    }
    let mut delay = Duration::from_millis(1);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
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
