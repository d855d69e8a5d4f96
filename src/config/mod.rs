//! Container configuration: the typed [`Config`], its parser (both key
//! generations), its writer and the legacy-key updater.
//!
//! One key table ([`keys::KEYS`]) drives parsing, getting and writing;
//! legacy spellings are mapped onto it by [`legacy`].

pub mod effects;
pub mod global;
mod keys;
mod legacy;
mod lexer;
mod load;
mod mount_auto;
mod names;
mod net;
mod special;
mod types;
mod update;
mod values;
mod writer;

use std::path::Path;

use anyhow::{anyhow, Context, Result};

pub use keys::{Effect, Lsm};
pub use lexer::{line as lex_line, strip_quotes, Line as LexLine};
pub use load::read_text;
pub use names::CAPS;
pub use types::*;
pub use update::{update_file, update_legacy};
pub use values::arch_is_32bit;
pub use writer::write;

/// A signal by name (`SIGPWR`, `SIGRTMIN+3`) or number (`30`), as LXC
/// accepts them in lxc.signal.* and `lxc-stop`/`lxc-kill -s`.
pub fn parse_signal(s: &str) -> Result<i32> {
    names::signal(s.trim()).map_err(|e| anyhow!(e))
}

/// Every modern key (families end in `.<...>`), in writer order: for
/// `lxc-config`-style listings and the docs test.
pub fn modern_keys() -> impl Iterator<Item = String> {
    keys::KEYS
        .iter()
        .filter(|k| !legacy::DROPPED.contains(&k.name))
        .map(|k| {
            if k.family {
                format!("{}.<...>", k.name)
            } else {
                k.name.to_string()
            }
        })
}

/// The legacy key renames (legacy, modern), plus the legacy-only keys that
/// are accepted and dropped on conversion (paired with "").
pub fn legacy_keys() -> impl Iterator<Item = (&'static str, &'static str)> {
    legacy::RENAMES
        .iter()
        .copied()
        .chain(std::iter::once((
            "lxc.limit.<resource>",
            "lxc.prlimit.<resource>",
        )))
        .chain(legacy::DROPPED.iter().map(|k| (*k, "")))
}

/// Every row of the key table with its effect (families as `name.<...>`),
/// for the test that no key is accepted and silently dropped.
pub fn key_effects() -> impl Iterator<Item = (String, Effect)> {
    keys::KEYS.iter().map(|k| {
        let n = if k.family {
            format!("{}.<...>", k.name)
        } else {
            k.name.to_string()
        };
        (n, k.effect)
    })
}

/// Keys holding whitespace-separated tokens, written on one line.
const WORD_KEYS: &[&str] = &[
    "lxc.cap.drop",
    "lxc.cap.keep",
    "lxc.namespace.clone",
    "lxc.namespace.keep",
];

impl Config {
    /// Read a config file, following lxc.include.
    pub fn load(path: &Path) -> Result<Config> {
        let mut c = Config::default();
        load::load_file(&mut c, path, &mut load::Ctx::default())?;
        Ok(c)
    }

    /// Parse config text; `origin` names it in errors, relative
    /// lxc.include paths are resolved against `base_dir`.
    pub fn parse_str(text: &str, origin: &str, base_dir: &Path) -> Result<Config> {
        let mut c = Config::default();
        load::parse_into(&mut c, text, origin, base_dir, &mut load::Ctx::default())?;
        Ok(c)
    }

    /// Apply more config text on top of this one (e.g. a container config
    /// over /etc/lxc/default.conf).
    pub fn merge_str(&mut self, text: &str, origin: &str, base_dir: &Path) -> Result<()> {
        load::parse_into(self, text, origin, base_dir, &mut load::Ctx::default())
    }

    /// `-s KEY=VALUE` / `--define`: one assignment, same validation as a file
    /// line (value trimmed, one pair of quotes stripped).
    pub fn set_item(&mut self, key: &str, value: &str) -> Result<()> {
        let value = strip_quotes(value.trim());
        if value.contains(['\n', '\r']) {
            return Err(anyhow!("{key}: a value cannot contain a line break"));
        }
        let key = key.trim();
        if key == "lxc.include" {
            // Relative to the current directory, as LXC resolves it.
            if value.is_empty() {
                return Ok(());
            }
            return load::include(self, value, Path::new("."), &mut load::Ctx::default())
                .with_context(|| format!("lxc.include = {value}"));
        }
        self.apply(key, value, &mut legacy::NetState::default())
            .map_err(|e| anyhow!(e))
    }

    /// `-s KEY=VALUE` as one word: split at the first '=' and [`Self::set_item`].
    pub fn define(&mut self, kv: &str) -> Result<()> {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(anyhow!("expected KEY=VALUE, got \"{kv}\""));
        };
        self.set_item(k, v)
    }

    /// The value of `key` as `lxc-info -c KEY` prints it: list keys joined
    /// by '\n', unset keys as "" (or "0" for numbers and flags). A family
    /// name (`lxc.cgroup`, `lxc.net.0`) gives all its lines as `k = v`.
    pub fn get_item(&self, key: &str) -> Result<String> {
        let key = key.trim();
        let modern = legacy::modernize(self, key, &mut legacy::NetState::default())
            .map_err(|e| anyhow!(e))?
            .unwrap_or_else(|| key.to_string());
        let Some((row, sub)) = keys::lookup(&modern) else {
            return Err(anyhow!("unsupported config key \"{key}\""));
        };
        // Where LXC's getters differ from the written form.
        if modern == "lxc.rootfs.path" {
            // LXC prints the path without its type: prefix.
            return Ok(self.rootfs.path.clone().unwrap_or_default());
        }
        if modern == "lxc.net" {
            // LXC prints the interface types, one per line.
            let types: Vec<&str> = self
                .net
                .iter()
                .map(|n| values::net_type_name(n.kind).unwrap_or(""))
                .collect();
            return Ok(types.join("\n"));
        }
        if let Some(idx) = sub.split('.').next().filter(|_| row.name == "lxc.net") {
            if !self.net.iter().any(|n| n.index.to_string() == idx) {
                return Err(anyhow!("{key}: no such network interface"));
            }
        }
        let mut out = keys::Out::default();
        (row.emit)(self, row.name, &mut out);
        let prefix = format!("{modern}.");
        let whole_family = row.family
            && (sub.is_empty() || (modern.starts_with("lxc.net.") && !sub.contains('.')));
        let split = WORD_KEYS.contains(&modern.as_str());
        let vals: Vec<String> = if whole_family {
            out.0
                .into_iter()
                .filter(|(k, _)| sub.is_empty() || k.starts_with(&prefix))
                .map(|(k, v)| format!("{k} = {v}"))
                .collect()
        } else {
            out.0
                .into_iter()
                .filter(|(k, _)| *k == modern)
                .flat_map(|(_, v)| {
                    // Token lists (caps, namespaces) print one per line.
                    if split {
                        v.split(' ').map(str::to_string).collect()
                    } else {
                        vec![v]
                    }
                })
                .collect()
        };
        if vals.is_empty() {
            return Ok(if whole_family {
                String::new()
            } else {
                row.unset.to_string()
            });
        }
        Ok(vals.join("\n"))
    }

    /// Set one (already unquoted) key. `Err` is the message after `FILE:LINE: `.
    fn apply(&mut self, key: &str, value: &str, st: &mut legacy::NetState) -> Result<(), String> {
        let modern = legacy::modernize(self, key, st)?;
        let mkey = modern.as_deref().unwrap_or(key);
        let Some((row, sub)) = keys::lookup(mkey) else {
            return Err(format!("unsupported config key \"{key}\""));
        };
        (row.set)(self, sub, value).map_err(|e| format!("{key}: {e}"))
    }
}

/// The base configuration for new containers: `lxc.default_config` of the
/// global config (normally /etc/lxc/default.conf); empty when the file
/// does not exist.
pub fn load_default_conf(global: &global::GlobalConfig) -> Result<Config> {
    let p = global.default_config();
    let p = p.as_path();
    if !p.exists() {
        return Ok(Config::default());
    }
    Config::load(p)
}
