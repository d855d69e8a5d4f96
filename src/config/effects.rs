//! What a start makes of the keys that are not (yet) enforced, read from
//! the key table's `effect` column: refused keys stop the start with a
//! message naming them, ignored ones are logged at WARN. Nothing parsed is
//! dropped without a word.

use super::keys::{Effect, Lsm, Out, KEYS};
use super::types::Config;

/// One key a start cannot honour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub key: &'static str,
    pub reason: String,
    /// Refuse the start (else: warn and go on).
    pub refuse: bool,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// True when the host runs `lsm` (what LXC's lsm_init probes).
pub fn lsm_enabled(lsm: Lsm) -> bool {
    match lsm {
        Lsm::AppArmor => std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|s| s.trim() == "Y"),
        Lsm::SeLinux => std::path::Path::new("/sys/fs/selinux/enforce").exists(),
    }
}

fn lsm_name(lsm: Lsm) -> &'static str {
    match lsm {
        Lsm::AppArmor => "AppArmor",
        Lsm::SeLinux => "SELinux",
    }
}

/// The keys of `cfg` that are set and not enforced, in table order.
pub fn findings(cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    for k in KEYS {
        if k.effect == Effect::Enforced {
            continue;
        }
        let mut lines = Out::default();
        (k.emit)(cfg, k.name, &mut lines);
        if lines.0.is_empty() && !cfg.obsolete_keys.0.iter().any(|o| o == k.name) {
            continue;
        }
        let (reason, refuse) = match k.effect {
            Effect::Enforced => continue,
            Effect::Refused(r) => (r.to_string(), true),
            Effect::Ignored(r) => (format!("ignored: {r}"), false),
            Effect::Lsm(l) if lsm_enabled(l) => (
                format!(
                    "{} is enabled on this host, and lxcbox does not support it yet",
                    lsm_name(l)
                ),
                true,
            ),
            Effect::Lsm(l) => (
                format!(
                    "ignored: {} is not enabled on this host (as LXC does)",
                    lsm_name(l)
                ),
                false,
            ),
        };
        out.push(Finding {
            key: k.name,
            reason,
            refuse,
        });
    }
    out
}
