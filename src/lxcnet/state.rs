//! What `lxc-net start` made, kept in RUNDIR/lxc-net/BRIDGE.json, so that
//! `stop` removes exactly that and `status` can report it.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Writes `data` to `path` through PATH.tmp and rename(2), flushed to disk
/// first (the leases file: it outlives a reboot).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    write_renamed(path, data, true)
}

/// As [`write_atomic`] without the flush: for records in the run
/// directory, which a reboot clears anyway (and whose kernel state it
/// clears too).
fn write_volatile(path: &Path, data: &[u8]) -> Result<()> {
    write_renamed(path, data, false)
}

fn write_renamed(path: &Path, data: &[u8], flush: bool) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(data)
        .and_then(|_| if flush { f.sync_data() } else { Ok(()) })
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// Writes a boot unit or init script shipped with lxcbox to `path` (mode
/// `mode`, through write-then-rename), refusing to replace a file that
/// lxcbox did not write (one without "lxcbox" in its first lines).
pub fn install_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    if let Ok(old) = std::fs::read_to_string(path) {
        if !old.lines().take(5).any(|l| l.contains("lxcbox")) {
            anyhow::bail!(
                "{} exists and was not written by lxcbox; not overwriting it",
                path.display()
            );
        }
    } else if path.exists() {
        anyhow::bail!(
            "{} exists and is not a text file; not overwriting it",
            path.display()
        );
    }
    write_atomic(path, text.as_bytes())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

/// A network's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub bridge: String,
    /// The bridge was created by start (else it was kept from a stop that
    /// found containers still attached).
    pub created_bridge: bool,
    /// Addresses start put on the bridge.
    pub addresses: Vec<(IpAddr, u8)>,
    /// nf_tables tables start made: (family, name).
    pub nft_tables: Vec<(crate::net::nft::Family, String)>,
    /// sysctl files start changed, with their values before.
    pub sysctls: Vec<(String, String)>,
    /// The DHCP server (pid and its start time in clock ticks, so a
    /// recycled pid is never signalled).
    pub server_pid: Option<i32>,
    pub server_start: Option<u64>,
    pub leasefile: PathBuf,
    pub addr: Option<Ipv4Addr>,
    pub network: Option<(Ipv4Addr, u8)>,
    pub range: Option<(Ipv4Addr, Ipv4Addr)>,
    pub dhcp_max: u32,
    pub config: String,
}

pub fn dir() -> PathBuf {
    crate::paths::rundir().join("lxc-net")
}

pub fn path(bridge: &str) -> PathBuf {
    dir().join(format!("{bridge}.json"))
}

impl State {
    pub fn load(bridge: &str) -> Result<Option<State>> {
        let p = path(bridge);
        match std::fs::read(&p) {
            Ok(b) => Ok(Some(
                serde_json::from_slice(&b).with_context(|| format!("reading {}", p.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
        }
    }

    pub fn save(&self) -> Result<()> {
        let b = serde_json::to_vec_pretty(self)?;
        write_volatile(&path(&self.bridge), &b)
    }

    pub fn remove(bridge: &str) -> Result<()> {
        match std::fs::remove_file(path(bridge)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path(bridge).display()))
            }
            _ => Ok(()),
        }
    }

    /// Every network with a record, for readers such as lxc-info.
    pub fn all() -> Vec<State> {
        let Ok(rd) = std::fs::read_dir(dir()) else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| {
                let n = e.file_name().into_string().ok()?;
                let b = n.strip_suffix(".json")?;
                State::load(b).ok().flatten()
            })
            .collect()
    }
}
