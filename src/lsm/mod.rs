//! Linux security modules: lxc.apparmor.* and lxc.selinux.*, as LXC 5
//! applies them (src/lxc/lsm/: lsm.c, apparmor.c, selinux.c).
//!
//! LXC picks one driver at start: AppArmor when it is enabled, else
//! SELinux when it is enabled, else "nop", which silently ignores every
//! LSM key. lxcbox does the same, and with the nop driver says so with a
//! WARN line per key that asked for confinement (LXC logs nothing).
//!
//! - [`prepare_start`] runs in the monitor before anything is created: it
//!   decides the label (and for `lxc.apparmor.profile = generated` writes
//!   and loads the profile); [`Plan::apply`] runs in the container's
//!   child as a confinement step right before exec.
//! - [`prepare_attach`] does the same for lxc-attach with init's label or
//!   `-c/--context`.
//!
//! Only the nop path runs on the machines lxcbox is tested on; the
//! AppArmor and SELinux paths are unit-tested (profile text, names, label
//! strings) and documented as untested on a live LSM (docs/security.md).

pub mod apparmor;
pub mod selinux;

use anyhow::{Context, Result};

use crate::config::Config;

/// The LSM driver LXC would pick on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Driver {
    AppArmor(apparmor::Host),
    SELinux,
    Nop,
}

impl Driver {
    /// LXC's lsm_init_static: AppArmor, then SELinux, then nop.
    pub fn detect() -> Driver {
        if let Some(h) = apparmor::Host::detect() {
            return Driver::AppArmor(h);
        }
        if selinux::enabled() {
            return Driver::SELinux;
        }
        Driver::Nop
    }

    pub fn name(&self) -> &'static str {
        match self {
            Driver::AppArmor(_) => "AppArmor",
            Driver::SELinux => "SELinux",
            Driver::Nop => "nop",
        }
    }
}

/// What to write where, right before exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// AppArmor: `changeprofile LABEL` to attr/apparmor/current (takes
    /// effect at once; AppArmor has no on-exec change for this).
    AppArmor(String),
    /// SELinux: the label of the next exec (attr/exec).
    SELinux(String),
}

/// The LSM decisions for one container start or attach.
#[derive(Debug, Default)]
pub struct Plan {
    pub label: Option<Label>,
    /// lxc.selinux.context.keyring: the label of keyrings created next.
    pub keyring: Option<String>,
    /// A generated AppArmor profile to unload when the plan is dropped.
    pub generated: Option<apparmor::Generated>,
}

impl Plan {
    /// Set the label (and keyring label). Runs in the child before
    /// no_new_privs and seccomp.
    pub fn apply(&self) -> Result<()> {
        match &self.label {
            Some(Label::AppArmor(l)) => apparmor::change_profile(l)?,
            Some(Label::SELinux(l)) => selinux::set_exec_label(l)?,
            None => {}
        }
        Ok(())
    }

    /// Set the keyring label, before the session keyring is made.
    pub fn apply_keyring(&self) -> Result<()> {
        if let Some(k) = &self.keyring {
            selinux::set_keycreate_label(k)?;
        }
        Ok(())
    }
}

/// Decide the LSM confinement of container `name` (lxcpath `lxcpath`).
pub fn prepare_start(cfg: &Config, name: &str, lxcpath: &str) -> Result<Plan> {
    let driver = Driver::detect();
    log::info!("Initialized LSM security driver {}", driver.name());
    match driver {
        Driver::AppArmor(host) => apparmor::prepare(&host, cfg, name, lxcpath),
        Driver::SELinux => Ok(Plan {
            label: cfg.selinux_context.clone().map(Label::SELinux),
            keyring: cfg.selinux_context_keyring.clone(),
            generated: None,
        }),
        Driver::Nop => {
            for w in nop_warnings(cfg) {
                log::warn!("{w}");
            }
            Ok(Plan::default())
        }
    }
}

/// What the nop driver ignores, one line per key that asks for
/// confinement (`unconfined` and `unchanged` ask for none).
pub fn nop_warnings(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let aa = "AppArmor is not enabled on this host; not applied (as LXC)";
    let se = "SELinux is not enabled on this host; not applied (as LXC)";
    match cfg.apparmor_profile.as_deref() {
        Some("unconfined") | Some("unchanged") | None => {}
        Some(p) => out.push(format!("lxc.apparmor.profile = {p}: {aa}")),
    }
    if cfg.apparmor_allow_nesting {
        out.push(format!("lxc.apparmor.allow_nesting = 1: {aa}"));
    }
    if !cfg.apparmor_raw.is_empty() {
        out.push(format!(
            "lxc.apparmor.raw ({} lines): {aa}",
            cfg.apparmor_raw.len()
        ));
    }
    if let Some(c) = &cfg.selinux_context {
        out.push(format!("lxc.selinux.context = {c}: {se}"));
    }
    if let Some(c) = &cfg.selinux_context_keyring {
        out.push(format!("lxc.selinux.context.keyring = {c}: {se}"));
    }
    out
}

/// lxc-attach: the label of the attached command, `context` (-c) or
/// init's (LXC's get_attach_context).
pub fn prepare_attach(init_pid: i32, context: Option<&str>) -> Result<Plan> {
    let driver = Driver::detect();
    let label = match context {
        Some(c) => Some(c.to_string()),
        None => match &driver {
            Driver::AppArmor(_) => apparmor::label_of(init_pid),
            Driver::SELinux => selinux::label_of(init_pid),
            Driver::Nop => None,
        },
    };
    let label = match (&driver, label) {
        (Driver::Nop, Some(l)) => {
            log::warn!(
                "security context {l}: no LSM is enabled on this host; not applied (as LXC)"
            );
            None
        }
        (Driver::Nop, None) => None,
        (_, None) => {
            log::warn!("No security context received");
            None
        }
        (Driver::AppArmor(_), Some(l)) => Some(Label::AppArmor(l)),
        (Driver::SELinux, Some(l)) => Some(Label::SELinux(l)),
    };
    Ok(Plan {
        label,
        keyring: None,
        generated: None,
    })
}

/// Write `data` to a /proc attribute file of the calling thread in one
/// write (the LSM parses each write as a whole).
fn write_attr(rel: &str, data: &str) -> Result<()> {
    use std::io::Write;
    let path = format!("/proc/thread-self/attr/{rel}");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {path}"))?;
    f.write_all(data.as_bytes())
        .with_context(|| format!("writing \"{data}\" to {path}"))
}

/// A /proc/PID/attr file's label: up to the first blank or newline
/// (AppArmor appends " (enforce)").
fn read_attr(pid: i32, rel: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/attr/{rel}")).ok()?;
    let l = s.split(['\n', ' ', '\t']).next()?;
    (!l.is_empty()).then(|| l.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nop_warns_for_what_asks_for_confinement() {
        let mut cfg = Config::default();
        assert!(nop_warnings(&cfg).is_empty());
        cfg.apparmor_profile = Some("unconfined".into());
        assert!(nop_warnings(&cfg).is_empty());
        cfg.apparmor_profile = Some("lxc-container-default-with-nesting".into());
        cfg.apparmor_allow_nesting = true;
        cfg.apparmor_raw = vec!["mount,".into()];
        cfg.selinux_context = Some("system_u:system_r:lxc_t:s0:c22".into());
        cfg.selinux_context_keyring = Some("system_u:object_r:lxc_t:s0".into());
        let w = nop_warnings(&cfg);
        assert_eq!(w.len(), 5, "{w:?}");
        assert!(w[0].starts_with(
            "lxc.apparmor.profile = lxc-container-default-with-nesting: AppArmor is not enabled"
        ));
        assert!(w[3].contains("lxc.selinux.context = system_u:system_r:lxc_t:s0:c22"));
    }

    #[test]
    fn this_host_has_the_nop_driver_or_a_real_one() {
        // Detection must not fail; on the project's machines it is nop.
        let d = Driver::detect();
        assert!(matches!(d.name(), "nop" | "AppArmor" | "SELinux"));
    }
}
