//! Snapshot-clone dependency records, in LXC's format:
//!
//! - `LXCPATH/ORIGIN/lxc_snapshots`: one `LXCPATH\nNAME\n` pair per clone
//!   that needs the origin's rootfs (an overlay on top of it). While it is
//!   not empty the origin cannot be destroyed. (An older format holds just
//!   a count; it is kept up to date the same way.)
//! - `LXCPATH/CLONE/lxc_rdepends`: the `LXCPATH\nNAME\n` pairs of the
//!   containers the clone depends on.
//!
//! Updates take an exclusive lock on the file and rewrite it through a
//! temporary file, so concurrent clones never lose an entry.

use std::path::Path;

use anyhow::{Context, Result};
use rustix::fs::FlockOperation;

pub const SNAPSHOTS: &str = "lxc_snapshots";
pub const RDEPENDS: &str = "lxc_rdepends";

/// A container by (lxcpath, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub lxcpath: String,
    pub name: String,
}

fn parse_pairs(text: &str) -> Vec<Ref> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| Ref {
            lxcpath: c[0].to_string(),
            name: c[1].to_string(),
        })
        .collect()
}

fn render(refs: &[Ref]) -> String {
    refs.iter()
        .map(|r| format!("{}\n{}\n", r.lxcpath, r.name))
        .collect()
}

/// The clones recorded in `dir/lxc_snapshots` (empty for the old count format).
pub fn snapshots_of(dir: &Path) -> Vec<Ref> {
    let text = std::fs::read_to_string(dir.join(SNAPSHOTS)).unwrap_or_default();
    if text.trim().parse::<i64>().is_ok() {
        return Vec::new();
    }
    parse_pairs(&text)
}

/// True when `dir/lxc_snapshots` records any clone (either format).
pub fn has_clones(dir: &Path) -> bool {
    let text = std::fs::read_to_string(dir.join(SNAPSHOTS)).unwrap_or_default();
    match text.trim().parse::<i64>() {
        Ok(n) => n != 0,
        Err(_) => !text.trim().is_empty(),
    }
}

/// The origins recorded in `dir/lxc_rdepends`.
pub fn rdepends_of(dir: &Path) -> Vec<Ref> {
    parse_pairs(&std::fs::read_to_string(dir.join(RDEPENDS)).unwrap_or_default())
}

/// Run `f` on the contents of `path` under an exclusive lock; the result
/// replaces the file (an empty result removes it).
fn update(path: &Path, f: impl FnOnce(&str) -> String) -> Result<()> {
    // The lock is on the directory itself: no lock file to leave behind
    // (and no race between removing one and another process opening it).
    let dir = path.parent().unwrap_or(Path::new("/"));
    let lock = std::fs::File::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    rustix::fs::flock(&lock, FlockOperation::LockExclusive)
        .with_context(|| format!("locking {}", dir.display()))?;
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let new = f(&old);
    let r = if new.is_empty() {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        }
    } else {
        crate::fsutil::write_atomic(path, new.as_bytes(), 0o644)
    };
    drop(lock);
    r
}

/// Record `clone` in `origin_dir/lxc_snapshots` (or count it up in the old format).
pub fn add_snapshot(origin_dir: &Path, clone: &Ref) -> Result<()> {
    update(&origin_dir.join(SNAPSHOTS), |old| {
        match old.trim().parse::<i64>() {
            Ok(n) if n != 0 => format!("{}\n", n + 1),
            _ if old.trim().parse::<i64>().is_ok() => render(std::slice::from_ref(clone)),
            _ => format!("{old}{}", render(std::slice::from_ref(clone))),
        }
    })
}

/// Remove `clone` from `origin_dir/lxc_snapshots` (or count it down).
pub fn remove_snapshot(origin_dir: &Path, clone: &Ref) -> Result<()> {
    if !origin_dir.join(SNAPSHOTS).exists() {
        return Ok(());
    }
    update(&origin_dir.join(SNAPSHOTS), |old| {
        match old.trim().parse::<i64>() {
            Ok(n) if n > 1 => format!("{}\n", n - 1),
            Ok(_) => String::new(),
            Err(_) => {
                let mut v = parse_pairs(old);
                v.retain(|r| r != clone);
                render(&v)
            }
        }
    })
}

/// Append `origin` to `clone_dir/lxc_rdepends`.
pub fn add_rdepend(clone_dir: &Path, origin: &Ref) -> Result<()> {
    update(&clone_dir.join(RDEPENDS), |old| {
        format!("{old}{}", render(std::slice::from_ref(origin)))
    })
}

/// The container `dir` is going away: take it out of the lxc_snapshots of
/// every container it depended on.
pub fn forget(dir: &Path, me: &Ref) {
    for o in rdepends_of(dir) {
        let od = Path::new(&o.lxcpath).join(&o.name);
        if let Err(e) = remove_snapshot(&od, me) {
            log::error!(
                "Failed to update snapshots file for {}:{}: {e:#}",
                o.lxcpath,
                o.name
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_remove_keep_lxc_format() {
        let d = std::env::temp_dir().join(format!("lxcbox-rdeps-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let a = Ref {
            lxcpath: "/l".into(),
            name: "a".into(),
        };
        let b = Ref {
            lxcpath: "/l".into(),
            name: "b".into(),
        };
        add_snapshot(&d, &a).unwrap();
        add_snapshot(&d, &b).unwrap();
        let text = std::fs::read_to_string(d.join(SNAPSHOTS)).unwrap();
        remove_snapshot(&d, &a).unwrap();
        let after = snapshots_of(&d);
        remove_snapshot(&d, &b).unwrap();
        let gone = !d.join(SNAPSHOTS).exists();
        // old count format
        std::fs::write(d.join(SNAPSHOTS), "2\n").unwrap();
        remove_snapshot(&d, &a).unwrap();
        let count = std::fs::read_to_string(d.join(SNAPSHOTS)).unwrap();
        let _ = std::fs::remove_dir_all(&d);
        assert_eq!(text, "/l\na\n/l\nb\n");
        assert_eq!(after, vec![b]);
        assert!(gone);
        assert_eq!(count, "1\n");
    }
}
