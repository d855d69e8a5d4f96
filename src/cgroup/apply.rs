//! Limits from the config (lxc.cgroup.* and lxc.cgroup2.*), the v1→v2 key
//! translation for v2-only hosts, device rules (v1 files or a v2 BPF
//! program, see [`super::devices`]), and lxc-cgroup's get/set.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::set::CgroupSet;
use super::{read_file, write_file};
use crate::config::Config;

/// Strip an optional `prefix` (the parser may keep the full key).
fn short<'a>(key: &'a str, prefix: &str) -> &'a str {
    key.strip_prefix(prefix).unwrap_or(key)
}

/// Parse a v1 byte/shares value; "-1" (v1's "no limit") is `None`.
fn num(key: &str, v: &str) -> Result<Option<u64>> {
    let v = v.trim();
    if v == "-1" || v == "max" {
        return Ok(None);
    }
    match v.parse::<u64>() {
        Ok(n) => Ok(Some(n)),
        Err(_) => {
            bail!("{key}: \"{v}\" is not a number (suffixes are not translated on cgroup v2)")
        }
    }
}

/// Translate a v1 key and value (`memory.limit_in_bytes`, `200000000`) to
/// its v2 equivalent. `mem_limit` is the configured memory.limit_in_bytes,
/// needed because v1 memsw counts memory+swap while v2 swap.max counts swap
/// only. Conversions follow runc's (the de-facto standard):
/// cpu.weight = 1 + (shares-2)*9999/262142; io.weight = 1 + (w-10)*9999/990.
pub fn translate_v1_key(
    key: &str,
    value: &str,
    mem_limit: Option<&str>,
) -> Result<(String, String)> {
    let out = |k: &str, v: String| Ok((k.to_string(), v));
    let max_or = |n: Option<u64>| n.map_or_else(|| "max".to_string(), |n| n.to_string());
    match key {
        "memory.limit_in_bytes" => out("memory.max", max_or(num(key, value)?)),
        "memory.soft_limit_in_bytes" => out("memory.low", max_or(num(key, value)?)),
        "memory.memsw.limit_in_bytes" => {
            let Some(memsw) = num(key, value)? else {
                return out("memory.swap.max", "max".into());
            };
            let mem = match mem_limit {
                Some(m) => num("memory.limit_in_bytes", m)?,
                None => bail!(
                    "{key} can only be translated to memory.swap.max together with \
                     memory.limit_in_bytes"
                ),
            };
            match mem {
                Some(mem) if memsw >= mem => out("memory.swap.max", (memsw - mem).to_string()),
                Some(mem) => bail!("{key} ({memsw}) is below memory.limit_in_bytes ({mem})"),
                None => bail!("{key} is set but memory.limit_in_bytes is unlimited"),
            }
        }
        "cpu.shares" => {
            let s = num(key, value)?.unwrap_or(1024).clamp(2, 262_144);
            out("cpu.weight", (1 + (s - 2) * 9999 / 262_142).to_string())
        }
        "blkio.weight" => {
            let w = num(key, value)?.unwrap_or(500).clamp(10, 1000);
            out("io.weight", (1 + (w - 10) * 9999 / 990).to_string())
        }
        "pids.max" => out(key, value.to_string()),
        k if k.starts_with("cpuset.") => out(k, value.to_string()),
        k if k.starts_with("devices.") => bail!(
            "lxc.cgroup.{k}: device rules have no cgroup v2 file (they become the device program)"
        ),
        k => bail!("lxc.cgroup.{k} has no cgroup v2 equivalent; use an lxc.cgroup2.* key"),
    }
}

impl CgroupSet {
    /// Apply lxc.cgroup.* (v1) and lxc.cgroup2.* keys but the device rules
    /// ([`Self::apply_device_rules`]), in config order except that memsw
    /// limits come after memory limits (v1 refuses a memsw limit below the
    /// memory limit). Every error names the key and the file.
    pub fn apply_config(&self, cfg: &Config) -> Result<()> {
        let is_dev = |k: &&str| k.starts_with("devices.");
        let v1: Vec<(&str, &str)> = cfg
            .cgroup_v1
            .iter()
            .map(|(k, v)| (short(k, "lxc.cgroup."), v.as_str()))
            .collect();
        let mem_limit = v1
            .iter()
            .rev()
            .find(|(k, _)| *k == "memory.limit_in_bytes")
            .map(|(_, v)| *v);
        let v1: Vec<(&str, &str)> = v1.into_iter().filter(|(k, _)| !is_dev(k)).collect();
        let (memsw, rest): (Vec<_>, Vec<_>) = v1.iter().partition(|(k, _)| k.contains(".memsw."));
        for (k, v) in rest.into_iter().chain(memsw) {
            self.apply_v1(k, v, mem_limit)
                .with_context(|| format!("setting lxc.cgroup.{k} = {v}"))?;
        }
        let v2: Vec<(&str, &str)> = cfg
            .cgroup_v2
            .iter()
            .map(|(k, v)| (short(k, "lxc.cgroup2."), v.as_str()))
            .collect();
        let v2: Vec<(&str, &str)> = v2.into_iter().filter(|(k, _)| !is_dev(k)).collect();
        for (k, v) in v2 {
            self.apply_v2(k, v)
                .with_context(|| format!("setting lxc.cgroup2.{k} = {v}"))?;
        }
        Ok(())
    }

    /// The device rules of the config (lxc.cgroup.devices.*,
    /// lxc.cgroup2.devices.*). Applied apart from the other limits, once
    /// the container's setup (autodev's mknod, the console) is done and
    /// before init execs, as LXC does.
    pub fn apply_device_rules(&self, cfg: &Config) -> Result<()> {
        let dev = |list: &'_ [(String, String)], prefix: &str| {
            list.iter()
                .map(|(k, v)| (short(k, prefix).to_string(), v.clone()))
                .filter(|(k, _)| k.starts_with("devices."))
                .collect::<Vec<_>>()
        };
        let (v1, v2) = (
            dev(&cfg.cgroup_v1, "lxc.cgroup."),
            dev(&cfg.cgroup_v2, "lxc.cgroup2."),
        );
        self.apply_devices(&refs(&v1), &refs(&v2))
    }

    /// Whether the config has device rules at all.
    pub fn has_device_rules(cfg: &Config) -> bool {
        cfg.cgroup_v1
            .iter()
            .map(|(k, _)| short(k, "lxc.cgroup."))
            .chain(cfg.cgroup_v2.iter().map(|(k, _)| short(k, "lxc.cgroup2.")))
            .any(|k| k.starts_with("devices."))
    }

    /// Device rules. LXC 5 applies lxc.cgroup.devices.* where a cgroup v1
    /// devices controller exists and ignores every lxc.cgroup2.* key there
    /// (with a warning); on pure v2 it ignores the v1 keys and builds a BPF
    /// device program from the v2 ones. lxcbox does the same, and never
    /// drops a device policy a config states in only one family: v2-only
    /// rules get the device program on a hybrid host too, v1-only rules are
    /// translated to it on pure v2.
    fn apply_devices(&self, v1: &[(&str, &str)], v2: &[(&str, &str)]) -> Result<()> {
        let v1_dir = self.dirs.iter().find(|d| !d.v2 && d.has("devices"));
        if let (Some(d), false) = (v1_dir, v1.is_empty()) {
            if !v2.is_empty() {
                log::warn!(
                    "Ignoring cgroup2 limits on legacy cgroup system: lxc.cgroup2.devices.* not applied, \
                     lxc.cgroup.devices.* decide where the devices controller is cgroup v1 (as LXC)"
                );
            }
            for (k, v) in v1 {
                check_key(k)?;
                match write_file(&d.path.join(k), v) {
                    Ok(()) => {}
                    // LXC warns and goes on when it may not write device rules.
                    Err(e) if is_permission(&e) => {
                        log::warn!("setting lxc.cgroup.{k} = {v}: {e:#}")
                    }
                    Err(e) => return Err(e.context(format!("setting lxc.cgroup.{k} = {v}"))),
                }
            }
            return Ok(());
        }
        let (rules, family) = match (v1.is_empty(), v2.is_empty()) {
            (true, true) => return Ok(()),
            (_, false) => {
                if !v1.is_empty() {
                    log::warn!(
                        "Ignoring legacy cgroup limits on pure cgroup2 system: lxc.cgroup.devices.* not applied, \
                         lxc.cgroup2.devices.* decide (as LXC)"
                    );
                }
                (v2, "lxc.cgroup2")
            }
            (false, true) => (v1, "lxc.cgroup"),
        };
        let Some(u) = self.unified() else {
            if family == "lxc.cgroup2" {
                log::warn!("Ignoring cgroup2 limits on legacy cgroup system: lxc.cgroup2.devices.* not applied, the host has no cgroup v2 (as LXC)");
                return Ok(());
            }
            bail!("lxc.cgroup.devices.*: the host has neither a cgroup v1 devices controller nor cgroup v2");
        };
        let mut list = super::devices::DeviceList::default();
        for (k, v) in rules {
            let r =
                super::devices::parse_rule(k, v).with_context(|| format!("{family}.{k} = {v}"))?;
            list.add(r);
        }
        if family == "lxc.cgroup" {
            log::info!("lxc.cgroup.devices.*: no cgroup v1 devices controller, enforced by a cgroup v2 device program");
        }
        list.attach(&u.path)
            .with_context(|| format!("setting {family}.devices.* (cgroup v2 device program)"))
    }

    fn apply_v1(&self, key: &str, value: &str, mem_limit: Option<&str>) -> Result<()> {
        check_key(key)?;
        let ctrl = key.split('.').next().unwrap_or(key);
        if let Some(d) = self.dirs.iter().find(|d| !d.v2 && d.has(ctrl)) {
            return write_file(&d.path.join(key), value);
        }
        let Some(u) = self.unified() else {
            bail!("no cgroup v1 hierarchy has the {ctrl} controller");
        };
        let (k2, v2) = translate_v1_key(key, value, mem_limit)?;
        log::warn!(
            "lxc.cgroup.{key} = {value}: no cgroup v1 {ctrl} controller, \
             applied as lxc.cgroup2.{k2} = {v2}"
        );
        write_v2(u, &k2, &v2)
    }

    fn apply_v2(&self, key: &str, value: &str) -> Result<()> {
        check_key(key)?;
        let Some(u) = self.unified() else {
            bail!("the host has no cgroup v2 hierarchy");
        };
        write_v2(u, key, value)
    }

    /// The file that cgroup key `key` (e.g. `memory.limit_in_bytes`,
    /// `memory.max`) names: in the v1 hierarchy of the controller before
    /// the first dot, else in the unified hierarchy. It must exist.
    pub fn key_path(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        let ctrl = key.split('.').next().unwrap_or(key);
        let dir = self
            .dirs
            .iter()
            .find(|d| !d.v2 && d.has(ctrl))
            .or_else(|| self.unified())
            .or_else(|| self.dirs.first());
        let Some(dir) = dir else {
            bail!("{key}: the container has no cgroup");
        };
        let p = dir.path.join(key);
        if !p.exists() {
            bail!(
                "{key}: no such cgroup file ({} does not exist)",
                p.display()
            );
        }
        Ok(p)
    }

    /// lxc-cgroup KEY: the file's content, trailing newline removed.
    pub fn get(&self, key: &str) -> Result<String> {
        let p = self.key_path(key)?;
        read_file(&p).with_context(|| format!("reading cgroup key {key}"))
    }

    /// lxc-cgroup KEY VALUE.
    pub fn set(&self, key: &str, value: &str) -> Result<()> {
        if key.starts_with("devices.") && !self.dirs.iter().any(|d| !d.v2 && d.has("devices")) {
            bail!(
                "{key}: the device rules of a cgroup v2 container are a BPF program set at start; \
                 changing them while it runs is not supported by lxcbox (set lxc.cgroup2.{key} and restart)"
            );
        }
        let p = self.key_path(key)?;
        write_file(&p, value).with_context(|| format!("setting cgroup key {key} to \"{value}\""))
    }
}

/// Write a v2 file; a missing file of a controller that is not enabled
/// for the cgroup gets an explanation (the parent's cgroup.subtree_control
/// did not delegate it).
fn write_v2(u: &super::set::CgroupDir, key: &str, value: &str) -> Result<()> {
    let path = u.path.join(key);
    let ctrl = key.split('.').next().unwrap_or(key);
    if !path.exists() && ctrl != "cgroup" && !u.has(ctrl) {
        bail!(
            "{}: the {ctrl} controller is not enabled for this cgroup (not in the \
             parent's cgroup.subtree_control; enabled: \"{}\")",
            path.display(),
            u.controllers.join(" ")
        );
    }
    write_file(&path, value)
}

fn refs(l: &[(String, String)]) -> Vec<(&str, &str)> {
    l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn is_permission(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| matches!(io.raw_os_error(), Some(libc::EPERM | libc::EACCES)))
}

/// No syntax check beyond keeping the key inside the cgroup directory.
fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.contains('/') || key.starts_with('.') || key.contains('\0') {
        bail!("invalid cgroup key \"{key}\"");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(k: &str, v: &str, m: Option<&str>) -> (String, String) {
        translate_v1_key(k, v, m).unwrap()
    }

    #[test]
    fn translations() {
        assert_eq!(
            t("memory.limit_in_bytes", "300000000", None),
            ("memory.max".into(), "300000000".into())
        );
        assert_eq!(t("memory.limit_in_bytes", "-1", None).1, "max");
        assert_eq!(
            t("memory.memsw.limit_in_bytes", "500", Some("300")),
            ("memory.swap.max".into(), "200".into())
        );
        assert_eq!(t("memory.memsw.limit_in_bytes", "-1", None).1, "max");
        assert_eq!(
            t("cpu.shares", "1024", None),
            ("cpu.weight".into(), "39".into())
        );
        assert_eq!(t("cpu.shares", "2", None).1, "1");
        assert_eq!(t("cpu.shares", "262144", None).1, "10000");
        assert_eq!(
            t("blkio.weight", "10", None),
            ("io.weight".into(), "1".into())
        );
        assert_eq!(t("blkio.weight", "1000", None).1, "10000");
        assert_eq!(
            t("cpuset.cpus", "0-1", None),
            ("cpuset.cpus".into(), "0-1".into())
        );
        assert_eq!(
            t("pids.max", "100", None),
            ("pids.max".into(), "100".into())
        );
    }

    #[test]
    fn translation_errors() {
        let e = translate_v1_key("devices.allow", "c 1:3 rwm", None).unwrap_err();
        assert!(e.to_string().contains("device program"), "{e}");
        assert!(translate_v1_key("memory.memsw.limit_in_bytes", "5", None).is_err());
        assert!(translate_v1_key("memory.memsw.limit_in_bytes", "5", Some("9")).is_err());
        assert!(translate_v1_key("net_cls.classid", "1", None).is_err());
        assert!(translate_v1_key("memory.limit_in_bytes", "1G", None).is_err());
    }

    #[test]
    fn keys_stay_inside() {
        assert!(check_key("../../etc/passwd").is_err());
        assert!(check_key("memory.max/x").is_err());
        assert!(check_key("").is_err());
        assert!(check_key("cpuset.cpus").is_ok());
    }
}
