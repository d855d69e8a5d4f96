//! What `lxc-net start` made, kept in RUNDIR/lxc-net/BRIDGE.json, so that
//! `stop` removes exactly that and `status` can report it.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Write-then-rename through [`crate::fsutil`], creating the directory:
/// `durable` for the leases file (it outlives a reboot), not for records in
/// the run directory, which a reboot clears (with the kernel state they
/// describe).
pub fn write_file(path: &Path, data: &[u8], mode: u32, durable: bool) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let o = if durable {
        crate::fsutil::Opts::durable(mode)
    } else {
        crate::fsutil::Opts::volatile(mode)
    };
    crate::fsutil::write_path(path, data, o)
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
    write_file(path, text.as_bytes(), mode, true)
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
        write_file(&path(&self.bridge), &b, 0o644, false)
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
