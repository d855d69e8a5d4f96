//! Creating a [`CgroupSet`]: LXC's naming (lxc.payload.NAME, lxc.cgroup.dir,
//! lxc.cgroup.pattern, numbered suffixes), intermediate directories, cpuset
//! initialisation and v2 controller delegation. Anything created is undone
//! on error.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::layout::{join_cgroup, Hierarchy, Layout};
use super::set::{CgroupDir, CgroupSet, MONITOR_PREFIX, PAYLOAD_PREFIX};
use super::{read_file, write_file};
use crate::config::Config;

/// How many numbered suffixes to try when a name is taken (LXC: NAME-1 ...).
const MAX_SUFFIX: u32 = 1000;

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
                super::owner::mark(&cur);
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
            if !rustix::process::geteuid().is_root() {
                // Nothing delegated (Layout::discover): LXC runs an
                // ordinary user's container without cgroups.
                log::warn!("no cgroup hierarchy is delegated to us: {rel} gets no cgroups");
                return Ok(CgroupSet {
                    relative: rel.to_string(),
                    dirs: Vec::new(),
                    inner: None,
                });
            }
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
                    Ok(()) => {
                        super::owner::mark(&p);
                        made += 1;
                    }
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
                    super::owner::remove_if_ours(&d.path.join(&cand));
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
                super::owner::mark(&next);
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
pub(super) fn undo(dirs: &[CgroupDir]) {
    for d in dirs {
        for p in d.created_parents.iter().rev() {
            super::owner::remove_if_ours(p);
        }
    }
}
