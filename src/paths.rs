//! Where lxcbox keeps its own state: the run directory for locks, command
//! socket records and monitor subscriptions. (The global configuration,
//! with the default lxcpath, is [`crate::config::global`].)

use std::path::PathBuf;

/// lxcbox's run directory (locks, monitor subscriptions): `lxcbox` in
/// LXC's run directory ([`lxc_rundir`]). `LXCBOX_RUNDIR` overrides it,
/// which lets tests run without touching /run.
///
/// Decided once per process: a container's child that became root of its
/// user namespace must still find the caller's run directory, not root's.
pub fn rundir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| match std::env::var_os("LXCBOX_RUNDIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => lxc_rundir().join("lxcbox"),
    })
    .clone()
}

/// LXC's run directory (get_rundir in utils.c): /run for root; for an
/// ordinary user `$XDG_RUNTIME_DIR`, or `~/.cache/lxc/run` without one.
pub fn lxc_rundir() -> PathBuf {
    if rustix::process::geteuid().is_root() {
        return PathBuf::from("/run");
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"));
    home.join(".cache/lxc/run")
}
