//! Running work as root of a new user namespace with given maps — what
//! LXC's userns_exec_1 and the lxc-usernsexec tool do: an ordinary user
//! creating or copying a container writes its rootfs from inside such a
//! namespace, so every file gets a mapped owner (the kernel refuses a
//! chown to an id outside one's own namespace's maps, and grants
//! CAP_CHOWN / CAP_DAC_OVERRIDE there only over inodes whose ids are
//! mapped).

use anyhow::{bail, Context, Result};

use crate::config::IdMap;
use crate::sys::process::{set_ids, ExitStatus};

/// The maps of `cfg_maps` plus the caller's own uid and gid, mapped to
/// free ids of the namespace when the container's maps do not cover them
/// (LXC's find_unmapped_nsid): the work can then reach the caller's own
/// files (the container directory) while it writes the container's.
pub fn with_caller(cfg_maps: &[IdMap]) -> Vec<IdMap> {
    let mut maps = cfg_maps.to_vec();
    let own = [
        ('u', rustix::process::geteuid().as_raw()),
        ('g', rustix::process::getegid().as_raw()),
    ];
    for (kind, id) in own {
        let covered = cfg_maps
            .iter()
            .any(|m| m.kind == kind && id >= m.host_id && id - m.host_id < m.range);
        if covered {
            continue;
        }
        // The lowest namespace id above every mapped one.
        let free = cfg_maps
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.ns_id.saturating_add(m.range))
            .max()
            .unwrap_or(0);
        maps.push(IdMap {
            kind,
            ns_id: free,
            host_id: id,
            range: 1,
        });
    }
    maps
}

/// The namespace id `host` maps to under `maps`.
pub fn ns_id_of(maps: &[IdMap], kind: char, host: u32) -> Option<u32> {
    maps.iter()
        .filter(|m| m.kind == kind)
        .find(|m| host >= m.host_id && host - m.host_id < m.range)
        .map(|m| m.ns_id + (host - m.host_id))
}

/// Does /proc/self/setgroups say `allow`? Read without allocating: the
/// child of [`run_in`] may come from a multi-threaded monitor.
fn setgroups_allowed() -> bool {
    let Ok(fd) = rustix::fs::open(
        "/proc/self/setgroups",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) else {
        return false;
    };
    let mut b = [0u8; 16];
    matches!(rustix::io::read(&fd, &mut b), Ok(n) if b[..n].starts_with(b"allow"))
}

/// Run `f` in a child that is root (uid and gid 0) of a new user namespace
/// with `maps`, and return its exit code. The child waits on a pipe until
/// the maps are written ([`super::held`]; before that, its ids are the
/// overflow ids and it could not become root). From a multi-threaded process, `f` must be
/// async-signal-safe (no allocation, no locks): the child has only the
/// calling thread.
pub fn run_in(maps: &[IdMap], f: impl FnOnce() -> i32) -> Result<i32> {
    // Decided as the caller: as root of the namespace the child would
    // take root's /run.
    let _ = crate::paths::rundir();
    let mut held = super::held::spawn_held(libc::CLONE_NEWUSER, || {
        // In a namespace whose setgroups is "deny" there is nothing to
        // clear; otherwise drop the host's supplementary groups.
        let groups = setgroups_allowed();
        let empty: [u32; 0] = [];
        if set_ids(Some(0), Some(0), groups.then_some(&empty[..])).is_err() {
            return 126;
        }
        f()
    })
    .context("creating a user namespace")?;
    // On an error the held child, never released, exits and is reaped.
    super::write_maps(held.pid(), maps)?;
    held.release()?;
    match held.wait()? {
        ExitStatus::Exited(c) => Ok(c),
        st => bail!("the user namespace child ended: {st:?}"),
    }
}

/// Maps that give the caller every id the host delegated to them: their
/// own id as 0, then each /etc/subuid (subgid) range. Root of such a
/// namespace may act on any file of any of the caller's containers (remove
/// a rootfs whose files belong to mapped ids, read them for a copy).
/// `None` when the caller has no delegation (then there is nothing of
/// theirs owned by other ids).
pub fn all_my_ids() -> Result<Option<Vec<IdMap>>> {
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    let name = super::user_name(uid);
    let mut maps = Vec::new();
    for (kind, own) in [('u', uid), ('g', gid)] {
        let d = super::SubIds::load(kind)?.delegated(name.as_deref(), own);
        if d.ranges.is_empty() {
            return Ok(None);
        }
        maps.push(IdMap {
            kind,
            ns_id: 0,
            host_id: own,
            range: 1,
        });
        let mut next = 1u32;
        for (start, count) in d.ranges {
            if start <= own && own - start < count {
                continue; // newuidmap refuses overlapping host ranges
            }
            maps.push(IdMap {
                kind,
                ns_id: next,
                host_id: start,
                range: count,
            });
            next = next.saturating_add(count);
        }
    }
    Ok(Some(maps))
}

/// Run `f` as the caller, or — for an ordinary user whose attempt fails
/// with a permission error — again as root of [`all_my_ids`]' namespace,
/// where files owned by the ids of their containers are theirs too.
pub fn as_all_my_ids<T>(what: &str, f: impl Fn() -> Result<T>) -> Result<()> {
    let first = f();
    let Err(e) = first else { return Ok(()) };
    let denied = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .and_then(|io| io.raw_os_error())
            .is_some_and(|n| n == libc::EACCES || n == libc::EPERM)
            || c.downcast_ref::<rustix::io::Errno>()
                .is_some_and(|n| *n == rustix::io::Errno::ACCESS || *n == rustix::io::Errno::PERM)
    });
    if rustix::process::geteuid().is_root() || !denied {
        return Err(e);
    }
    let Some(maps) = all_my_ids()? else {
        return Err(e);
    };
    let code = run_in(&maps, || match f() {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("{what}: {e:#}");
            1
        }
    })
    .with_context(|| format!("{what} in a user namespace with the delegated ids"))?;
    if code != 0 {
        bail!("{what} failed, also in a user namespace with the delegated ids");
    }
    Ok(())
}

/// chown(2) each of `paths` to namespace ids (`uid`, `gid`) as root of a
/// namespace with the container's maps and the caller's own ids (LXC's
/// chown_mapped_root): how an ordinary user hands a file of theirs to the
/// container's ids. The chowns are all the child does, so this is safe to
/// call from a multi-threaded monitor.
pub fn chown_mapped(
    cfg_maps: &[IdMap],
    paths: &[&std::path::Path],
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<()> {
    use rustix::fs::{Gid, Uid};
    let maps = with_caller(cfg_maps);
    let (u, g) = (uid.map(Uid::from_raw), gid.map(Gid::from_raw));
    let code = run_in(&maps, || {
        let bad = paths
            .iter()
            .filter(|p| rustix::fs::chown(**p, u, g).is_err())
            .count();
        i32::from(bad > 0)
    })?;
    if code != 0 {
        bail!("chown: not permitted in the container's user namespace");
    }
    Ok(())
}
