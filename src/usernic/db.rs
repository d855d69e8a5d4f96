//! /run/lxc/nics, LXC's record of the devices lxc-user-nic made: one
//! `OWNER TYPE BRIDGE NICNAME` line per host-side veth, OWNER being the
//! lxc-usernet entry (`user` or `@group`) whose quota it counts against.
//!
//! LXC locks the file itself with a blocking POSIX write lock over the
//! whole file (fcntl F_SETLKW) and edits it in place (pwrite, ftruncate).
//! lxcbox does the same, so both tools can run on one host: replacing the
//! file by a rename would leave an LXC process that waits for the lock
//! holding the old, unlinked inode, and its update would be lost. That is
//! why this one file is not written through `fsutil`'s write-then-rename.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rustix::fs::FlockOperation;

/// Where LXC keeps the database (LXC_USERNIC_DB).
pub const DB_PATH: &str = "/run/lxc/nics";

/// One record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub owner: String,
    pub ty: String,
    pub bridge: String,
    pub nic: String,
}

impl Entry {
    fn parse(line: &str) -> Option<Entry> {
        let mut f = line.split([' ', '\t']).filter(|w| !w.is_empty());
        let e = Entry {
            owner: f.next()?.to_string(),
            ty: f.next()?.to_string(),
            bridge: f.next()?.to_string(),
            nic: f.next()?.to_string(),
        };
        // LXC's find_line: a comment is no record; a device name that does
        // not fit IFNAMSIZ is a corrupt line.
        (!e.owner.starts_with('#') && e.nic.len() < 16).then_some(e)
    }

    fn line(&self) -> String {
        format!("{} {} {} {}\n", self.owner, self.ty, self.bridge, self.nic)
    }
}

/// The locked database, its records in memory.
pub struct Db {
    file: File,
    path: PathBuf,
    pub entries: Vec<Entry>,
}

impl Db {
    /// Creates /run/lxc if needed (0755, as LXC's create_db_dir), opens the
    /// file (0600, created if missing) and waits for LXC's lock on it.
    pub fn open_locked(path: &Path) -> Result<Db> {
        if let Some(dir) = path.parent() {
            if !dir.is_dir() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(dir)
                    .with_context(|| format!("Failed to create {}", dir.display()))?;
            }
        }
        let mut file = crate::fsutil::open_lock_file(path)
            .with_context(|| format!("Failed to open \"{}\"", path.display()))?;
        rustix::fs::fcntl_lock(&file, FlockOperation::LockExclusive)
            .with_context(|| format!("Failed to lock \"{}\"", path.display()))?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .with_context(|| format!("Failed to read database file {}", path.display()))?;
        Ok(Db {
            file,
            path: path.to_path_buf(),
            entries: text.lines().filter_map(Entry::parse).collect(),
        })
    }

    /// Drops the records whose device is gone (the container's namespace
    /// died and took the pair with it), as LXC's cull_entries does.
    pub fn cull(&mut self, mut exists: impl FnMut(&str) -> bool) {
        self.entries.retain(|e| exists(&e.nic));
    }

    /// How many records count against `owner` for `ty` on `bridge`.
    pub fn count(&self, owner: &str, ty: &str, bridge: &str) -> i64 {
        self.entries
            .iter()
            .filter(|e| e.owner == owner && e.ty == ty && e.bridge == bridge)
            .count() as i64
    }

    /// Writes the records back in place (still under the lock).
    pub fn save(&mut self) -> Result<()> {
        let text: String = self.entries.iter().map(Entry::line).collect();
        let step = || format!("Failed to write database file {}", self.path.display());
        let mut off = 0usize;
        while off < text.len() {
            let n = rustix::io::pwrite(&self.file, &text.as_bytes()[off..], off as u64)
                .map_err(std::io::Error::from)
                .with_context(step)?;
            off += n;
        }
        rustix::fs::ftruncate(&self.file, text.len() as u64)
            .map_err(std::io::Error::from)
            .with_context(step)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_lines_go() {
        let d = std::env::temp_dir().join(format!("lxcbox-nics-{}", std::process::id()));
        let p = d.join("sub/nics");
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            "alice veth br0 veth1000_aB3d\n# x y z w\nshort line\n@g veth br0 vethABCDEF\nbob veth br0 waytoolongdevicename\n",
        )
        .unwrap();
        let mut db = Db::open_locked(&p).unwrap();
        assert_eq!(db.entries.len(), 2);
        assert_eq!(db.count("alice", "veth", "br0"), 1);
        assert_eq!(db.count("alice", "veth", "br1"), 0);
        db.cull(|n| n != "vethABCDEF");
        db.entries.push(Entry {
            owner: "bob".into(),
            ty: "veth".into(),
            bridge: "br1".into(),
            nic: "veth7".into(),
        });
        db.save().unwrap();
        drop(db);
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "alice veth br0 veth1000_aB3d\nbob veth br1 veth7\n"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
