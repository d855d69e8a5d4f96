//! The launch pipeline: lxc-start / lxc-execute become the container's
//! monitor, clone the child into new namespaces, step through setup in
//! lock-step with it, serve the command socket while init runs, and clean
//! up everything when it ends.
//!
//! parent: lock → command socket → STARTING → pre-start hooks → cgroups →
//! clone → id maps → attach to cgroups → host network → start-host hooks →
//! go → (child: network, hostname, mounts, rootfs, pivot_root, sysctl, proc,
//! limits, start hooks, caps, ids, fds) → exec → RUNNING → serve → STOPPING →
//! undo → STOPPED. A failure anywhere: ABORTING → undo → STOPPED, and the
//! error names the step.

mod caps;
mod cgroups;
mod child;
mod console;
pub mod daemon;
pub mod hooks;
mod limits;
pub mod lock;
mod namespaces;
mod selfexe;
mod serve;
mod sync;
pub mod words;

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

pub use caps::{cap_number, CAP_NAMES};

use crate::container::Container;
use crate::monitor::events::Publisher;
use crate::monitor::State;
use crate::sys::process::{self, Cloned, ExitStatus};

/// What the applet asks for.
#[derive(Debug)]
pub struct StartSpec {
    pub container: Container,
    /// The command after `--` (may be empty).
    pub command: Vec<String>,
    /// lxc-execute: lxcbox's init is PID 1 and runs the command as PID 2.
    pub execute: bool,
    /// --share-net/ipc/uts/pid: (namespace, NAME|PID)
    pub share: Vec<(String, String)>,
    /// lxc-execute -u / -g
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Fork a monitor into the background (lxc-start's default, -d).
    pub daemon: bool,
    /// lxc-start -F: the caller's terminal becomes the container's console.
    pub foreground: bool,
    pub pidfile: Option<PathBuf>,
}

/// Raised when the container already runs: LXC reports it and exits 0.
#[derive(Debug)]
pub struct AlreadyRunning;

impl std::fmt::Display for AlreadyRunning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Container is already running")
    }
}

impl std::error::Error for AlreadyRunning {}

/// What the child executes, prepared in the parent.
pub struct LaunchPlan {
    pub container: Container,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    /// lxc-execute: a sealed memfd copy of lxcbox, exec'd as the container's init.
    pub self_exe: Option<OwnedFd>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub hook_env: hooks::HookEnv,
    /// (controller mount dir, container cgroup dir) for lxc.mount.auto cgroup.
    pub cgroup_paths: Vec<(String, PathBuf)>,
    /// The console and ttys (system containers, lxc-start).
    pub console: Option<console::ConsolePlan>,
}

/// Start a container. Returns the exit status the applet should exit with
/// (init's status; 0 for a daemonised start that reached RUNNING).
pub fn start(spec: StartSpec) -> Result<i32> {
    let name = spec.container.name.clone();
    let lxcpath = spec.container.lxcpath.clone();
    let Some(lock) = lock::try_lock(&lxcpath, &name)? else {
        if crate::monitor::client::state(&lxcpath, &name)? == State::Running {
            return Err(AlreadyRunning.into());
        }
        bail!("the container is already being started or stopped by another process");
    };
    let listener = bind_command_socket(&lxcpath, &name)?;
    if spec.daemon {
        match daemon::fork()? {
            daemon::Forked::Parent(r) => {
                drop(listener);
                drop(lock);
                r?;
                return Ok(0);
            }
            daemon::Forked::Child(mut n) => {
                let r = monitor(spec, listener, lock, Some(&mut n));
                if let Err(e) = &r {
                    n.fail(&format!("{e:#}"));
                    log::error!("{e:#}");
                }
                process::exit_now(r.map(|s| s.code()).unwrap_or(1));
            }
        }
    }
    monitor(spec, listener, lock, None).map(ExitStatus::code)
}

fn bind_command_socket(lxcpath: &str, name: &str) -> Result<UnixListener> {
    let addr = crate::monitor::client::command_addr(lxcpath, name)?;
    match UnixListener::bind_addr(&addr) {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(AlreadyRunning.into()),
        Err(e) => Err(e).context("binding the command socket"),
    }
}

/// The monitor: run the container (again on reboot) until it stops.
fn monitor(
    spec: StartSpec,
    listener: UnixListener,
    _lock: lock::StartLock,
    mut notify: Option<&mut daemon::Notifier>,
) -> Result<ExitStatus> {
    let c = &spec.container;
    let publisher = Publisher::new(&c.lxcpath, &c.name);
    let _ = process::set_proctitle(&format!("[lxc monitor] {} {}", c.lxcpath, c.name));
    if let Some(p) = &spec.pidfile {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing pidfile {}", p.display()))?;
    }
    let old_mask = process::block_all_signals().context("blocking signals")?;
    // Window-size changes of a -F terminal are handled by the console's
    // own SIGWINCH handler, not the monitor's signalfd.
    process::unblock_signal(libc::SIGWINCH).context("unblocking SIGWINCH")?;
    let layout = crate::cgroup::Layout::discover().context("discovering the cgroup layout")?;
    // A daemonised monitor lives as long as its container: it gets its own
    // cgroup (lxc.monitor.NAME) as with LXC. A foreground lxc-execute /
    // lxc-start -F stays in its caller's cgroup like any command: moving a
    // process between v1 cgroups costs an RCU grace period (the
    // cgroup_threadgroup_rwsem write side), several milliseconds, twice.
    // Payload cgroups are created from `layout`, i.e. under the cgroup the
    // monitor started in, even after it moved into its own.
    let monitor_cg = if spec.daemon {
        Some(cgroups::enter_monitor_cgroup(&layout, &c.name, &c.config)?)
    } else {
        None
    };
    let result = loop {
        publisher.state(State::Starting);
        let r = launch_once(&spec, &layout, &listener, &publisher, notify.as_deref_mut());
        match r {
            Ok((_, true)) => {
                publisher.state(State::Stopped);
                continue;
            }
            Ok((status, false)) => break Ok(status),
            Err(e) => break Err(e),
        }
    };
    if let Some(p) = &spec.pidfile {
        let _ = std::fs::remove_file(p);
    }
    // Everything is undone before STOPPED is announced: whoever waits for
    // it (lxc-stop, lxc-wait) finds nothing of the container left.
    if let Some((mon, original)) = monitor_cg {
        cgroups::leave_monitor_cgroup(mon, original);
    }
    publisher.state(State::Stopped);
    // The caller's signal mask is not restored: the applet exits right
    // after the monitor returns.
    let _ = old_mask;
    result
}

/// One run of the container: set up, run, tear down. Returns init's exit
/// status and whether a reboot was requested.
fn launch_once(
    spec: &StartSpec,
    layout: &crate::cgroup::Layout,
    listener: &UnixListener,
    publisher: &Publisher,
    notify: Option<&mut daemon::Notifier>,
) -> Result<(ExitStatus, bool)> {
    let c = &spec.container;
    let cfg = &c.config;
    let mut undo = Undo::default();
    let mut hub = None;
    let prepared = (|| -> Result<Prepared> {
        let mut plan = make_plan(spec)?;
        hooks::run_hooks(cfg, "pre-start", &plan.hook_env, &[])?;
        crate::mount::prepare_shmounts(cfg)?;
        let shared = namespaces::open_shared(cfg, &c.lxcpath, &spec.share)?;
        let flags = namespaces::clone_flags(cfg, &shared)?;
        // System containers get a console and ttys; lxc-execute's
        // application keeps the caller's stdio, as with LXC.
        if !spec.execute {
            hub = Some(console::hub(cfg, spec.foreground)?);
        }
        plan.console = hub.as_ref().map(|h| console::plan(h, cfg));
        let cgroups = cgroups::create(layout, &c.name, cfg)?;
        plan.cgroup_paths = cgroups::mount_paths(layout, &cgroups);
        undo.cgroups = Some(cgroups);
        Ok((plan, shared, flags))
    })();
    let (plan, shared, flags) = match prepared {
        Ok(p) => p,
        Err(e) => {
            log::error!("{e:#}");
            publisher.state(State::Aborting);
            publisher.state(State::Stopping);
            undo.run();
            return Err(e);
        }
    };
    log::debug!("cgroups of {}: {:?}", c.name, plan.cgroup_paths);
    let r = (|| -> Result<serve::Running> {
        let (sync_parent, sync_child) = sync::pair()?;
        let pid_share = shared.iter().find(|(n, _)| n == "pid");
        let own_pidns = match pid_share {
            Some((_, fd)) => {
                let own = rustix::fs::open(
                    "/proc/self/ns/pid",
                    rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .context("opening own pid namespace")?;
                process::setns(fd.as_fd(), libc::CLONE_NEWPID)
                    .context("joining the shared pid namespace")?;
                Some(own)
            }
            None => None,
        };
        let cloned = process::clone3(flags as u64).context("cloning the container's init");
        if let Some(own) = &own_pidns {
            let _ = process::setns(own.as_fd(), libc::CLONE_NEWPID);
        }
        let (pid, pidfd) = match cloned? {
            Cloned::Child => {
                drop(sync_parent);
                child::main(child::ChildArgs {
                    plan: &plan,
                    sync: sync_child.as_fd(),
                    shared: &shared,
                    clone_flags: flags,
                })
            }
            Cloned::Parent { pid, pidfd } => (pid, pidfd),
        };
        drop(sync_child);
        log::info!("init of {} is pid {pid} (namespaces {flags:#x})", c.name);
        undo.init = Some((pid, pidfd));
        if let Some(cg) = &undo.cgroups {
            cg.attach(pid).context("attaching init to its cgroups")?;
        }
        if flags & libc::CLONE_NEWUSER != 0 {
            write_idmaps(pid, cfg)?;
        }
        let mut env = plan.hook_env.clone();
        env.extra_env.push(("LXC_PID".into(), pid.to_string()));
        hooks::run_hooks(cfg, "start-host", &env, &[])?;
        let net_json = if flags & libc::CLONE_NEWNET != 0 && !cfg.net.is_empty() {
            let host = crate::net::setup_host(&cfg.net, &c.name, pid)?;
            let j = serde_json::to_string(&host).context("encoding the host network state")?;
            undo.net = Some(host);
            j
        } else {
            String::new()
        };
        sync::send_msg(sync_parent.as_fd(), b'G', &net_json)?;
        let mut ready = false;
        loop {
            match sync::recv_msg(&sync_parent)? {
                Some((b'X', _)) => ready = true,
                Some((b'E', msg)) => bail!("{msg}"),
                Some(_) => bail!("unexpected message from the container during start"),
                None if ready => break,
                None => bail!("the container's init died during setup"),
            }
        }
        let Some((pid, pidfd)) = undo.init.take() else {
            bail!("internal error: init lost");
        };
        Ok(serve::Running { pid, pidfd })
    })();

    let running = match r {
        Ok(r) => r,
        Err(e) => {
            log::error!("{e:#}");
            publisher.state(State::Aborting);
            publisher.state(State::Stopping);
            undo.run();
            return Err(e);
        }
    };
    publisher.state(State::Running);
    log::info!("{} is RUNNING", c.name);
    if let Some(n) = notify {
        n.ok();
        // A daemonised monitor idles for the container's whole life: give
        // back the code pages only the start needed.
        let _ = process::trim_text_rss();
    }
    let out = serve::serve(
        spec,
        listener,
        publisher,
        running,
        undo.net.as_ref(),
        undo.cgroups.as_ref(),
        hub.as_mut(),
    );
    if let Ok((st, reboot)) = &out {
        log::info!(
            "init of {} ended: {st:?}{}",
            c.name,
            if *reboot { ", rebooting" } else { "" }
        );
        publisher.exit_status(*st);
    }
    publisher.state(State::Stopping);
    drop(hub); // restores a -F terminal
    hooks::run_hooks(cfg, "stop", &plan.hook_env, &[]).unwrap_or_else(|e| log::error!("{e:#}"));
    // Init is gone: undo what the start made (network devices, ...).
    undo.run();
    let out = out?;
    hooks::run_hooks(cfg, "post-stop", &plan.hook_env, &[])
        .unwrap_or_else(|e| log::error!("{e:#}"));
    Ok(out)
}

/// The plan, the namespaces to join, and the clone flags.
type Prepared = (LaunchPlan, Vec<(String, OwnedFd)>, i32);

/// What a failed start has to take back.
#[derive(Default)]
struct Undo {
    init: Option<(i32, OwnedFd)>,
    net: Option<crate::net::HostNet>,
    cgroups: Option<crate::cgroup::CgroupSet>,
}

impl Undo {
    /// Take everything back, in reverse order of creation.
    fn run(&mut self) {
        if let Some((pid, pidfd)) = self.init.take() {
            let _ = process::pidfd_kill(pidfd.as_fd(), libc::SIGKILL);
            let _ = process::waitpid(pid, false);
        }
        if let Some(cg) = self.cgroups.take() {
            // Whatever init left behind (a shared PID namespace does not
            // die with init) goes before the cgroups can be removed.
            let _ = cg.kill_all(rustix::process::Signal::KILL);
            if let Err(e) = cg.remove() {
                log::error!("removing the container's cgroups: {e:#}");
            }
        }
        if let Some(n) = self.net.take() {
            if let Err(e) = n.teardown() {
                log::error!("removing the container's network devices: {e:#}");
            }
        }
    }
}

fn make_plan(spec: &StartSpec) -> Result<LaunchPlan> {
    let c = &spec.container;
    let cfg = &c.config;
    let mut cmd: Vec<String> = spec.command.clone();
    if cmd.is_empty() {
        let configured = if spec.execute {
            &cfg.execute_cmd
        } else {
            &cfg.init_cmd
        };
        if let Some(s) = configured {
            cmd = words::split(s)?;
        }
    }
    if cmd.is_empty() {
        if spec.execute {
            bail!("no command to execute (give one after -- or set lxc.execute.cmd)");
        }
        if c.config_path.is_none() {
            // LXC refuses this too: with neither a config nor a command, the
            // "container" would be the host's own /sbin/init on the host's
            // root filesystem.
            bail!("No container config specified (and no command given)");
        }
        cmd = vec!["/sbin/init".into()];
    }
    let (argv, self_exe) = if spec.execute {
        let mut a = vec![
            "lxc-init".to_string(),
            "-n".into(),
            c.name.clone(),
            "--".into(),
        ];
        a.extend(cmd);
        (a, Some(selfexe::sealed_copy()?))
    } else {
        (cmd, None)
    };
    let argv = argv
        .into_iter()
        .map(|a| CString::new(a).context("NUL byte in the command"))
        .collect::<Result<Vec<_>>>()?;
    let rootfs = c
        .rootfs_path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    Ok(LaunchPlan {
        container: c.clone(),
        argv,
        env: child::build_env(cfg)?,
        self_exe,
        uid: spec.uid,
        gid: spec.gid,
        hook_env: hooks::HookEnv {
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
            version: cfg.hook_version,
            extra_env: Vec::new(),
        },
        cgroup_paths: Vec::new(),
        console: None,
    })
}

fn write_idmaps(pid: i32, cfg: &crate::config::Config) -> Result<()> {
    for (kind, file) in [('u', "uid_map"), ('g', "gid_map")] {
        let lines: String = cfg
            .idmap
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| format!("{} {} {}\n", m.ns_id, m.host_id, m.range))
            .collect();
        if lines.is_empty() {
            continue;
        }
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, lines).with_context(|| format!("lxc.idmap: writing {path}"))?;
    }
    Ok(())
}

/// Network set-up inside the new network namespace (child side): what the
/// monitor made on the host side arrives as JSON with the go message.
fn net_child(plan: &LaunchPlan, host_json: &str) -> Result<()> {
    if host_json.is_empty() {
        return crate::net::loopback_up();
    }
    let host: crate::net::HostNet =
        serde_json::from_str(host_json).context("decoding the host network state")?;
    crate::net::setup_container(&plan.container.config.net, &host)
}

/// Mounts inside the new mount namespace (child side): the mount layer
/// up to pivot_root, with the pre-mount, mount and autodev hooks at LXC's
/// points.
fn mounts_child(plan: &LaunchPlan, flags: i32) -> Result<()> {
    if flags & libc::CLONE_NEWNS == 0 {
        return Ok(());
    }
    let c = &plan.container;
    let cfg = &c.config;
    hooks::run_hooks(cfg, "pre-mount", &plan.hook_env, &[])?;
    let ctx = crate::mount::MountCtx {
        cfg,
        name: &c.name,
        lxcpath: std::path::Path::new(&c.lxcpath),
        container_dir: &c.dir,
        cgroup_paths: plan.cgroup_paths.clone(),
    };
    let root = crate::mount::setup_mounts(&ctx)?;
    hooks::run_hooks(cfg, "mount", &plan.hook_env, &[])?;
    if let Some(root) = root {
        if let Some(cp) = &plan.console {
            console::bind_nodes(cp, &root)?;
        }
        if cfg.autodev != Some(false) {
            hooks::run_hooks(cfg, "autodev", &plan.hook_env, &[])?;
        }
        crate::mount::pivot(root)?;
    }
    Ok(())
}
