//! Ownership of a container's files under lxc.idmap: the one place that
//! knows how container ids map to host ids when lxcbox makes or copies a
//! rootfs (templates, clones). The unprivileged-container work builds on
//! these.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{Context, Result};
use rustix::fs::{AtFlags, Mode, OFlags};

use crate::config::{Config, IdMap};

/// The host id a container id maps to (`kind` 'u' or 'g').
pub fn to_host(maps: &[IdMap], kind: char, id: u32) -> Option<u32> {
    maps.iter()
        .filter(|m| m.kind == kind)
        .find(|m| id >= m.ns_id && id - m.ns_id < m.range)
        .map(|m| m.host_id + (id - m.ns_id))
}

/// The host uid and gid of the container's root, when the config maps ids.
pub fn mapped_root(cfg: &Config) -> Option<(u32, u32)> {
    if cfg.idmap.is_empty() {
        return None;
    }
    Some((to_host(&cfg.idmap, 'u', 0)?, to_host(&cfg.idmap, 'g', 0)?))
}

/// The `--mapped-uid` / `--mapped-gid` values a template gets for an
/// idmapped container. lxcbox runs templates on the host, as the caller:
/// the ids the template should hand its own files (the config) to are the
/// caller's, and the rootfs is shifted into the map afterwards
/// ([`shift_tree`]).
pub fn template_ids(cfg: &Config) -> Option<(u32, u32)> {
    if cfg.idmap.is_empty() {
        return None;
    }
    Some((
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    ))
}

/// LXC's container directory under lxc.idmap (do_create_container_dir):
/// owned by the container's root, with the caller's group, so init —
/// root of the user namespace, a stranger to the host — can reach its
/// rootfs through the 0770 directory, and the caller still can. An
/// ordinary user does the chown as root of a namespace that maps both.
pub fn hand_dir_to_mapped_root(dir: &Path, cfg: &Config) -> Result<()> {
    use rustix::fs::{Gid, Uid};
    let Some((ru, _)) = mapped_root(cfg) else {
        return Ok(());
    };
    let step = || format!("handing {} to the container's root", dir.display());
    let egid = rustix::process::getegid().as_raw();
    if rustix::process::geteuid().is_root() {
        return rustix::fs::chown(dir, Some(Uid::from_raw(ru)), Some(Gid::from_raw(egid)))
            .with_context(step);
    }
    use crate::userns::exec::{chown_mapped, ns_id_of, with_caller};
    let g = ns_id_of(&with_caller(&cfg.idmap), 'g', egid);
    chown_mapped(&cfg.idmap, &[dir], Some(0), g).with_context(step)
}

/// An overlay clone's upper and work directories (and NAME/overlay
/// itself), made by an ordinary user, handed to the container's root as
/// LXC's ovl_clonepaths does: the overlay mounted inside the container's
/// user namespace writes there as that root.
pub fn hand_upper_to_mapped_root(rootfs: &crate::storage::Rootfs, cfg: &Config) -> Result<()> {
    let crate::storage::Rootfs::Overlay { upper, .. } = rootfs else {
        return Ok(());
    };
    let work = crate::storage::overlay::work_dir(upper);
    let dirs: Vec<&Path> = [upper.parent(), Some(upper.as_path()), Some(work.as_path())]
        .into_iter()
        .flatten()
        .collect();
    crate::userns::exec::chown_mapped(&cfg.idmap, &dirs, Some(0), Some(0))
        .with_context(|| format!("handing {} to the container's root", upper.display()))
}

/// Give every file under `root` the host ids its current (container) ids
/// map to, as if it had been written from inside the user namespace. Ids
/// without a mapping become the container root's (overflow) owner.
pub fn shift_tree(root: &Path, cfg: &Config) -> Result<()> {
    let Some((ru, rg)) = mapped_root(cfg) else {
        return Ok(());
    };
    let dir = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", root.display()))?;
    let map = |kind: char, id: u32, dflt: u32| to_host(&cfg.idmap, kind, id).unwrap_or(dflt);
    let st = rustix::fs::fstat(&dir).with_context(|| format!("inspecting {}", root.display()))?;
    shift_dir(
        dir.as_fd(),
        root,
        &|u, g| (map('u', u, ru), map('g', g, rg)),
        st.st_dev,
    )?;
    rustix::fs::fchown(
        &dir,
        Some(rustix::fs::Uid::from_raw(map('u', st.st_uid, ru))),
        Some(rustix::fs::Gid::from_raw(map('g', st.st_gid, rg))),
    )
    .with_context(|| format!("changing the owner of {}", root.display()))
}

fn shift_dir(
    dir: std::os::fd::BorrowedFd<'_>,
    path: &Path,
    map: &dyn Fn(u32, u32) -> (u32, u32),
    dev: u64,
) -> Result<()> {
    let rd =
        rustix::fs::Dir::read_from(dir).with_context(|| format!("reading {}", path.display()))?;
    let mut names = Vec::new();
    for e in rd {
        let e = e.with_context(|| format!("reading {}", path.display()))?;
        if e.file_name() != c"." && e.file_name() != c".." {
            names.push(e.file_name().to_owned());
        }
    }
    for n in names {
        let p = path.join(std::ffi::OsStr::new(&*n.to_string_lossy()));
        let st = rustix::fs::statat(dir, n.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)
            .with_context(|| format!("inspecting {}", p.display()))?;
        let (u, g) = map(st.st_uid, st.st_gid);
        let mode = st.st_mode;
        rustix::fs::chownat(
            dir,
            n.as_c_str(),
            Some(rustix::fs::Uid::from_raw(u)),
            Some(rustix::fs::Gid::from_raw(g)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .with_context(|| format!("changing the owner of {}", p.display()))?;
        let ft = rustix::fs::FileType::from_raw_mode(mode);
        // chown clears set-id bits: put them back.
        if ft == rustix::fs::FileType::RegularFile && mode & 0o6000 != 0 {
            rustix::fs::chmodat(
                dir,
                n.as_c_str(),
                Mode::from_raw_mode(mode & 0o7777),
                AtFlags::empty(),
            )
            .with_context(|| format!("restoring the mode of {}", p.display()))?;
        }
        if ft == rustix::fs::FileType::Directory && st.st_dev == dev {
            let sub = rustix::fs::openat(
                dir,
                n.as_c_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .with_context(|| format!("opening {}", p.display()))?;
            shift_dir(sub.as_fd(), &p, map, dev)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_ids() {
        let m = vec![
            IdMap {
                kind: 'u',
                ns_id: 0,
                host_id: 100000,
                range: 65536,
            },
            IdMap {
                kind: 'g',
                ns_id: 0,
                host_id: 200000,
                range: 10,
            },
        ];
        assert_eq!(to_host(&m, 'u', 0), Some(100000));
        assert_eq!(to_host(&m, 'u', 1000), Some(101000));
        assert_eq!(to_host(&m, 'g', 10), None);
        assert_eq!(to_host(&m, 'g', 9), Some(200009));
    }
}
