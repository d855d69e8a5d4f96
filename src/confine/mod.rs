//! The confinement step: what every process that runs inside a container
//! (init, lxc-execute's application, commands of lxc-attach) gets right
//! before exec, in LXC's order:
//!
//! 0. (the cgroup device rules, applied by the monitor when the child's
//!    setup is done: src/cgroup/devices.rs)
//! 1. capabilities: the bounding set (lxc.cap.drop / lxc.cap.keep, or
//!    init's bounding set for lxc-attach);
//! 2. the session keyring (lxc.keyring.session) and its SELinux label;
//! 3. the LSM label (lxc.apparmor.*, lxc.selinux.context, -c);
//! 4. no_new_privs (lxc.no_new_privs), after the label: AppArmor refuses
//!    profile changes under no_new_privs;
//! 5. a Landlock domain when the container joined another's PID
//!    namespace (see [`Confinement::ptrace_scope`]);
//! 6. the seccomp filter (lxc.seccomp.profile), last: it needs
//!    CAP_SYS_ADMIN when no_new_privs is off, so only the uid switch and
//!    the exec itself come after it.
//!
//! Everything that can fail on user input (capability names, the profile,
//! the LSM decision) is decided by [`Confinement::for_start`] /
//! [`Confinement::for_attach`] in the parent, before anything is created;
//! [`Confinement::apply`] in the child only makes system calls.

pub mod caps;

use anyhow::{bail, Context, Result};

use crate::config::Config;
pub use caps::Bounding;

/// Everything the child applies before exec.
#[derive(Debug)]
pub struct Confinement {
    /// The config has cgroup device rules: the monitor applies them when
    /// the child's setup is done (sync message `D`), before this step.
    pub device_rules: bool,
    pub bounding: Bounding,
    /// Join a new session keyring (lxc.keyring.session, default on).
    pub session_keyring: bool,
    pub lsm: crate::lsm::Plan,
    pub no_new_privs: bool,
    /// The container shares another container's (or process's) PID
    /// namespace: put it into a Landlock domain of its own, so nothing in
    /// it can reach the other processes through /proc/PID/root and the
    /// like (their root may be the host's: a container without a rootfs,
    /// a command attached without the mount namespace). See
    /// docs/security.md.
    pub ptrace_scope: bool,
    pub seccomp: Option<crate::seccomp::Program>,
}

impl Default for Confinement {
    /// No confinement at all (the host's own view).
    fn default() -> Self {
        Confinement {
            device_rules: false,
            bounding: Bounding::ALL,
            session_keyring: false,
            lsm: crate::lsm::Plan::default(),
            no_new_privs: false,
            ptrace_scope: false,
            seccomp: None,
        }
    }
}

impl Confinement {
    /// For a container's init (lxc-start, lxc-execute).
    pub fn for_start(cfg: &Config, name: &str, lxcpath: &str) -> Result<Confinement> {
        let bounding = Bounding::from_config(&cfg.cap_drop, &cfg.cap_keep)?;
        let seccomp = seccomp_for(cfg)?;
        let lsm =
            crate::lsm::prepare_start(cfg, name, lxcpath).context("Failed to initialize LSM")?;
        Ok(Confinement {
            device_rules: crate::cgroup::CgroupSet::has_device_rules(cfg),
            bounding,
            session_keyring: cfg.keyring_session != Some(false),
            lsm,
            no_new_privs: cfg.no_new_privs,
            ptrace_scope: false,
            seccomp,
        })
    }

    /// For a command run by lxc-attach in a container whose init is
    /// `init_pid`. `cfg` holds the running container's settings of
    /// lxc.seccomp.*, lxc.no_new_privs; the bounding set is init's.
    pub fn for_attach(
        cfg: &Config,
        init_pid: i32,
        elevated: crate::attach::Elevated,
        context: Option<&str>,
    ) -> Result<Confinement> {
        let bounding = if elevated.caps {
            Bounding::ALL
        } else {
            let path = format!("/proc/{init_pid}/status");
            let status =
                std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
            Bounding::from_status(&status).with_context(|| format!("no CapBnd line in {path}"))?
        };
        // -e LSM also lifts seccomp, as in LXC (fetch_seccomp).
        let (lsm, seccomp) = if elevated.lsm {
            (crate::lsm::Plan::default(), None)
        } else {
            (
                crate::lsm::prepare_attach(init_pid, context)?,
                seccomp_for(cfg)?,
            )
        };
        Ok(Confinement {
            device_rules: false,
            bounding,
            session_keyring: false,
            lsm,
            no_new_privs: cfg.no_new_privs,
            ptrace_scope: false,
            seccomp,
        })
    }

    /// Apply everything, in order. Runs in the child, as root of the
    /// container, right before the uid switch and exec.
    pub fn apply(&self) -> Result<()> {
        self.bounding.apply()?;
        if self.session_keyring {
            self.lsm.apply_keyring()?;
            match crate::sys::keyring::join_new_session_keyring() {
                Ok(()) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOSYS | libc::EACCES | libc::EPERM)
                    ) =>
                {
                    log::debug!("no new session keyring: {e}");
                }
                Err(e) => return Err(e).context("Failed to create kernel keyring"),
            }
        }
        self.lsm.apply()?;
        if self.no_new_privs {
            rustix::thread::set_no_new_privs(true).context(
                "Could not set PR_SET_NO_NEW_PRIVS to block execve() gainable privileges",
            )?;
        }
        if self.ptrace_scope {
            scope_ptrace()?;
        }
        if let Some(p) = &self.seccomp {
            p.load()?;
        }
        Ok(())
    }
}

/// A Landlock domain of our own ([`Confinement::ptrace_scope`]). Without
/// Landlock (kernel before 5.13, or not enabled at boot) or its scopes
/// (before 6.12), the container runs as LXC runs it and a warning says
/// what stays open.
fn scope_ptrace() -> Result<()> {
    use crate::sys::landlock;
    match landlock::abi_version() {
        Ok(v) if v >= 6 => landlock::restrict_self_scoped(landlock::SCOPE_ABSTRACT_UNIX_SOCKET)
            .context("entering a Landlock domain (shared PID namespace)"),
        r => {
            log::warn!(
                "no Landlock scopes here ({}): processes of the shared PID namespace stay \
                 reachable through /proc/PID/root, as with LXC",
                match r {
                    Ok(v) => format!("ABI {v}"),
                    Err(e) => e.to_string(),
                }
            );
            Ok(())
        }
    }
}

/// The compiled lxc.seccomp.profile, `None` when there is none or LXC
/// would not load it (already confined without allow_nesting).
fn seccomp_for(cfg: &Config) -> Result<Option<crate::seccomp::Program>> {
    if let Some(proxy) = &cfg.seccomp_notify_proxy {
        bail!(
            "lxc.seccomp.notify.proxy = {proxy}: seccomp notification proxies are not supported by lxcbox"
        );
    }
    if cfg.seccomp_notify_cookie.is_some() {
        log::warn!("lxc.seccomp.notify.cookie is only used with lxc.seccomp.notify.proxy: ignored (as LXC)");
    }
    let Some(path) = cfg.seccomp_profile.as_deref().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if !crate::seccomp::wanted(cfg.seccomp_allow_nesting) {
        return Ok(None);
    }
    crate::seccomp::compile_file(path).map(Some)
}
