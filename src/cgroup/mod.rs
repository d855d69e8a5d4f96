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

/// Read a cgroup file, trailing newline removed. (rustix rather than
/// std::fs: musl's open adds an fcntl and std an fstat per file, and a
/// start reads and writes dozens of these.)
pub(crate) fn read_file(path: &Path) -> Result<String> {
    let read = || -> std::io::Result<String> {
        let fd = rustix::fs::open(
            path,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match rustix::io::read(&fd, &mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        String::from_utf8(out).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    };
    let mut s = read().with_context(|| format!("reading {}", path.display()))?;
    while s.ends_with('\n') {
        s.pop();
    }
    Ok(s)
}

/// Write a value to a cgroup file in one write(2): cgroupfs parses each write
/// as a whole, and reports a bad value as the write's errno. Never creates
/// the file (a missing key must fail with ENOENT).
pub(crate) fn write_file(path: &Path, value: &str) -> Result<()> {
    let fd = rustix::fs::open(
        path,
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(std::io::Error::from)
    .with_context(|| format!("opening {}", path.display()))?;
    let mut f = std::fs::File::from(fd);
    f.write_all(value.as_bytes())
        .with_context(|| format!("writing \"{value}\" to {}", path.display()))
}
