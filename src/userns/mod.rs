//! User namespaces for ordinary users: the id ranges the host delegated to
//! them (/etc/subuid, /etc/subgid, as shadow's newuidmap reads them) and
//! writing a namespace's id maps.
//!
//! The kernel rule (user_namespaces(7), "Defining user and group ID
//! mappings"): a process without CAP_SETUID / CAP_SETGID in the parent
//! namespace may write one line that maps its own effective id, and for
//! gid_map only after `deny` went to /proc/PID/setgroups. Anything more —
//! a container's 65536 ids — must be written by a privileged process, which
//! on an ordinary host is the setuid `newuidmap` / `newgidmap` of the
//! uidmap package: the one host helper lxcbox calls, because the kernel
//! leaves no other way.

pub mod exec;
pub mod held;
pub mod nsexec;
pub mod subid;
pub mod unshare;

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::config::IdMap;

pub use subid::{Delegation, SubIds};

/// The calling user's name (from /etc/passwd; `None` when uid has no entry).
pub fn user_name(uid: u32) -> Option<String> {
    let pw = std::fs::read_to_string("/etc/passwd").ok()?;
    pw.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        f.next()?;
        (f.next()?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

/// What LXC's suggest_default_idmap says to an ordinary user who creates a
/// container without lxc.idmap: the default.conf lines to add, with the
/// user's own first subuid and subgid ranges (or why there are none).
pub fn suggest_default_idmap() -> String {
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    let name = user_name(uid);
    let first = |kind: char, own: u32| {
        SubIds::load(kind)
            .ok()
            .and_then(|s| s.delegated(name.as_deref(), own).first())
    };
    match (first('u', uid), first('g', gid)) {
        (Some((u, ur)), Some((g, gr))) => format!(
            "You must either run as root, or define uid mappings. To pass uid mappings to \
             lxc-create, you could create ~/.config/lxc/default.conf:\n\
             lxc.include = {}\nlxc.idmap = u 0 {u} {ur}\nlxc.idmap = g 0 {g} {gr}",
            crate::config::global::DEFAULT_CONFIG
        ),
        _ => "You do not have subuids or subgids allocated: unprivileged containers require \
              subuids and subgids (/etc/subuid, /etc/subgid; usermod --add-subuids/--add-subgids)"
            .to_string(),
    }
}

/// The maps of `kind` ('u' or 'g') in `maps`.
fn of_kind(maps: &[IdMap], kind: char) -> Vec<&IdMap> {
    maps.iter().filter(|m| m.kind == kind).collect()
}

/// Write process `pid`'s uid_map and gid_map from `maps` (lxc.idmap lines,
/// `u` and `g`). Root writes them itself; an ordinary user writes a map of
/// only their own id itself and goes through newuidmap / newgidmap for
/// anything else, after checking the ranges against /etc/subuid and
/// /etc/subgid so the error says which line is missing.
pub fn write_maps(pid: i32, maps: &[IdMap]) -> Result<()> {
    // Every range first, so that a bad gid line leaves no uid map behind.
    check_delegation(maps, &|m| {
        format!(
            "lxc.idmap = {} {} {} {}",
            m.kind, m.ns_id, m.host_id, m.range
        )
    })?;
    let euid = rustix::process::geteuid().as_raw();
    let egid = rustix::process::getegid().as_raw();
    if euid == 0 {
        for kind in ['u', 'g'] {
            write_proc(pid, kind, &of_kind(maps, kind))?;
        }
        return Ok(());
    }
    for (kind, own) in [('u', euid), ('g', egid)] {
        let m = of_kind(maps, kind);
        if m.is_empty() {
            continue;
        }
        if only_own(&m, own) {
            if kind == 'g' {
                deny_setgroups(pid)?;
            }
            write_proc(pid, kind, &m)?;
            continue;
        }
        run_helper(pid, kind, &m)?;
    }
    Ok(())
}

/// One line that maps exactly the caller's own id: the kernel lets an
/// unprivileged process write that itself.
fn only_own(m: &[&IdMap], own: u32) -> bool {
    matches!(m, [one] if one.range == 1 && one.host_id == own)
}

/// What [`write_maps`] checks before writing anything: for an ordinary
/// user, every map that needs newuidmap / newgidmap against /etc/subuid
/// and /etc/subgid, each refusal naming the map as `label` spells it
/// (`lxc.idmap = u 0 100000 65536`, lxc-usernsexec's `-m u:0:100000:65536`).
/// Root may map anything.
pub fn check_delegation(maps: &[IdMap], label: &dyn Fn(&IdMap) -> String) -> Result<()> {
    let euid = rustix::process::geteuid().as_raw();
    if euid == 0 {
        return Ok(());
    }
    let egid = rustix::process::getegid().as_raw();
    let name = user_name(euid);
    for (kind, own) in [('u', euid), ('g', egid)] {
        let m = of_kind(maps, kind);
        if m.is_empty() || only_own(&m, own) {
            continue;
        }
        let allowed = SubIds::load(kind)?.delegated(name.as_deref(), own);
        for map in &m {
            allowed.check_labelled(map, own, &label(map))?;
        }
    }
    Ok(())
}

/// `deny` into /proc/PID/setgroups: an unprivileged gid_map needs it.
fn deny_setgroups(pid: i32) -> Result<()> {
    let path = format!("/proc/{pid}/setgroups");
    std::fs::write(&path, "deny").with_context(|| format!("writing {path}"))
}

fn write_proc(pid: i32, kind: char, maps: &[&IdMap]) -> Result<()> {
    if maps.is_empty() {
        return Ok(());
    }
    let lines: String = maps
        .iter()
        .map(|m| format!("{} {} {}\n", m.ns_id, m.host_id, m.range))
        .collect();
    let path = format!("/proc/{pid}/{}", file_of(kind));
    // A single write(2): the kernel takes a map only whole, once.
    std::fs::write(&path, lines).with_context(|| format!("lxc.idmap: writing {path}"))
}

fn file_of(kind: char) -> &'static str {
    if kind == 'u' {
        "uid_map"
    } else {
        "gid_map"
    }
}

/// newuidmap PID NS HOST RANGE ... (or newgidmap).
fn run_helper(pid: i32, kind: char, maps: &[&IdMap]) -> Result<()> {
    let helper = if kind == 'u' {
        "newuidmap"
    } else {
        "newgidmap"
    };
    let path = find_helper(helper)?;
    let mut c = Command::new(&path);
    c.arg(pid.to_string());
    for m in maps {
        c.args([
            m.ns_id.to_string(),
            m.host_id.to_string(),
            m.range.to_string(),
        ]);
    }
    let out = c
        .output()
        .with_context(|| format!("lxc.idmap: running {path}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "lxc.idmap: {helper} {pid} ... failed ({}): {}",
            out.status,
            err.trim()
        );
    }
    Ok(())
}

/// The host's newuidmap / newgidmap on PATH (or the usual places when PATH
/// lacks them), with the package to install when it has none.
fn find_helper(name: &str) -> Result<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs =
        path.split(':')
            .filter(|d| !d.is_empty())
            .chain(["/usr/bin", "/bin", "/usr/sbin", "/sbin"]);
    for d in dirs {
        let p = format!("{d}/{name}");
        if rustix::fs::access(p.as_str(), rustix::fs::Access::EXEC_OK).is_ok() {
            return Ok(p);
        }
    }
    bail!(
        "lxc.idmap: {name} not found: an ordinary user needs the host's setuid {name} to map \
         more than their own id (Debian: apt-get install uidmap)"
    )
}
