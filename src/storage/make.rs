//! Making the storage of a new container (lxc-create -B), laid out as LXC
//! lays it out.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{btrfs, loopfile, overlay, remove, Kind, Request, Rootfs};

/// The `--dir`, `--fstype` and `--fssize` options.
#[derive(Debug, Clone, Default)]
pub struct Specs {
    pub dir: Option<PathBuf>,
    pub fstype: Option<String>,
    pub fssize: Option<u64>,
}

pub(crate) fn mkdir_p(p: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(p)
        .with_context(|| format!("creating directory {}", p.display()))
}

/// Create the rootfs storage for the container in `container_dir`. Every
/// candidate type of `req` is tried in order (one for a plain `-B TYPE`);
/// whatever a failed attempt made is removed before the next.
pub fn create(req: &Request, container_dir: &Path, specs: &Specs) -> Result<Rootfs> {
    let candidates = req.candidates();
    let mut last = None;
    for kind in &candidates {
        if let Some(why) = kind.unsupported() {
            if candidates.len() == 1 {
                bail!("backing store \"{}\": {why}", kind.name());
            }
            log::info!("backing store {} skipped: {why}", kind.name());
            last = Some(anyhow::anyhow!("backing store \"{}\": {why}", kind.name()));
            continue;
        }
        match create_one(*kind, container_dir, specs) {
            Ok(r) => return Ok(r),
            Err(e) => {
                log::info!("backing store {} failed: {e:#}", kind.name());
                undo(*kind, container_dir);
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no backing store type to try")))
}

/// Remove what a failed [`create_one`] may have left in the container dir.
fn undo(kind: Kind, container_dir: &Path) {
    let _ = remove::remove_tree(&container_dir.join("rootfs"));
    match kind {
        Kind::Overlay => {
            let _ = remove::remove_tree(&container_dir.join(overlay::PRIVATE_DIR));
        }
        Kind::Loop => {
            let _ = std::fs::remove_file(container_dir.join("rootdev"));
        }
        _ => {}
    }
}

fn create_one(kind: Kind, container_dir: &Path, specs: &Specs) -> Result<Rootfs> {
    let dest = container_dir.join("rootfs");
    if (specs.fstype.is_some() || specs.fssize.is_some()) && kind != Kind::Loop {
        bail!("--fstype and --fssize are only valid with -B loop");
    }
    if specs.dir.is_some() && kind != Kind::Dir {
        bail!("--dir is only valid with -B dir");
    }
    match kind {
        Kind::Dir => {
            // As LXC: LXCPATH/NAME/rootfs is made even when --dir puts the
            // rootfs elsewhere.
            mkdir_p(&dest)?;
            let src = match &specs.dir {
                Some(d) => {
                    mkdir_p(d)?;
                    d.clone()
                }
                None => dest,
            };
            Ok(Rootfs::Dir(src))
        }
        Kind::Btrfs => {
            if !btrfs::is_btrfs(container_dir) {
                bail!("{} is not on a btrfs filesystem", container_dir.display());
            }
            btrfs::create(&dest)?;
            Ok(Rootfs::Btrfs(dest))
        }
        Kind::Overlay => {
            // lxc-create -B overlay: the template fills rootfs/ (the lower
            // dir); the container's changes go to overlay/delta.
            let delta = overlay::delta_of(container_dir);
            mkdir_p(&delta)?;
            mkdir_p(&dest)?;
            Ok(Rootfs::Overlay {
                lower: dest
                    .to_str()
                    .context("rootfs path is not UTF-8")?
                    .to_string(),
                upper: delta,
            })
        }
        Kind::Loop => {
            let image = container_dir.join("rootdev");
            mkdir_p(&dest)?;
            loopfile::create_image(
                &image,
                specs.fssize.unwrap_or(loopfile::DEFAULT_SIZE),
                specs.fstype.as_deref().unwrap_or(loopfile::DEFAULT_FSTYPE),
            )?;
            Ok(Rootfs::Loop(image))
        }
        k => bail!("backing store \"{}\" is not supported", k.name()),
    }
}

/// Destroy a container's rootfs storage (not the container directory).
/// overlay: only the upper dir is the container's own (the lower belongs
/// to the origin).
pub fn destroy(rootfs: &Rootfs) -> Result<()> {
    match rootfs {
        Rootfs::Dir(p) | Rootfs::Btrfs(p) => remove::remove_tree(p),
        Rootfs::Overlay { upper, .. } => remove::remove_tree(upper),
        Rootfs::Loop(image) => match std::fs::remove_file(image) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", image.display()))
            }
            _ => Ok(()),
        },
        Rootfs::Other { kind, .. } => kind.check_supported(),
    }
}

/// Parse an `--fssize` value as LXC does: a number with an optional unit
/// (b, k, m, g, t in either case; default M).
pub fn parse_size(s: &str) -> Result<u64> {
    let s = s.trim();
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid size \"{s}\""))?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "b" => 1,
        "k" => 1 << 10,
        "" | "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => bail!("invalid size unit \"{unit}\" (expected b, k, m, g or t)"),
    };
    n.checked_mul(mult)
        .filter(|v| *v > 0)
        .ok_or_else(|| anyhow::anyhow!("invalid size \"{s}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("512").unwrap(), 512 << 20);
        assert_eq!(parse_size("10k").unwrap(), 10 << 10);
        assert!(parse_size("x").is_err());
        assert!(parse_size("1q").is_err());
        assert!(parse_size("0").is_err());
    }
}
