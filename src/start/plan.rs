//! The launch plan: everything a start will do, decided from the spec and
//! the config before anything is created, and never changed afterwards.
//! The monitor builds it once per run (again on reboot); the child reads
//! it after the clone. Live resources (cgroups, ptys, init, network) are
//! not here: they belong to [`super::live::Live`].

use std::ffi::CString;

use anyhow::{bail, Context, Result};

use super::namespaces::{self, NsPlan};
use super::{hooks, words, StartSpec};
use crate::config::Config;
use crate::container::Container;
use crate::sealed::SealedSelf;

/// What a start does.
pub struct Plan {
    pub container: Container,
    /// lxc-execute: lxcbox's init is PID 1 and runs the command as PID 2.
    pub execute: bool,
    /// What init executes.
    pub exec: Exec,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    /// THE namespace decision.
    pub namespaces: NsPlan,
    /// Init's credentials and working directory.
    pub ids: Ids,
    pub cwd: String,
    /// What the child applies last before exec (see [`Confinement`]).
    pub confine: Confinement,
    /// Init's parent-death signal (lxc.monitor.signal.pdeath).
    pub pdeath_signal: i32,
    pub hook_env: hooks::HookEnv,
    /// Give the stop hook the container's namespaces (LXC_*_NS / ns:path).
    pub preserve_namespaces: bool,
    /// A system container gets a console and ttys; lxc-execute's
    /// application keeps the caller's stdio, as with LXC.
    pub console: bool,
}

/// The program init runs.
pub enum Exec {
    /// argv[0], looked up in the container's PATH.
    Path,
    /// lxcbox itself, sealed (lxc-execute's `lxc-init -- CMD`).
    Sealed(SealedSelf),
}

/// uid, gid and supplementary groups of init (None: unchanged).
#[derive(Debug, Clone, Default)]
pub struct Ids {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub groups: Option<Vec<u32>>,
}

/// The confinement step: what the child applies last, right before exec,
/// after every mount, hook and /proc write. Today: the capability bounding
/// and process sets and no_new_privs. The LSM label and the seccomp
/// filter belong here too, prepared (profile parsed, BPF compiled) in the
/// monitor before the clone, applied by [`super::child`]'s `confine` step.
#[derive(Debug, Clone, Default)]
pub struct Confinement {
    pub cap_drop: Vec<String>,
    pub cap_keep: Vec<String>,
    pub no_new_privs: bool,
}

impl Plan {
    pub fn build(spec: &StartSpec) -> Result<Plan> {
        let c = &spec.container;
        let cfg = &c.config;
        let has_config = c.config_path.is_some() || *cfg != Config::default();
        let namespaces = namespaces::decide(cfg, has_config, &spec.share)?;
        let cmd = command(spec)?;
        let (exec, argv) = if spec.execute {
            let mut a = vec![
                "lxc-init".to_string(),
                "-n".into(),
                c.name.clone(),
                "--".into(),
            ];
            a.extend(cmd);
            (
                Exec::Sealed(SealedSelf::open().context("sealing lxcbox for lxc-init")?),
                a,
            )
        } else {
            (Exec::Path, cmd)
        };
        let argv = argv
            .into_iter()
            .map(|a| CString::new(a).context("NUL byte in the command"))
            .collect::<Result<Vec<_>>>()?;
        let uid = spec.uid.or(cfg.init_uid);
        let gid = spec.gid.or(cfg.init_gid);
        let groups = if !cfg.init_groups.is_empty() {
            Some(cfg.init_groups.clone())
        } else if uid.is_some() || gid.is_some() {
            Some(Vec::new())
        } else {
            None
        };
        Ok(Plan {
            container: c.clone(),
            execute: spec.execute,
            exec,
            argv,
            env: build_env(cfg)?,
            namespaces,
            ids: Ids { uid, gid, groups },
            cwd: cfg.init_cwd.clone().unwrap_or_else(|| "/".into()),
            confine: Confinement {
                cap_drop: cfg.cap_drop.clone(),
                cap_keep: cfg.cap_keep.clone(),
                no_new_privs: cfg.no_new_privs,
            },
            pdeath_signal: cfg.monitor_signal_pdeath.unwrap_or(libc::SIGKILL),
            hook_env: hook_env(c),
            preserve_namespaces: cfg.hooks_of("stop").next().is_some(),
            console: !spec.execute,
        })
    }

    pub fn config(&self) -> &Config {
        &self.container.config
    }

    /// What init is, for messages.
    pub fn program(&self) -> String {
        self.argv
            .first()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The command: after `--`, else lxc.execute.cmd / lxc.init.cmd, else
/// /sbin/init.
fn command(spec: &StartSpec) -> Result<Vec<String>> {
    let c = &spec.container;
    let cfg = &c.config;
    if !spec.command.is_empty() {
        return Ok(spec.command.clone());
    }
    let configured = if spec.execute {
        &cfg.execute_cmd
    } else {
        &cfg.init_cmd
    };
    if let Some(s) = configured {
        let cmd = words::split(s)?;
        if !cmd.is_empty() {
            return Ok(cmd);
        }
    }
    if spec.execute {
        bail!("no command to execute (give one after -- or set lxc.execute.cmd)");
    }
    if c.config_path.is_none() {
        // LXC refuses this too: with neither a config nor a command, the
        // "container" would be the host's own /sbin/init on the host's
        // root filesystem.
        bail!("No container config specified (and no command given)");
    }
    Ok(vec!["/sbin/init".into()])
}

fn hook_env(c: &Container) -> hooks::HookEnv {
    let rootfs = c
        .rootfs_path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    hooks::HookEnv {
        name: c.name.clone(),
        config_file: c
            .config_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        rootfs_mount: c
            .config
            .rootfs
            .mount
            .clone()
            .unwrap_or_else(|| rootfs.clone()),
        rootfs_path: rootfs,
        version: c.config.hook_version,
        extra_env: Vec::new(),
    }
}

/// The container's environment: LXC clears it, then sets container=lxc,
/// container_ttys, and lxc.environment.
pub fn build_env(cfg: &Config) -> Result<Vec<CString>> {
    let mut env: Vec<String> = vec!["container=lxc".into()];
    if cfg.tty_max > 0 {
        let ttys: Vec<String> = (1..=cfg.tty_max)
            .map(|i| match &cfg.tty_dir {
                Some(d) => format!("{d}/tty{i}"),
                None => format!("tty{i}"),
            })
            .collect();
        env.push(format!("container_ttys={}", ttys.join(" ")));
    }
    for e in &cfg.environment {
        let entry = if e.contains('=') {
            e.clone()
        } else {
            match std::env::var(e) {
                Ok(v) => format!("{e}={v}"),
                Err(_) => continue,
            }
        };
        let key = entry.split('=').next().unwrap_or_default().to_string();
        env.retain(|x| x.split('=').next() != Some(&key));
        env.push(entry);
    }
    env.into_iter()
        .map(|e| {
            CString::new(e.clone()).with_context(|| format!("lxc.environment: NUL byte in \"{e}\""))
        })
        .collect()
}
