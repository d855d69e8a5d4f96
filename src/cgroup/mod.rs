//! Cgroups for containers on every host layout: pure v1, hybrid (v1
//! controllers + a unified mount) and pure v2.
//!
//! - [`Layout`]: where the hierarchies are and where the caller sits in them.
//! - [`CgroupSet`]: one container's (or monitor's) cgroup, one directory per
//!   hierarchy; create, attach, limits, get/set, freeze/thaw, stats, removal.
//! - [`top`]: lxc-top's table, lxc-info -S lines, lxc-priority.
//!
//! See docs/cgroups.md for the naming rules and the v1→v2 key translation.

mod apply;
mod create;
pub mod devices;
mod freezer;
mod layout;
pub mod owner;
mod set;
mod stale;
mod stats;
pub mod top;

pub use apply::translate_v1_key;
pub use layout::{Hierarchy, Layout, Mode};
pub use set::{CgroupDir, CgroupSet, MONITOR_PREFIX, PAYLOAD_PREFIX};
pub use stale::release_killed_frozen;
pub use stats::Stats;

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Read a cgroup file, trailing newline removed.
pub(crate) fn read_file(path: &Path) -> Result<String> {
    let mut s =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    while s.ends_with('\n') {
        s.pop();
    }
    Ok(s)
}

/// Write a value to a cgroup file in one write(2): cgroupfs parses each write
/// as a whole, and reports a bad value as the write's errno. Never creates
/// the file (a missing key must fail with ENOENT).
pub(crate) fn write_file(path: &Path, value: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(value.as_bytes())
        .with_context(|| format!("writing \"{value}\" to {}", path.display()))
}
