//! Backing stores: what a container's `lxc.rootfs.path` names, how such a
//! rootfs is created, copied or snapshotted, mounted and destroyed.
//!
//! The on-disk forms are LXC's (see docs/storage.md):
//!
//! | type | lxc.rootfs.path | made by lxc-create / lxc-copy |
//! |---|---|---|
//! | dir | `dir:/var/lib/lxc/c1/rootfs` | a directory |
//! | btrfs | `btrfs:/var/lib/lxc/c1/rootfs` | a subvolume (snapshots are btrfs snapshots) |
//! | overlay | `overlay:LOWER:/var/lib/lxc/c1/overlay/delta` | upper and work dirs under `overlay/` |
//! | loop | `loop:/var/lib/lxc/c1/rootdev` | an image file with a filesystem, mounted on `rootfs/` |
//!
//! lvm, zfs, rbd and nbd are recognised and refused with what the host
//! lacks, before anything is made.

pub mod btrfs;
pub mod clone;
pub mod copy;
pub mod loopfile;
pub mod make;
pub mod mount;
pub mod overlay;
pub mod remove;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// The backing store types LXC knows (`overlayfs` is a second spelling
/// of overlay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Dir,
    Btrfs,
    Overlay,
    Loop,
    Lvm,
    Zfs,
    Rbd,
    Nbd,
}

/// (name, kind) in LXC's table order; prefix lookups use the first match.
const NAMES: &[(&str, Kind)] = &[
    ("dir", Kind::Dir),
    ("zfs", Kind::Zfs),
    ("lvm", Kind::Lvm),
    ("rbd", Kind::Rbd),
    ("btrfs", Kind::Btrfs),
    ("overlay", Kind::Overlay),
    ("overlayfs", Kind::Overlay),
    ("loop", Kind::Loop),
    ("nbd", Kind::Nbd),
];

impl Kind {
    /// The exact type name (`-B` value, `type:` prefix).
    pub fn from_name(s: &str) -> Option<Kind> {
        NAMES.iter().find(|(n, _)| *n == s).map(|(_, k)| *k)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Dir => "dir",
            Kind::Btrfs => "btrfs",
            Kind::Overlay => "overlay",
            Kind::Loop => "loop",
            Kind::Lvm => "lvm",
            Kind::Zfs => "zfs",
            Kind::Rbd => "rbd",
            Kind::Nbd => "nbd",
        }
    }

    /// Whether a clone of this type can be a cheap snapshot of the origin.
    pub fn can_snapshot(self) -> bool {
        matches!(self, Kind::Btrfs | Kind::Overlay)
    }

    /// Why lxcbox cannot use this type on this host, if it cannot.
    pub fn unsupported(self) -> Option<String> {
        let why = match self {
            Kind::Dir | Kind::Btrfs | Kind::Overlay | Kind::Loop => return None,
            Kind::Lvm => {
                let dm = Path::new("/dev/mapper/control").exists();
                if dm {
                    "lvm backing stores are not supported by lxcbox (they need the LVM tools)"
                } else {
                    "lvm needs device-mapper, which this host lacks (no /dev/mapper/control: dm_mod not loaded or not built)"
                }
            }
            Kind::Zfs => {
                if Path::new("/dev/zfs").exists() {
                    "zfs backing stores are not supported by lxcbox (they need the zfs tools)"
                } else {
                    "zfs needs the zfs kernel module, which this host lacks (no /dev/zfs)"
                }
            }
            Kind::Rbd => {
                "rbd needs Ceph (the rbd kernel module and a cluster), which lxcbox does not drive"
            }
            Kind::Nbd => "nbd backing stores need qemu-nbd, which lxcbox does not run",
        };
        Some(why.to_string())
    }

    /// Refuse types this host cannot serve, naming what is missing.
    pub fn check_supported(self) -> Result<()> {
        match self.unsupported() {
            Some(why) => bail!("backing store \"{}\": {why}", self.name()),
            None => Ok(()),
        }
    }
}

/// What `-B` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    One(Kind),
    /// `best`: btrfs, zfs, lvm, dir, rbd in that order, the first that works.
    Best,
    /// `-B lvm,dir`: the first of these that works.
    FirstOf(Vec<Kind>),
}

impl Request {
    /// Parse a `-B` value as LXC does: `best`, a list with commas, or one
    /// type (`none` means dir).
    pub fn parse(s: &str) -> Result<Request> {
        if s == "best" {
            return Ok(Request::Best);
        }
        let one = |t: &str| -> Result<Kind> {
            if t == "none" {
                return Ok(Kind::Dir);
            }
            Kind::from_name(t)
                .ok_or_else(|| anyhow::anyhow!("{t} is not a valid backing storage type"))
        };
        if s.contains(',') {
            let kinds = s
                .split(',')
                .filter(|t| !t.is_empty())
                .map(one)
                .collect::<Result<Vec<_>>>()?;
            if kinds.is_empty() {
                bail!("{s} is not a valid backing storage type");
            }
            return Ok(Request::FirstOf(kinds));
        }
        Ok(Request::One(one(s)?))
    }

    /// The types to try, in order.
    pub fn candidates(&self) -> Vec<Kind> {
        match self {
            Request::One(k) => vec![*k],
            Request::Best => vec![Kind::Btrfs, Kind::Zfs, Kind::Lvm, Kind::Dir, Kind::Rbd],
            Request::FirstOf(v) => v.clone(),
        }
    }
}

/// A container's rootfs, as its lxc.rootfs.path describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rootfs {
    Dir(PathBuf),
    Btrfs(PathBuf),
    /// `overlay:LOWER:UPPER`; LOWER may itself be several `:`-separated
    /// layers (the upper is what follows the last `:/`). The work dir is
    /// `work` next to the upper dir.
    Overlay {
        lower: String,
        upper: PathBuf,
    },
    /// An image file holding a filesystem.
    Loop(PathBuf),
    /// A type lxcbox recognises but cannot serve here.
    Other {
        kind: Kind,
        src: String,
    },
}

impl Rootfs {
    /// From the config: `backend` is the `type:` prefix the parser split
    /// off, `path` the rest. Relative paths are taken against the
    /// container directory. Without a prefix the type is detected as LXC
    /// does: a directory is dir, a regular file is loop, a block device
    /// would be lvm.
    pub fn from_config(backend: Option<&str>, path: &str, container_dir: &Path) -> Result<Rootfs> {
        let abs = |p: &str| container_dir.join(p);
        let kind = match backend {
            Some(b) => Kind::from_name(b)
                .ok_or_else(|| anyhow::anyhow!("unknown backing store type \"{b}\""))?,
            None => detect(&abs(path)),
        };
        Ok(match kind {
            Kind::Dir => Rootfs::Dir(abs(path)),
            Kind::Btrfs => Rootfs::Btrfs(abs(path)),
            Kind::Loop => Rootfs::Loop(abs(path)),
            Kind::Overlay => {
                let (lower, upper) = overlay::split(path)?;
                Rootfs::Overlay {
                    lower: lower.to_string(),
                    upper: PathBuf::from(upper),
                }
            }
            k => Rootfs::Other {
                kind: k,
                src: path.to_string(),
            },
        })
    }

    /// The container's rootfs from its loaded config, if it has one.
    pub fn of(cfg: &crate::config::Config, container_dir: &Path) -> Result<Option<Rootfs>> {
        match cfg.rootfs.path.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Ok(Some(Rootfs::from_config(
                cfg.rootfs.backend.as_deref(),
                p,
                container_dir,
            )?)),
            None => Ok(None),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Rootfs::Dir(_) => Kind::Dir,
            Rootfs::Btrfs(_) => Kind::Btrfs,
            Rootfs::Overlay { .. } => Kind::Overlay,
            Rootfs::Loop(_) => Kind::Loop,
            Rootfs::Other { kind, .. } => *kind,
        }
    }

    /// The value for lxc.rootfs.path, with its type prefix.
    pub fn config_value(&self) -> String {
        match self {
            Rootfs::Dir(p) => format!("dir:{}", p.display()),
            Rootfs::Btrfs(p) => format!("btrfs:{}", p.display()),
            Rootfs::Overlay { lower, upper } => format!("overlay:{lower}:{}", upper.display()),
            Rootfs::Loop(p) => format!("loop:{}", p.display()),
            Rootfs::Other { kind, src } => format!("{}:{src}", kind.name()),
        }
    }

    /// The directory whose contents are the rootfs without mounting
    /// anything (dir, btrfs); `None` for types that must be mounted.
    pub fn plain_dir(&self) -> Option<&Path> {
        match self {
            Rootfs::Dir(p) | Rootfs::Btrfs(p) => Some(p),
            _ => None,
        }
    }

    /// Refuse a type this host cannot serve.
    pub fn check_supported(&self) -> Result<()> {
        self.kind().check_supported()
    }
}

/// LXC's detection for a rootfs path without a `type:` prefix.
fn detect(path: &Path) -> Kind {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Kind::Loop,
        Ok(m) if std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type()) => Kind::Lvm,
        _ => Kind::Dir,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(Request::parse("best").unwrap(), Request::Best);
        assert_eq!(Request::parse("none").unwrap(), Request::One(Kind::Dir));
        assert_eq!(
            Request::parse("overlayfs").unwrap(),
            Request::One(Kind::Overlay)
        );
        assert_eq!(
            Request::parse("lvm,dir").unwrap(),
            Request::FirstOf(vec![Kind::Lvm, Kind::Dir])
        );
        let e = Request::parse("foo").unwrap_err().to_string();
        assert_eq!(e, "foo is not a valid backing storage type");
        assert!(Kind::Lvm.check_supported().is_err());
        assert!(Kind::Dir.check_supported().is_ok());
    }

    #[test]
    fn rootfs_values_round_trip() {
        let d = Path::new("/l/c1");
        for v in [
            ("dir", "/l/c1/rootfs"),
            ("btrfs", "/l/c1/rootfs"),
            ("loop", "/l/c1/rootdev"),
            ("overlay", "/l/c0/rootfs:/l/c1/overlay/delta"),
        ] {
            let r = Rootfs::from_config(Some(v.0), v.1, d).unwrap();
            assert_eq!(r.config_value(), format!("{}:{}", v.0, v.1));
        }
        let r = Rootfs::from_config(Some("overlay"), "/a:/b:/l/c1/overlay/delta", d).unwrap();
        assert_eq!(
            r,
            Rootfs::Overlay {
                lower: "/a:/b".into(),
                upper: "/l/c1/overlay/delta".into()
            }
        );
        // relative paths are under the container directory
        let r = Rootfs::from_config(Some("dir"), "rootfs", d).unwrap();
        assert_eq!(r, Rootfs::Dir("/l/c1/rootfs".into()));
    }
}
