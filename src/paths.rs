//! Where lxcbox keeps its own state: the run directory for locks, command
//! socket records and monitor subscriptions. (The global configuration,
//! with the default lxcpath, is [`crate::config::global`].)

use std::path::PathBuf;

/// lxcbox's run directory (locks, monitor subscriptions). `LXCBOX_RUNDIR`
/// overrides it, which lets tests run without touching /run.
pub fn rundir() -> PathBuf {
    match std::env::var_os("LXCBOX_RUNDIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("/run/lxcbox"),
    }
}
