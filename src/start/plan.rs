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
use crate::namespace::Namespace;
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
    /// The hooks run by the monitor (pre-start, start-host, stop, post-stop).
    pub hook_env: hooks::HookEnv,
    /// The hooks run in the container's child (pre-mount, mount, autodev,
    /// start): with lxc.environment and lxc.environment.hooks, as LXC sets
    /// them in its child before these run.
    pub child_hook_env: hooks::HookEnv,
    /// lxc.arch: the personality for init (PER_LINUX32 for 32-bit ones).
    pub personality: Option<libc::c_ulong>,
    /// lxc.sched.core: a core scheduling domain for the container.
    pub sched_core: bool,
    /// Give the stop hook the container's namespaces (LXC_*_NS / ns:path).
    pub preserve_namespaces: bool,
    /// The child sets up its mounts right after the clone, while the
    /// monitor still makes and enters the cgroups: only when nothing in
    /// them waits for the monitor (no user namespace to map, no
    /// pre-mount/mount/autodev hook, no cgroup mounted from the host).
    pub early_mounts: bool,
    /// The child says when it is in its cgroups: start-host hooks wait
    /// for it.
    pub announce_joined: bool,
    /// A system container gets a console and ttys; lxc-execute's
    /// application a console (a pty in place of the caller's terminal),
    /// unless lxc.console.path = none, as with LXC.
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

/// The confinement step: what the child applies last, right before exec
/// (device rules, bounding set, keyring, LSM label, no_new_privs,
/// seccomp): decided in the monitor before the clone, so a bad capability
/// name or seccomp profile fails before anything exists; applied by
/// [`super::child`]'s `confine` step. See src/confine.
pub use crate::confine::Confinement;

impl Plan {
    pub fn build(spec: &StartSpec, layout: &crate::cgroup::Layout) -> Result<Plan> {
        let c = &spec.container;
        let cfg = &c.config;
        let has_config = c.config_path.is_some() || *cfg != Config::default();
        refuse_unsupported(cfg)?;
        let namespaces = namespaces::decide(cfg, has_config, &spec.share)?;
        // An ordinary user may create the other namespaces only inside a
        // user namespace of their own (the kernel answers EPERM, deep in
        // the start); say so first, with LXC's suggestion.
        if !rustix::process::geteuid().is_root()
            && !namespaces.owns(Namespace::User)
            && !namespaces.is_shared(Namespace::User)
        {
            bail!(
                "an ordinary user's container needs lxc.idmap (a user namespace to run in). {}",
                crate::userns::suggest_default_idmap()
            );
        }
        let ptrace_scope = namespaces.is_shared(Namespace::Pid);
        if cfg.sched_core && !namespaces.owns(Namespace::Pid) {
            bail!("lxc.sched.core: core scheduling needs a new PID namespace");
        }
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
        let pure_v2 = layout.mode() == crate::cgroup::Mode::Unified;
        let early_mounts = namespaces.owns(Namespace::Mnt)
            && !namespaces.owns(Namespace::User)
            && ["pre-mount", "mount", "autodev"]
                .iter()
                .all(|k| cfg.hooks_of(k).next().is_none())
            && !crate::mount::mounts_cgroups(cfg, namespaces.owns(Namespace::Cgroup), pure_v2);
        Ok(Plan {
            announce_joined: cfg.hooks_of("start-host").next().is_some(),
            early_mounts,
            container: c.clone(),
            execute: spec.execute,
            exec,
            argv,
            env: build_env(cfg)?,
            namespaces,
            ids: Ids { uid, gid, groups },
            cwd: cfg.init_cwd.clone().unwrap_or_else(|| "/".into()),
            confine: Confinement {
                ptrace_scope,
                ..Confinement::for_start(cfg, &c.name, &c.lxcpath)?
            },
            pdeath_signal: cfg.monitor_signal_pdeath.unwrap_or(libc::SIGKILL),
            hook_env: hook_env(c),
            child_hook_env: child_hook_env(c)?,
            personality: cfg
                .arch
                .as_deref()
                .and_then(crate::config::arch_is_32bit)
                .map(|is32| if is32 { PER_LINUX32 } else { PER_LINUX }),
            sched_core: cfg.sched_core,
            preserve_namespaces: cfg.hooks_of("stop").next().is_some(),
            console: !spec.execute || cfg.console.path.as_deref() != Some("none"),
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

/// personality(2) values (linux/personality.h).
const PER_LINUX: libc::c_ulong = 0x0000;
const PER_LINUX32: libc::c_ulong = 0x0008;

/// Keys the table marks as not enforced: refused ones stop the start,
/// ignored ones are logged (config/effects.rs).
fn refuse_unsupported(cfg: &Config) -> Result<()> {
    let mut refused = Vec::new();
    for f in crate::config::effects::findings(cfg) {
        if f.refuse {
            refused.push(f.to_string());
        } else {
            log::warn!("{f}");
        }
    }
    if !refused.is_empty() {
        bail!("{}", refused.join("; "));
    }
    Ok(())
}

fn child_hook_env(c: &Container) -> Result<hooks::HookEnv> {
    let mut env = hook_env(c);
    for e in c
        .config
        .environment
        .iter()
        .chain(&c.config.environment_hooks)
    {
        if let Some(kv) = env_entry(e) {
            env.extra_env.push(kv);
        }
    }
    Ok(env)
}

/// `KEY=VALUE`, or `KEY` for the caller's value (skipped when unset).
fn env_entry(e: &str) -> Option<(String, String)> {
    match e.split_once('=') {
        Some((k, v)) => Some((k.to_string(), v.to_string())),
        None => std::env::var(e).ok().map(|v| (e.to_string(), v)),
    }
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
/// container_ttys, lxc.environment and lxc.environment.runtime.
pub fn build_env(cfg: &Config) -> Result<Vec<CString>> {
    let mut env = crate::environ::Environ::new();
    env.set("container", "lxc");
    if cfg.tty_max > 0 {
        let ttys: Vec<String> = (1..=cfg.tty_max)
            .map(|i| match &cfg.tty_dir {
                Some(d) => format!("{d}/tty{i}"),
                None => format!("tty{i}"),
            })
            .collect();
        env.set("container_ttys", &ttys.join(" "));
    }
    for e in cfg.environment.iter().chain(&cfg.environment_runtime) {
        if let Some((key, value)) = env_entry(e) {
            env.set(&key, &value);
        }
    }
    env.into_strings()
        .into_iter()
        .map(|e| {
            CString::new(e.clone()).with_context(|| format!("lxc.environment: NUL byte in \"{e}\""))
        })
        .collect()
}
