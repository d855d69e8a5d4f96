//! lxc-ls --nesting: the containers inside containers, as LXC lists them.
//!
//! LXC attaches to each running container and lists the same lxcpath
//! there; for a stopped one it follows its rootfs. lxcbox does both from
//! the host, without entering the container's mount namespace:
//!
//! - files are read through the container's root (`/proc/INIT/root`, or the
//!   rootfs directory of a stopped container) with RESOLVE_IN_ROOT rules
//!   (`sys::resolve`: openat2, or its walk before Linux 5.6), so no symlink
//!   in the (untrusted) container can make
//!   the host read one of its own files; only the few keys lxc-ls shows are
//!   taken from a nested config, includes are not followed;
//! - the nested monitors are asked from a thread inside the container's
//!   network namespace, where their abstract command sockets live;
//! - a nested init's pid, which its monitor gives in the container's pid
//!   namespace, is mapped back to the host pid (NSpid in /proc/PID/status,
//!   confirmed by ancestry) to read its interfaces and addresses.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};

use super::ls::{self, Entry, Filter};
use crate::monitor::{client, State};

/// LXC's default depth for `--nesting` without a number (MAX_NESTLVL).
pub const DEFAULT_DEPTH: u32 = 5;

/// Where a container's own containers are looked for.
struct Inside {
    /// The container's `/`.
    root: OwnedFd,
    /// A host pid in the container's namespaces (its init), when running.
    init: Option<i32>,
    /// Depth of that pid namespace in the host's NSpid lists.
    ns_depth: usize,
}

/// The few keys lxc-ls shows, read without following includes.
#[derive(Debug, Default)]
struct Brief {
    start_auto: bool,
    groups: Vec<String>,
    unprivileged: bool,
    rootfs: Option<String>,
}

fn brief(text: &str) -> Brief {
    let mut b = Brief::default();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = crate::config::strip_quotes(v.trim());
        match k.trim() {
            "lxc.start.auto" => b.start_auto = v == "1",
            "lxc.group" if v.is_empty() => b.groups.clear(),
            "lxc.group" => b.groups.push(v.to_string()),
            "lxc.idmap" | "lxc.id_map" => b.unprivileged = !v.is_empty(),
            "lxc.rootfs.path" | "lxc.rootfs" => {
                // Drop a `type:` prefix; only directory rootfs can be
                // followed.
                let p = v.split_once(':').map_or(v, |(t, p)| match t {
                    "dir" => p,
                    _ => "",
                });
                b.rootfs = (!p.is_empty()).then(|| p.to_string());
            }
            _ => {}
        }
    }
    b
}

fn open_in(root: &OwnedFd, path: &str, flags: OFlags) -> Option<OwnedFd> {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    crate::sys::resolve::open_in_root(
        root.as_fd(),
        std::path::Path::new(rel),
        flags | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()
}

/// A file inside the container (at most 1 MiB, as no config is bigger).
fn read_in(root: &OwnedFd, path: &str) -> Option<String> {
    let fd = open_in(root, path, OFlags::RDONLY)?;
    let mut s = String::new();
    std::fs::File::from(fd)
        .take(1 << 20)
        .read_to_string(&mut s)
        .ok()?;
    Some(s)
}

/// Names defined under `lxcpath` inside the container, sorted.
fn names_in(root: &OwnedFd, lxcpath: &str) -> Vec<String> {
    let Some(dir) = open_in(root, lxcpath, OFlags::RDONLY | OFlags::DIRECTORY) else {
        return Vec::new();
    };
    let Ok(rd) = rustix::fs::Dir::read_from(dir.as_fd()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().ok().map(str::to_string))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// NSpid of a host pid (its pid in each namespace, outermost first).
fn nspid(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let l = s.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
            Some(
                l.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect(),
            )
        })
        .unwrap_or_default()
}

fn ppid(pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("PPid:"))?
        .trim()
        .parse()
        .ok()
}

/// The host pid of the process that is `pid` at `depth` of the NSpid lists
/// and descends from `ancestor`.
fn host_pid(ancestor: i32, depth: usize, pid: i32) -> Option<i32> {
    let rd = std::fs::read_dir("/proc").ok()?;
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&h| nspid(h).get(depth) == Some(&pid))
        .find(|&h| {
            let mut p = h;
            for _ in 0..4096 {
                if p == ancestor {
                    return true;
                }
                match ppid(p) {
                    Some(q) if q > 0 => p = q,
                    _ => return false,
                }
            }
            false
        })
}

/// The containers of `lxcpath` inside `place` (running ones queried in its
/// network namespace), as entries named after their parent.
fn entries_in(place: &Inside, lxcpath: &str) -> Vec<(Entry, Brief, Option<i32>)> {
    let names: Vec<(String, Brief)> = names_in(&place.root, lxcpath)
        .into_iter()
        .filter_map(|n| {
            let text = read_in(&place.root, &format!("{lxcpath}/{n}/config"))?;
            Some((n, brief(&text)))
        })
        .collect();
    // The nested monitors' answers: (state, pid, interfaces) per name.
    let answers: Vec<Option<(State, Option<i32>)>> = match place.init {
        Some(init) => crate::net::in_netns(init, || {
            Ok(names
                .iter()
                .map(|(n, _)| match client::info(lxcpath, n) {
                    Ok(Some(r)) => Some((r.state, Some(r.pid))),
                    _ => None,
                })
                .collect())
        })
        .unwrap_or_else(|_| vec![None; names.len()]),
        None => vec![None; names.len()],
    };
    names
        .into_iter()
        .zip(answers)
        .map(|((name, b), ans)| {
            let mut e = ls::Entry::named(name, true);
            e.autostart = b.start_auto;
            e.groups = b.groups.clone();
            e.unprivileged = b.unprivileged;
            let mut host = None;
            if let Some((state, pid)) = ans {
                e.state = state;
                e.pid = pid;
                if let (Some(init), Some(p)) = (place.init, pid) {
                    host = host_pid(init, place.ns_depth, p);
                }
            }
            (e, b, host)
        })
        .collect()
}

/// What is inside `e` (a container of the level above): its root and
/// namespaces when running (`host` is its init's host pid), its rootfs
/// when stopped (`rootfs` read in `parent`, or on the host at level 0).
fn inside(host: Option<i32>, rootfs: Option<&str>, parent: Option<&Inside>) -> Option<Inside> {
    if let Some(h) = host {
        let root = rustix::fs::open(
            format!("/proc/{h}/root"),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let ns_depth = nspid(h).len().saturating_sub(1);
        return Some(Inside {
            root,
            init: Some(h),
            ns_depth,
        });
    }
    let rootfs = rootfs?;
    let root = match parent {
        Some(p) => open_in(&p.root, rootfs, OFlags::PATH | OFlags::DIRECTORY)?,
        None => rustix::fs::open(
            rootfs,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?,
    };
    Some(Inside {
        root,
        init: None,
        ns_depth: 0,
    })
}

/// Add the containers nested in `parent_entry` (and theirs, down to
/// `depth` levels) after it, in LXC's order: each container followed by
/// those inside it. `filter` applies at every level.
fn descend(
    out: &mut Vec<Entry>,
    lxcpath: &str,
    filter: &Filter,
    place: Inside,
    parent_path: &str,
    level: u32,
    depth: u32,
) {
    for (mut e, b, host) in entries_in(&place, lxcpath) {
        if !filter.matches(&e) {
            continue;
        }
        if let Some(h) = host {
            ls::add_live_addresses(h, &mut e);
        }
        let path = format!("{parent_path}/{}", e.name);
        e.level = level;
        e.parent = Some(parent_path.to_string());
        out.push(e);
        if level < depth {
            if let Some(next) = inside(host, b.rootfs.as_deref(), Some(&place)) {
                descend(out, lxcpath, filter, next, &path, level + 1, depth);
            }
        }
    }
}

/// lxc-ls with `--nesting[=depth]`: the filtered containers of `lxcpath`,
/// each followed by its nested containers.
pub fn collect(lxcpath: &str, filter: &Filter, depth: u32) -> Vec<Entry> {
    let mut out = Vec::new();
    for e in ls::collect(lxcpath)
        .into_iter()
        .filter(|e| filter.matches(e))
    {
        let host = (e.state != State::Stopped).then_some(e.pid).flatten();
        let rootfs = crate::container::Container::load(lxcpath, &e.name, None)
            .ok()
            .and_then(|c| {
                let dir = matches!(c.config.rootfs.backend.as_deref(), None | Some("dir"));
                c.rootfs_path().filter(|_| dir)
            });
        let name = e.name.clone();
        out.push(e);
        if depth == 0 {
            continue;
        }
        let rootfs = rootfs.map(|p| p.to_string_lossy().into_owned());
        if let Some(place) = inside(host, rootfs.as_deref(), None) {
            descend(&mut out, lxcpath, filter, place, &name, 1, depth);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brief_reads_only_what_lxc_ls_shows() {
        let b = brief(
            "lxc.start.auto = 1\nlxc.group = a\nlxc.group =\nlxc.group = \"web\"\n\
             lxc.include = /etc/shadow\nlxc.idmap = u 0 100000 65536\n\
             lxc.rootfs.path = dir:/var/lib/lxc/n/rootfs\n",
        );
        assert!(b.start_auto && b.unprivileged);
        assert_eq!(b.groups, ["web"]);
        assert_eq!(b.rootfs.as_deref(), Some("/var/lib/lxc/n/rootfs"));
        assert_eq!(brief("lxc.rootfs.path = btrfs:/x\n").rootfs, None);
        assert_eq!(brief("lxc.rootfs = /r\n").rootfs.as_deref(), Some("/r"));
    }

    #[test]
    fn reads_stay_inside_the_root() {
        let d = std::env::temp_dir().join(format!("lxcbox-nested-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let lxc = d.join("var/lib/lxc");
        std::fs::create_dir_all(lxc.join("n1")).unwrap();
        std::fs::create_dir_all(lxc.join("evil")).unwrap();
        std::fs::write(lxc.join("n1/config"), "lxc.group = g\n").unwrap();
        // An absolute symlink is resolved inside the root, not on the host.
        std::os::unix::fs::symlink("/etc/hostname", lxc.join("evil/config")).unwrap();
        std::fs::create_dir_all(d.join("etc")).unwrap();
        std::fs::write(d.join("etc/hostname"), "lxc.group = inside\n").unwrap();
        let root = rustix::fs::open(&d, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let place = Inside {
            root,
            init: None,
            ns_depth: 0,
        };
        let got: Vec<(String, Vec<String>)> = entries_in(&place, "/var/lib/lxc")
            .into_iter()
            .map(|(e, _, _)| (e.name, e.groups))
            .collect();
        assert_eq!(
            got,
            [
                ("evil".to_string(), vec!["inside".to_string()]),
                ("n1".to_string(), vec!["g".to_string()])
            ]
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
