//! Applying lxc.mount.fstab / lxc.mount.entry lines.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{Context, Result};

use super::fstab::{self, Entry};
use super::ops::{self, BindSource};
use super::resolve::{fd_path, Root};

/// All entries in LXC's order: the lxc.mount.fstab file (relative to the
/// container dir), then the lxc.mount.entry lines.
pub fn load(cfg: &crate::config::Config, container_dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    if let Some(f) = cfg.mount_fstab.as_deref().filter(|f| !f.is_empty()) {
        let path = container_dir.join(f);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading lxc.mount.fstab {}", path.display()))?;
        out.extend(fstab::parse_file(&text, &path.display().to_string())?);
    }
    for line in &cfg.mount_entries {
        if let Some(e) =
            fstab::parse_line(line).with_context(|| format!("lxc.mount.entry = {line}"))?
        {
            out.push(e);
        }
    }
    Ok(out)
}

/// Strip a host prefix from an absolute target: LXC accepts targets written
/// as `/var/lib/lxc/NAME/rootfs/mnt` (or under lxc.rootfs.mount) as well as
/// `mnt` and `/mnt`, all meaning `mnt` inside the rootfs.
pub fn in_root_target<'a>(target: &'a str, prefixes: &[&str]) -> &'a str {
    for p in prefixes {
        let p = p.trim_end_matches('/');
        if p.is_empty() {
            continue;
        }
        if let Some(rest) = target.strip_prefix(p) {
            if rest.is_empty() || rest.starts_with('/') {
                return rest;
            }
        }
    }
    target
}

/// Mount one entry; `optional` entries only warn when they fail.
pub fn apply(root: &Root, prefixes: &[&str], e: &Entry) -> Result<()> {
    let target = in_root_target(&e.target, prefixes);
    let r = apply_inner(root, target, e)
        .with_context(|| format!("mounting {} on {}", e.source, root.show(target)));
    match r {
        Err(err) if e.opts.optional => {
            log::warn!("skipping optional mount entry: {err:#}");
            Ok(())
        }
        r => r,
    }
}

fn apply_inner(root: &Root, target: &str, e: &Entry) -> Result<()> {
    let o = &e.opts;
    let tfd = root.open(target, o.create)?;
    if o.remount {
        return rustix::mount::mount_remount(fd_path(tfd.as_fd()), o.flags, o.data.as_str())
            .map_err(|e| anyhow::Error::new(std::io::Error::from(e)))
            .context("remounting");
    }
    // `relative`: the source lives inside the rootfs and is resolved as
    // carefully as a target.
    let sfd = if o.relative {
        Some(root.open(&e.source, None).context("source")?)
    } else {
        None
    };
    if let Some(rec) = o.bind {
        let src = match &sfd {
            Some(fd) => BindSource::Fd(fd.as_fd()),
            None => BindSource::Host(&e.source),
        };
        let mnt = ops::bind(src, tfd.as_fd(), rec)?;
        let flags = ops::bind_remount_flags(o.flags);
        if !flags.is_empty() {
            ops::remount_bind(mnt.as_fd(), flags)?;
        }
        if !o.propagation.is_empty() {
            ops::set_propagation(mnt.as_fd(), o.propagation)?;
        }
        return Ok(());
    }
    let source = match &sfd {
        Some(fd) => fd_path(fd.as_fd()),
        None => e.source.clone(),
    };
    ops::mount_fs(tfd.as_fd(), &source, &e.fstype, o.flags, &o.data)?;
    if !o.propagation.is_empty() {
        // The old fd names the directory under the new mount; look the
        // target up again to reach the mount itself.
        let mnt = root.open(target, None)?;
        ops::set_propagation(mnt.as_fd(), o.propagation)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_under_rootfs_prefix() {
        let p = ["/var/lib/lxc/c1/rootfs", "/usr/lib/x86_64-linux-gnu/lxc"];
        assert_eq!(in_root_target("/var/lib/lxc/c1/rootfs/mnt", &p), "/mnt");
        assert_eq!(
            in_root_target("/usr/lib/x86_64-linux-gnu/lxc/a/b", &p),
            "/a/b"
        );
        assert_eq!(
            in_root_target("/var/lib/lxc/c1/rootfsx/mnt", &p),
            "/var/lib/lxc/c1/rootfsx/mnt"
        );
        assert_eq!(in_root_target("mnt/x", &p), "mnt/x");
        assert_eq!(in_root_target("/mnt", &["/"]), "/mnt");
    }
}
