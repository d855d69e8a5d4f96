//! Cgroup layout discovery: which hierarchies are mounted where, which
//! controllers each one carries, and where the calling process sits in each.
//!
//! Sources: /proc/self/mountinfo (mount points, v1 controllers from the
//! super options) and /proc/self/cgroup (the process's path per hierarchy).
//! Both paths are parameters so unit tests run on fixture files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The three host layouts lxcbox supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Only cgroup v1 hierarchies (possibly plus named ones like name=systemd).
    Legacy,
    /// v1 controllers plus a unified (v2) mount, usually /sys/fs/cgroup/unified.
    Hybrid,
    /// Only the unified hierarchy.
    Unified,
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    /// True for the unified (cgroup2) hierarchy.
    pub v2: bool,
    /// Where it is mounted.
    pub mountpoint: PathBuf,
    /// The mount's root inside the hierarchy (4th mountinfo field).
    pub mount_root: String,
    /// v1: controllers from the super options (`cpu`, `cpuacct`, `name=systemd`);
    /// v2: the controllers listed in the base cgroup's cgroup.controllers.
    pub controllers: Vec<String>,
    /// The calling process's cgroup in this hierarchy, from /proc/self/cgroup.
    pub base: String,
}

impl Hierarchy {
    /// The directory of the calling process's cgroup.
    pub fn base_dir(&self) -> PathBuf {
        join_cgroup(&self.mountpoint, &self.mount_root, &self.base)
    }

    /// May the caller make cgroups below its own here (the directory and
    /// its cgroup.procs writable)?
    pub fn delegated(&self) -> bool {
        use rustix::fs::{access, Access};
        let d = self.base_dir();
        access(&d, Access::WRITE_OK).is_ok()
            && access(d.join("cgroup.procs"), Access::WRITE_OK).is_ok()
    }

    /// True when it carries `ctrl` (a v1 controller or a v2 enabled one).
    pub fn has(&self, ctrl: &str) -> bool {
        self.controllers.iter().any(|c| c == ctrl)
    }

    /// True for a v1 hierarchy with at least one real controller (not only
    /// a named hierarchy such as name=systemd).
    pub fn has_real_controller(&self) -> bool {
        !self.v2 && self.controllers.iter().any(|c| !c.starts_with("name="))
    }
}

/// The cgroup layout of the host (as seen from the calling process).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub hierarchies: Vec<Hierarchy>,
}

/// Mount options of cgroup filesystems that are not controller names.
const NON_CONTROLLER_OPTS: &[&str] = &[
    "rw",
    "ro",
    "xattr",
    "noprefix",
    "clone_children",
    "cpuset_v2_mode",
    "nsdelegate",
    "favordynmods",
    "memory_localevents",
    "memory_recursiveprot",
    "memory_hugetlb_accounting",
    "pids_localevents",
];

impl Layout {
    /// Discover the layout of the calling process. For an ordinary user,
    /// only the hierarchies delegated to them: as LXC's cgfsng
    /// (legacy_hierarchy_delegated, unified_hierarchy_delegated), a
    /// hierarchy whose cgroup of ours we cannot write is skipped, and a
    /// host that delegated none runs the user's containers without cgroups.
    pub fn discover() -> Result<Layout> {
        let mut l = Self::from_files(
            Path::new("/proc/self/mountinfo"),
            Path::new("/proc/self/cgroup"),
        )?;
        if !rustix::process::geteuid().is_root() {
            l.hierarchies.retain(|h| {
                let ok = h.delegated();
                if !ok {
                    log::info!(
                        "cgroup hierarchy {} is not delegated to us ({} not writable): skipped, \
                         as LXC does",
                        h.mountpoint.display(),
                        h.base_dir().display()
                    );
                }
                ok
            });
        }
        Ok(l)
    }

    /// Discover from explicit files (fixtures in tests, /proc/PID/* for another process).
    pub fn from_files(mountinfo: &Path, proc_cgroup: &Path) -> Result<Layout> {
        let mi = std::fs::read_to_string(mountinfo)
            .with_context(|| format!("reading {}", mountinfo.display()))?;
        let pc = std::fs::read_to_string(proc_cgroup)
            .with_context(|| format!("reading {}", proc_cgroup.display()))?;
        Self::parse(&mi, &pc).with_context(|| {
            format!(
                "cgroup layout from {} and {}",
                mountinfo.display(),
                proc_cgroup.display()
            )
        })
    }

    /// Parse mountinfo and /proc/PID/cgroup text.
    pub fn parse(mountinfo: &str, proc_cgroup: &str) -> Result<Layout> {
        let paths = parse_proc_cgroup(proc_cgroup)?;
        let mut mounts = Vec::new();
        for (lineno, line) in mountinfo.lines().enumerate() {
            let Some(m) = parse_mountinfo_line(line) else {
                if line.trim().is_empty() {
                    continue;
                }
                bail!("mountinfo line {}: cannot parse \"{line}\"", lineno + 1);
            };
            mounts.push(m);
        }
        // A mount on the same path or on an ancestor made later (listed
        // later) hides this one, e.g. cgroup2 mounted over /sys/fs/cgroup
        // hides the v1 mounts below it.
        let visible: Vec<&MountLine> = mounts
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                !mounts[i + 1..]
                    .iter()
                    .any(|later| Path::new(&m.mountpoint).starts_with(&later.mountpoint))
            })
            .map(|(_, m)| m)
            .collect();
        let mut hierarchies: Vec<Hierarchy> = Vec::new();
        for m in visible {
            let v2 = match m.fstype {
                "cgroup2" => true,
                "cgroup" => false,
                _ => continue,
            };
            let mut controllers: Vec<String> = if v2 {
                Vec::new()
            } else {
                m.super_opts
                    .split(',')
                    .filter(|o| {
                        !NON_CONTROLLER_OPTS.contains(o) && !o.starts_with("release_agent=")
                    })
                    .map(str::to_string)
                    .collect()
            };
            controllers.sort();
            // The same hierarchy may be mounted more than once (bind mounts,
            // nested containers): keep the first mount of each.
            if hierarchies
                .iter()
                .any(|h| h.v2 == v2 && (v2 || h.controllers == controllers))
            {
                continue;
            }
            let key = if v2 {
                String::new()
            } else {
                controllers.join(",")
            };
            let Some(base) = paths
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, p)| p.clone())
            else {
                // Mounted but the process is not in it (e.g. a hierarchy
                // from another cgroup namespace): unusable.
                continue;
            };
            let mut h = Hierarchy {
                v2,
                mountpoint: PathBuf::from(&m.mountpoint),
                mount_root: m.root.to_string(),
                controllers,
                base,
            };
            if v2 {
                // Best effort: a fixture has no cgroup.controllers file.
                if let Ok(s) = std::fs::read_to_string(h.base_dir().join("cgroup.controllers")) {
                    h.controllers = s.split_whitespace().map(str::to_string).collect();
                }
            }
            hierarchies.push(h);
        }
        if hierarchies.is_empty() {
            bail!("no cgroup hierarchy is mounted");
        }
        Ok(Layout { hierarchies })
    }

    /// Legacy, hybrid or unified.
    pub fn mode(&self) -> Mode {
        // parse() guarantees at least one hierarchy.
        let v1 = self.hierarchies.iter().any(|h| !h.v2);
        match (v1, self.unified().is_some()) {
            (true, true) => Mode::Hybrid,
            (true, false) => Mode::Legacy,
            _ => Mode::Unified,
        }
    }

    /// The unified hierarchy, if mounted.
    pub fn unified(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.v2)
    }

    /// The hierarchy that carries `ctrl`: a v1 one first, else the unified one
    /// when it has the controller enabled.
    pub fn controller(&self, ctrl: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| !h.v2 && h.has(ctrl))
            .or_else(|| self.unified().filter(|h| h.has(ctrl)))
    }

    /// The hierarchies a container gets a cgroup in: every v1 hierarchy with a
    /// real controller, plus the unified one.
    pub fn container_hierarchies(&self) -> impl Iterator<Item = &Hierarchy> {
        self.hierarchies
            .iter()
            .filter(|h| h.v2 || h.has_real_controller())
    }
}

/// `mountpoint` + (`path` relative to the mount's `root`).
pub(crate) fn join_cgroup(mountpoint: &Path, root: &str, path: &str) -> PathBuf {
    let rel = if root != "/" {
        path.strip_prefix(root).unwrap_or(path)
    } else {
        path
    };
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        mountpoint.to_path_buf()
    } else {
        mountpoint.join(rel)
    }
}

/// /proc/PID/cgroup: `ID:CONTROLLERS:PATH` lines → (sorted controllers joined
/// by ',', path). The v2 line has empty controllers.
fn parse_proc_cgroup(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            bail!("/proc/PID/cgroup line {}: cannot parse \"{line}\"", i + 1);
        };
        let mut c: Vec<&str> = ctrls.split(',').filter(|s| !s.is_empty()).collect();
        c.sort_unstable();
        // A "(deleted)" suffix appears when the cgroup was removed under us.
        let path = path.trim_end_matches(" (deleted)");
        out.push((c.join(","), path.to_string()));
    }
    Ok(out)
}

struct MountLine<'a> {
    root: &'a str,
    mountpoint: String,
    fstype: &'a str,
    super_opts: &'a str,
}

/// One /proc/PID/mountinfo line; None when malformed.
fn parse_mountinfo_line(line: &str) -> Option<MountLine<'_>> {
    let (left, right) = line.split_once(" - ")?;
    let mut l = left.split(' ');
    let _id = l.next()?;
    let _parent = l.next()?;
    let _devno = l.next()?;
    let root = l.next()?;
    let mountpoint = unescape_octal(l.next()?);
    let mut r = right.split(' ');
    let fstype = r.next()?;
    let _source = r.next()?;
    let super_opts = r.next().unwrap_or("");
    Some(MountLine {
        root,
        mountpoint,
        fstype,
        super_opts,
    })
}

/// The kernel escapes space, tab, newline and backslash in mountinfo as
/// \ooo, as fstab does.
fn unescape_octal(s: &str) -> String {
    crate::mount::fstab::unescape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Layout {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cgroup");
        Layout::from_files(
            &d.join(format!("{name}.mountinfo")),
            &d.join(format!("{name}.cgroup")),
        )
        .unwrap()
    }

    #[test]
    fn hybrid() {
        let l = fixture("hybrid");
        assert_eq!(l.mode(), Mode::Hybrid);
        assert_eq!(l.hierarchies.len(), 10);
        let mem = l.controller("memory").unwrap();
        assert_eq!(
            mem.base_dir(),
            Path::new("/sys/fs/cgroup/memory/process_api/e73ed2ed")
        );
        assert_eq!(
            l.unified().unwrap().base_dir(),
            Path::new("/sys/fs/cgroup/unified")
        );
        // name=systemd has no real controller: no container cgroup there.
        assert_eq!(l.container_hierarchies().count(), 9);
        assert!(l.controller("name=systemd").is_some());
    }

    #[test]
    fn legacy_comounted_and_named() {
        let l = fixture("v1");
        assert_eq!(l.mode(), Mode::Legacy);
        // The second mount of cpu,cpuacct is a duplicate.
        assert_eq!(l.hierarchies.len(), 6);
        let cpu = l.controller("cpuacct").unwrap();
        assert_eq!(cpu.controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(
            cpu.base_dir(),
            Path::new("/sys/fs/cgroup/cpu,cpuacct/user.slice")
        );
        let sd = l.controller("name=systemd").unwrap();
        assert_eq!(sd.controllers, vec!["name=systemd"]);
        assert_eq!(
            l.controller("freezer").unwrap().base_dir(),
            Path::new("/sys/fs/cgroup/freezer/user/1000")
        );
        assert!(l.controller("cpuset").unwrap().controllers == vec!["cpuset"]);
        assert!(l.unified().is_none());
    }

    #[test]
    fn unified_only() {
        let l = fixture("v2");
        assert_eq!(l.mode(), Mode::Unified);
        let u = l.unified().unwrap();
        assert_eq!(
            u.base_dir(),
            Path::new("/sys/fs/cgroup/user.slice/user-0.slice/session-1.scope")
        );
        assert_eq!(l.container_hierarchies().count(), 1);
    }

    #[test]
    fn later_mount_hides_earlier() {
        // cgroup2 mounted over /sys/fs/cgroup in a private mount namespace.
        let l = fixture("shadowed");
        assert_eq!(l.mode(), Mode::Unified);
        assert_eq!(l.hierarchies.len(), 1);
        assert_eq!(l.hierarchies[0].mountpoint, Path::new("/sys/fs/cgroup"));
    }

    #[test]
    fn bind_mounted_subtree() {
        // Inside a container the mount root is the container's cgroup.
        let l = fixture("container-v1");
        assert_eq!(
            l.hierarchies[0].base_dir(),
            Path::new("/sys/fs/cgroup/cpu,cpuacct/inner")
        );
    }

    #[test]
    fn octal_escapes() {
        assert_eq!(unescape_octal("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape_octal("/x\\\\y"), "/x\\\\y");
        assert_eq!(unescape_octal("/end\\04"), "/end\\04");
    }

    #[test]
    fn errors() {
        assert!(Layout::parse("garbage\n", "0::/\n").is_err());
        assert!(Layout::parse("", "0::/\n").is_err());
        assert!(Layout::parse("", "nonsense\n").is_err());
    }
}
