//! lxc-usernsexec's runtime: a command run as root (0:0) of a new user
//! namespace (with a new mount namespace) whose id maps come from `-m`
//! options or, without them, from the caller's first /etc/subuid and
//! /etc/subgid ranges, as LXC 5's src/lxc/cmd/lxc_usernsexec.c does.
//!
//! The maps are checked here before anything is created (the kernel's own
//! answer to a bad map is a bare EINVAL, and LXC then runs on into "Failed
//! to switch to gid 0"); the delegation check and the newuidmap /
//! newgidmap call are [`super::write_maps`]'.

use anyhow::{bail, Context, Result};
use rustix::mount::{mount_change, MountPropagationFlags};

use super::held::{exec, spawn_held};
use super::{user_name, SubIds};
use crate::config::IdMap;
use crate::sys::process;

/// The kernel's limit on lines in one uid_map or gid_map (since 4.15;
/// user_namespaces(7)).
const MAX_LINES: usize = 340;

/// One `-m` argument, `[u|g|b]:NS_ID:HOST_ID:RANGE` (`b` gives a uid and a
/// gid map alike).
pub fn parse_map(arg: &str) -> Result<Vec<IdMap>> {
    let bad = |why: &str| {
        anyhow::anyhow!("invalid map \"{arg}\": {why} (expected [u|g|b]:NS_ID:HOST_ID:RANGE)")
    };
    let f: Vec<&str> = arg.split(':').collect();
    let [which, ns, host, range] = f.as_slice() else {
        return Err(bad("it needs four fields separated by ':'"));
    };
    let kinds: &[char] = match *which {
        "u" => &['u'],
        "g" => &['g'],
        "b" => &['u', 'g'],
        _ => return Err(bad("the first field must be u, g or b")),
    };
    let num = |what: &str, s: &str| -> Result<u32> {
        s.parse::<u32>().map_err(|_| {
            bad(&format!(
                "{what} \"{s}\" is not a number from 0 to 4294967295"
            ))
        })
    };
    let (ns_id, host_id, range) = (
        num("NS_ID", ns)?,
        num("HOST_ID", host)?,
        num("RANGE", range)?,
    );
    if range == 0 {
        return Err(bad("RANGE must be at least 1"));
    }
    Ok(kinds
        .iter()
        .map(|&kind| IdMap {
            kind,
            ns_id,
            host_id,
            range,
        })
        .collect())
}

/// LXC's default when no `-m` is given: the first /etc/subuid and the
/// first /etc/subgid range of the calling (real) user, each mapped from
/// id 0 (LXC's find_default_map; the caller's own ids are not mapped
/// unless `-s` asks).
pub fn default_maps() -> Result<Vec<IdMap>> {
    let uid = rustix::process::getuid().as_raw();
    let name = user_name(uid);
    let mut maps = Vec::new();
    for kind in ['u', 'g'] {
        let ids = SubIds::load(kind)?;
        let d = ids.delegated(name.as_deref(), uid);
        let Some((start, count)) = d.first() else {
            bail!(
                "Failed to find subuid or subgid allocation: {} has no range for user {} \
                 (add one, e.g. with usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {}), \
                 or give the maps with -m",
                d.file.display(),
                d.user,
                d.user
            );
        };
        maps.push(IdMap {
            kind,
            ns_id: 0,
            host_id: start,
            range: count,
        });
    }
    Ok(maps)
}

/// `-s`: map the caller's own uid and gid too, each at the first
/// namespace id the maps before it leave free, walked as LXC's
/// do_map_self walks them (in order, stepping past each map that holds
/// the candidate).
pub fn add_self(maps: &mut Vec<IdMap>) {
    let (uid, gid) = (
        rustix::process::getuid().as_raw(),
        rustix::process::getgid().as_raw(),
    );
    let (mut nsuid, mut nsgid) = (0u64, 0u64);
    for m in maps.iter() {
        let next = if m.kind == 'u' {
            &mut nsuid
        } else {
            &mut nsgid
        };
        if *next >= m.ns_id as u64 && *next < m.ns_id as u64 + m.range as u64 {
            *next += m.range as u64;
        }
    }
    for (kind, ns, host) in [('g', nsgid, gid), ('u', nsuid, uid)] {
        maps.push(IdMap {
            kind,
            // Past u32 the check below names the map that cannot be.
            ns_id: u32::try_from(ns).unwrap_or(u32::MAX),
            host_id: host,
            range: 1,
        });
    }
}

fn spelled(m: &IdMap) -> String {
    format!("{}:{}:{}:{}", m.kind, m.ns_id, m.host_id, m.range)
}

fn overlap(a0: u32, an: u32, b0: u32, bn: u32) -> Option<(u64, u64)> {
    let (a0, a1) = (a0 as u64, a0 as u64 + an as u64);
    let (b0, b1) = (b0 as u64, b0 as u64 + bn as u64);
    let (lo, hi) = (a0.max(b0), a1.min(b1));
    (lo < hi).then_some((lo, hi - 1))
}

/// What the kernel would refuse, said before anything exists: ranges past
/// the largest id, lines that overlap on either side, too many lines, and
/// no id 0 to become in the new namespace.
pub fn check(maps: &[IdMap]) -> Result<()> {
    for m in maps {
        for (side, start) in [("NS_ID", m.ns_id), ("HOST_ID", m.host_id)] {
            // (uid_t)-1 is no id; the kernel refuses a range that wraps.
            if start as u64 + m.range as u64 > u32::MAX as u64 {
                bail!(
                    "map {}: {side} {start} + RANGE {} goes past the largest id, 4294967294",
                    spelled(m),
                    m.range
                );
            }
        }
    }
    for kind in ['u', 'g'] {
        let of: Vec<&IdMap> = maps.iter().filter(|m| m.kind == kind).collect();
        let what = if kind == 'u' { "uid" } else { "gid" };
        if of.len() > MAX_LINES {
            bail!(
                "{} {what} maps: the kernel takes at most {MAX_LINES}",
                of.len()
            );
        }
        for (i, a) in of.iter().enumerate() {
            for b in &of[i + 1..] {
                let clash = overlap(a.ns_id, a.range, b.ns_id, b.range)
                    .map(|r| (r, "of the new namespace"))
                    .or_else(|| {
                        overlap(a.host_id, a.range, b.host_id, b.range).map(|r| (r, "on the host"))
                    });
                if let Some(((lo, hi), side)) = clash {
                    let ids = if lo == hi {
                        format!("{what} {lo}")
                    } else {
                        format!("{what}s {lo}-{hi}")
                    };
                    bail!(
                        "maps {} and {} overlap: {ids} {side} would be mapped twice",
                        spelled(a),
                        spelled(b)
                    );
                }
            }
        }
        if !of.iter().any(|m| m.ns_id == 0) {
            bail!(
                "no {what} map starts at {what} 0 of the new namespace, and the command runs as \
                 root (0:0) there: add -m {kind}:0:HOST_ID:RANGE (or b:...)"
            );
        }
    }
    Ok(())
}

/// Run `argv` as root of a new user (and mount) namespace with `maps`;
/// returns lxc-usernsexec's exit status: the command's exit code, and 0
/// when a signal killed it (LXC passes WEXITSTATUS on as it is).
pub fn run(maps: &[IdMap], argv: &[String]) -> Result<i32> {
    check(maps)?;
    // An ordinary user's ranges, before the child exists.
    super::check_delegation(maps, &|m| format!("map {}", spelled(m)))?;
    let flags = libc::CLONE_NEWUSER | libc::CLONE_NEWNS;
    let mut held = spawn_held(flags, || child(argv))
        .context("Failed to create the user and mount namespace")?;
    let pid = held.pid();
    // On error `held` drops: the child sees EOF, exits, and is reaped.
    super::write_maps(pid, maps).context("Failed to write id mapping for child process")?;
    held.release()?;
    Ok(held.wait()?.lxc_status())
}

/// In the new namespaces, once mapped: become 0:0 without supplementary
/// groups, take a mount namespace of our own (owned by the new user
/// namespace) whose mounts no longer propagate back, and exec.
fn child(argv: &[String]) -> i32 {
    let fail = |what: String, e: std::io::Error| {
        eprintln!("lxc-usernsexec: {what}: {e}");
        1
    };
    // With setgroups denied (a map of one's own gid) this is EPERM, and
    // there is nothing to drop that the kernel would let us.
    if let Err(e) = process::set_ids(None, None, Some(&[])) {
        if e.raw_os_error() != Some(libc::EPERM) {
            return fail("Failed to drop supplementary groups".into(), e);
        }
    }
    if let Err(e) = process::set_ids(None, Some(0), None) {
        return fail("Failed to switch to gid 0".into(), e);
    }
    if let Err(e) = process::set_ids(Some(0), None, None) {
        return fail("Failed to switch to uid 0".into(), e);
    }
    if let Err(e) = process::unshare(libc::CLONE_NEWNS) {
        return fail("Failed to unshare mount namespace".into(), e);
    }
    // A mount namespace made in a less privileged user namespace already
    // turns shared mounts into slaves; LXC says so again, recursively.
    if let Err(e) = mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    ) {
        return fail(
            "Failed to recursively turn root mount tree into dependent mount".into(),
            e.into(),
        );
    }
    let e = exec(argv);
    fail(format!("Failed to execute \"{}\"", argv[0]), e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: char, ns_id: u32, host_id: u32, range: u32) -> IdMap {
        IdMap {
            kind,
            ns_id,
            host_id,
            range,
        }
    }

    #[test]
    fn parses_maps() {
        assert_eq!(
            parse_map("u:0:100000:65536").unwrap(),
            [m('u', 0, 100000, 65536)]
        );
        assert_eq!(
            parse_map("b:0:1000:1").unwrap(),
            [m('u', 0, 1000, 1), m('g', 0, 1000, 1)]
        );
        for bad in [
            "x:0:0:1",
            "u:0:0",
            "u:0:0:1:5",
            "u:0:0:0",
            "u:-1:0:1",
            "u:0:0:1x",
            "u: 0:0:1",
        ] {
            let e = parse_map(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("invalid map \"{bad}\"")), "{e}");
        }
    }

    #[test]
    fn checks_overlaps_and_bounds() {
        assert!(check(&[m('u', 0, 100000, 65536), m('g', 0, 100000, 65536)]).is_ok());
        let e = check(&[m('u', 0, 100000, 10), m('u', 5, 0, 1), m('g', 0, 0, 1)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("overlap: uid 5 of the new namespace"), "{e}");
        let e = check(&[
            m('u', 0, 100000, 10),
            m('u', 10, 100005, 10),
            m('g', 0, 0, 1),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("uids 100005-100009 on the host"), "{e}");
        let e = check(&[m('u', 0, 0, 1)]).unwrap_err().to_string();
        assert!(e.contains("no gid map starts at gid 0"), "{e}");
        let e = check(&[m('u', 0, u32::MAX - 1, 2), m('g', 0, 0, 1)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("goes past the largest id"), "{e}");
    }

    #[test]
    fn map_self_walks_as_lxc() {
        let mut maps = vec![m('u', 0, 100000, 10), m('g', 0, 100000, 10)];
        add_self(&mut maps);
        let uid = rustix::process::getuid().as_raw();
        assert!(maps.contains(&m('u', 10, uid, 1)), "{maps:?}");
        assert!(check(&maps).is_ok());
    }
}
