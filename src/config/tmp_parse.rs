//! TEMPORARY minimal loader so the launch pipeline can be exercised while
//! the real parser lands on its branch. Replaced by the real parser at merge.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::*;

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut c = Config::default();
        for l in text.lines() {
            let l = l.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = l.split_once('=') {
                c.set_item(k.trim(), v.trim())?;
            }
        }
        Ok(c)
    }

    pub fn set_item(&mut self, key: &str, value: &str) -> Result<()> {
        let v = value.to_string();
        match key {
            "lxc.uts.name" => self.uts_name = Some(v),
            "lxc.rootfs.path" => self.rootfs.path = Some(v.trim_start_matches("dir:").into()),
            "lxc.init.cmd" => self.init_cmd = Some(v),
            "lxc.execute.cmd" => self.execute_cmd = Some(v),
            "lxc.mount.entry" => self.mount_entries.push(v),
            "lxc.autodev" => self.autodev = Some(v == "1"),
            "lxc.signal.halt" => self.signal_halt = Some(v.parse()?),
            "lxc.tty.max" => self.tty_max = v.parse()?,
            "lxc.environment" => self.environment.push(v),
            "lxc.start.auto" => self.start_auto = v == "1",
            "lxc.group" => self.groups.push(v),
            "lxc.net.0.type" => self.net.push(NetDev {
                kind: if v == "empty" {
                    NetType::Empty
                } else {
                    NetType::Veth
                },
                ..Default::default()
            }),
            _ => bail!("unsupported config key \"{key}\""),
        }
        Ok(())
    }
}

impl Config {
    pub fn get_item(&self, key: &str) -> Result<String> {
        match key {
            "lxc.uts.name" => Ok(self.uts_name.clone().unwrap_or_default()),
            "lxc.start.auto" => Ok(u8::from(self.start_auto).to_string()),
            _ => bail!("unknown key {key}"),
        }
    }
}

/// TEMPORARY: replaced by the real parser's signal parsing.
pub fn parse_signal(s: &str) -> Result<i32> {
    let u = s.trim().to_ascii_uppercase();
    let u = u.strip_prefix("SIG").unwrap_or(&u);
    if let Ok(n) = u.parse() {
        return Ok(n);
    }
    Ok(match u {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "KILL" => 9,
        "USR1" => 10,
        "USR2" => 12,
        "TERM" => 15,
        "CONT" => 18,
        "STOP" => 19,
        "PWR" => 30,
        _ => bail!("invalid signal \"{s}\""),
    })
}
