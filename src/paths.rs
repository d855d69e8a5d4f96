//! Where things live: the global configuration (/etc/lxc/lxc.conf), the
//! default lxcpath, and lxcbox's run directory for locks and sockets.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// LXC's global configuration file for root.
pub const GLOBAL_CONF: &str = "/etc/lxc/lxc.conf";
/// Default container path when the global config does not set one.
pub const DEFAULT_LXCPATH: &str = "/var/lib/lxc";
/// Default base configuration for new containers.
pub const DEFAULT_CONFIG: &str = "/etc/lxc/default.conf";

/// The keys `lxc-config -l` lists, in LXC's order, with their defaults
/// (`None`: no default, shown as "KEY is not set.").
pub const GLOBAL_KEYS: &[(&str, Option<&str>)] = &[
    ("lxc.default_config", Some(DEFAULT_CONFIG)),
    ("lxc.lxcpath", Some(DEFAULT_LXCPATH)),
    ("lxc.bdev.lvm.vg", Some("lxc")),
    ("lxc.bdev.lvm.thin_pool", Some("lxc")),
    ("lxc.bdev.zfs.root", Some("lxc")),
    ("lxc.cgroup.use", None),
    ("lxc.cgroup.pattern", None),
];

/// The parsed global configuration: `key = value` lines.
#[derive(Debug, Clone, Default)]
pub struct GlobalConfig {
    entries: Vec<(String, String)>,
}

impl GlobalConfig {
    /// Load `path`, or [`GLOBAL_CONF`] when `None`. A missing default file is
    /// not an error (LXC runs with built-in defaults); a missing explicit file is.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let (p, explicit) = match path {
            Some(p) => (p, true),
            None => (Path::new(GLOBAL_CONF), false),
        };
        let text = match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default())
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", p.display())),
        };
        Self::parse(&text, &p.display().to_string())
    }

    /// Parse global config text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                bail!(
                    "{origin}:{}: expected \"key = value\", got \"{line}\"",
                    i + 1
                );
            };
            let k = k.trim();
            if !GLOBAL_KEYS.iter().any(|(n, _)| *n == k) {
                bail!("{origin}:{}: unsupported global config key \"{k}\"", i + 1);
            }
            entries.push((
                k.to_string(),
                crate::config::strip_quotes(v.trim()).to_string(),
            ));
        }
        Ok(Self { entries })
    }

    /// The value of `key`: the last assignment in the file, else the default.
    pub fn get(&self, key: &str) -> Option<String> {
        if let Some((_, v)) = self.entries.iter().rev().find(|(k, _)| k == key) {
            return Some(v.clone());
        }
        GLOBAL_KEYS
            .iter()
            .find(|(n, _)| *n == key)
            .and_then(|(_, d)| d.map(str::to_string))
    }

    /// The container path: `lxc.lxcpath`, else /var/lib/lxc.
    pub fn lxcpath(&self) -> String {
        self.get("lxc.lxcpath")
            .unwrap_or_else(|| DEFAULT_LXCPATH.to_string())
    }
}

/// The lxcpath to use when none was given on the command line.
pub fn default_lxcpath() -> String {
    GlobalConfig::load(None)
        .map(|g| g.lxcpath())
        .unwrap_or_else(|_| DEFAULT_LXCPATH.to_string())
}

/// lxcbox's run directory (locks, monitor subscriptions). `LXCBOX_RUNDIR`
/// overrides it, which lets tests run without touching /run.
pub fn rundir() -> PathBuf {
    match std::env::var_os("LXCBOX_RUNDIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("/run/lxcbox"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let g = GlobalConfig::parse("# c\nlxc.lxcpath = /srv/lxc\n\n", "t").unwrap();
        assert_eq!(g.lxcpath(), "/srv/lxc");
        assert_eq!(g.get("lxc.bdev.lvm.vg").as_deref(), Some("lxc"));
        assert_eq!(g.get("lxc.cgroup.use"), None);
    }

    #[test]
    fn errors_name_line() {
        let e = GlobalConfig::parse("\nlxc.nope = 1\n", "lxc.conf").unwrap_err();
        assert_eq!(
            e.to_string(),
            "lxc.conf:2: unsupported global config key \"lxc.nope\""
        );
        let e = GlobalConfig::parse("garbage\n", "lxc.conf").unwrap_err();
        assert!(e.to_string().starts_with("lxc.conf:1: expected"));
    }
}
