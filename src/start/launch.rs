//! One run of a container, on the monitor's side, as its life cycle:
//! plan → prepare (hooks, shared namespaces, console, cgroups) → clone →
//! feed the child its go → RUNNING → serve until init exits → STOPPING →
//! undo. Any error before RUNNING: ABORTING → STOPPING → undo (by
//! [`Live`]), and the error names the step.

use std::os::fd::{AsFd, OwnedFd};

use anyhow::{bail, Context, Result};

use super::live::Live;
use super::plan::Plan;
use super::serve::{self, RunEnd};
use super::sync::{self, ToChild, ToParent};
use super::{cgroups, child, console, daemon, hooks, namespaces, StartSpec};
use crate::monitor::events::Publisher;
use crate::monitor::server::Server;
use crate::monitor::State;
use crate::namespace::Namespace;
use crate::sys::process;
use crate::sys::spawn::{spawn, Cloned, Spawn};

/// Everything one run needs from the monitor around it.
pub(super) struct RunCtx<'a> {
    pub spec: &'a StartSpec,
    pub layout: &'a crate::cgroup::Layout,
    pub listener: &'a std::os::unix::net::UnixListener,
    pub publisher: &'a Publisher,
}

/// One run of the container: set up, run, tear down.
pub(super) fn launch_once(
    ctx: &RunCtx<'_>,
    notify: Option<&mut daemon::Notifier>,
) -> Result<RunEnd> {
    let publisher = ctx.publisher;
    let mut server = Server::new(ctx.listener)?;
    let mut live = Live::default();
    let started = Plan::build(ctx.spec, ctx.layout).and_then(|plan| {
        start(ctx, &plan, &mut server, &mut live)?;
        Ok(plan)
    });
    let plan = match started {
        Ok(p) => p,
        Err(e) => {
            publisher.state(State::Aborting);
            publisher.state(State::Stopping);
            live.undo();
            return Err(e);
        }
    };
    let name = &plan.container.name;
    publisher.state(State::Running);
    log::info!("{name} is RUNNING");
    if let Some(n) = notify {
        n.ok();
        // A daemonised monitor idles for the container's whole life: give
        // back the code pages only the start needed.
        let _ = process::trim_exe_rss();
    }
    let Some(init) = live.init.take() else {
        bail!("internal error: init lost");
    };
    let out = serve::serve(
        &plan,
        &mut server,
        publisher,
        &mut live,
        &init,
        ctx.spec.daemon,
    );
    drop(server);
    match &out {
        Ok(end) => {
            log::info!("init of {name} ended: {end:?}");
            publisher.exit_status(end.status());
        }
        // Init may still run: the undo below kills it.
        Err(_) => live.init = Some(init),
    }
    publisher.state(State::Stopping);
    live.hub = None; // restores a -F terminal
    let target = match out {
        Ok(RunEnd::Reboot(_)) => "reboot",
        _ => "stop",
    };
    stop_hook(&plan, &live, target);
    // Init is gone: undo what the start made (network devices, cgroups).
    live.undo();
    let end = out?;
    hooks::run_hooks(plan.config(), "post-stop", &plan.hook_env, &[])
        .unwrap_or_else(|e| log::error!("{e:#}"));
    Ok(end)
}

/// Everything up to RUNNING. What it creates goes into `live`.
///
/// The payload cgroups are made (limits applied) before the clone; init
/// enters them without a thread-group migration (see
/// [`cgroups::Entry`]). The child sets up its mounts before the go when the
/// plan allows it (`Plan::early_mounts`), overlapping the monitor's
/// id maps, hooks and host network.
fn start(ctx: &RunCtx<'_>, plan: &Plan, server: &mut Server<'_>, live: &mut Live) -> Result<()> {
    let c = &plan.container;
    let cfg = &c.config;
    let ns = &plan.namespaces;
    hooks::run_hooks(cfg, "pre-start", &plan.hook_env, &[])?;
    crate::mount::prepare_shmounts(cfg)?;
    crate::mount::prepare_staging()?;
    live.shared = namespaces::open_shared(ns, &c.lxcpath)?;
    let peer = console::Peer::of(ctx.spec);
    if plan.console {
        live.hub = Some(console::hub(cfg, peer, plan.execute)?);
    }
    make_cgroups(ctx, live)?;
    let entry = match &live.cgroups {
        Some(cg) => Some(cgroups::entry(cg)?),
        None => None,
    };
    let (sync_parent, sync_child) = sync::pair()?;
    let console_plan = live.console_plan(cfg, peer == console::Peer::Terminal);
    let unified = entry.as_ref().and_then(|e| e.unified.as_ref());
    // spawn starts init in the unified cgroup on every kernel: with
    // CLONE_INTO_CGROUP (5.7), else through cgroup.procs before it runs.
    let born_in_cgroup = unified.is_some();
    let spawn = Spawn {
        namespaces: ns.at_clone().flags() as u64,
        // If the monitor dies, init dies too (lxc.monitor.signal.pdeath).
        pdeath: Some(plan.pdeath_signal),
        cgroup: unified.map(|f| f.as_fd()),
    };
    let init = match clone_init(&spawn, live.shared_fd(Namespace::Pid))? {
        Cloned::Child => {
            drop(sync_parent);
            child::main(child::ChildArgs {
                plan,
                sync: sync_child.as_fd(),
                shared: &live.shared,
                console: console_plan,
                v1_tasks: entry.as_ref().map(|e| &e.v1_tasks[..]).unwrap_or(&[]),
            })
        }
        Cloned::Parent(init) => init,
    };
    let pid = init.pid;
    drop(sync_child);
    drop(entry);
    log::info!(
        "init of {} is pid {pid} (new namespaces: {})",
        c.name,
        ns.new
    );
    live.init = Some(init);
    let mut idmapped = None;
    let go = (|| -> Result<ToChild> {
        if !born_in_cgroup {
            if let Some(d) = live.cgroups.as_ref().and_then(|cg| cg.unified()) {
                let procs = d.path.join("cgroup.procs");
                std::fs::write(&procs, pid.to_string())
                    .with_context(|| format!("attaching init to {}", procs.display()))?;
            }
        }
        if ns.owns(Namespace::User) {
            write_idmaps(pid, cfg)?;
        }
        idmapped = idmapped_rootfs(c, pid)?;
        if plan.preserve_namespaces {
            live.preserved = namespaces::preserve(Some(pid), ns.at_clone())?;
        }
        if plan.sched_core {
            core_scheduling(pid)?;
        }
        if plan.announce_joined {
            match sync::recv::<ToParent>(&sync_parent)? {
                Some((ToParent::Joined, _)) => {}
                Some((ToParent::Failed { error }, _)) => bail!("{error}"),
                _ => bail!("the container's init died before entering its cgroups"),
            }
        }
        let mut env = plan.hook_env.clone();
        env.extra_env.push(("LXC_PID".into(), pid.to_string()));
        hooks::run_hooks(cfg, "start-host", &env, &[])?;
        if ns.owns(Namespace::Net) && !cfg.net.is_empty() {
            live.net = Some(crate::net::setup_host_at(
                &cfg.net,
                Some(&c.lxcpath),
                &c.name,
                pid,
            )?);
        }
        Ok(ToChild::Go {
            net: live.net.clone(),
            cgroup_paths: live.cgroup_paths.clone(),
        })
    })()
    .and_then(|go| {
        let fds: Vec<_> = idmapped.iter().map(|f| f.as_fd()).collect();
        sync::send(sync_parent.as_fd(), &go, &fds)
    });
    drop(idmapped);
    if let Err(e) = go {
        // A child that failed early (its mounts) has said why, and that
        // is the error to report, not what its death did to our steps.
        return Err(child_failure(&sync_parent).unwrap_or(e));
    }
    let mut ready = false;
    loop {
        // While the child sets itself up, queries still get an answer
        // (STARTING) instead of waiting for the serve loop.
        serve::while_starting(server, sync_parent.as_fd(), pid, plan, ctx.publisher)?;
        match sync::recv::<ToParent>(&sync_parent)? {
            Some((ToParent::Exec { namespaces }, fds)) => {
                if namespaces.len() != fds.len() {
                    bail!(
                        "the container's child sent {} namespace fds for {namespaces:?}",
                        fds.len()
                    );
                }
                live.preserved.extend(namespaces.into_iter().zip(fds));
                ready = true;
            }
            Some((ToParent::Devices, _)) => {
                if let Some(cg) = &live.cgroups {
                    cg.apply_device_rules(plan.config())?;
                }
                sync::send(sync_parent.as_fd(), &ToChild::DevicesApplied, &[])?;
            }
            Some((ToParent::Failed { error }, _)) => bail!("{error}"),
            Some((ToParent::Joined, _)) => {}
            None if ready => return Ok(()),
            None => bail!("the container's init died during setup"),
        }
    }
}

/// Create the payload cgroups (limits applied) into `live`.
fn make_cgroups(ctx: &RunCtx<'_>, live: &mut Live) -> Result<()> {
    let c = &ctx.spec.container;
    let cg = cgroups::create(ctx.layout, &c.name, &c.config)?;
    live.cgroup_paths = cgroups::mount_paths(ctx.layout, &cg);
    live.cgroups = Some(cg);
    log::debug!("cgroups of {}: {:?}", c.name, live.cgroup_paths);
    Ok(())
}

/// The error a child already sent, if it sent one (without waiting).
fn child_failure(sync: &OwnedFd) -> Option<anyhow::Error> {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut fds = [PollFd::new(sync, PollFlags::IN)];
    let zero = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    if poll(&mut fds, Some(&zero)).ok()? == 0 {
        return None;
    }
    match sync::recv::<ToParent>(sync) {
        Ok(Some((ToParent::Failed { error }, _))) => Some(anyhow::anyhow!("{error}")),
        _ => None,
    }
}

/// Clone init into its new namespaces (clone3, or the fallbacks of
/// [`crate::sys::spawn`], which also start it in the cgroup one way or
/// another). A shared PID namespace is entered by
/// the monitor itself around the clone (setns(CLONE_NEWPID) only changes
/// where our next child goes) and left again at once.
fn clone_init(spawn_args: &Spawn<'_>, pidns: Option<&OwnedFd>) -> Result<Cloned> {
    let own = match pidns {
        Some(fd) => {
            let own = rustix::fs::open(
                "/proc/self/ns/pid",
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .context("opening the monitor's pid namespace")?;
            process::setns(fd.as_fd(), libc::CLONE_NEWPID)
                .context("joining the shared pid namespace")?;
            Some(own)
        }
        None => None,
    };
    let cloned = spawn(spawn_args).context("cloning the container's init");
    if let (Some(own), Ok(Cloned::Parent(_))) = (&own, &cloned) {
        process::setns(own.as_fd(), libc::CLONE_NEWPID)
            .context("returning to the monitor's pid namespace")?;
    }
    cloned
}

/// lxc.sched.core: a new core scheduling cookie for init's thread group,
/// which every process of the container inherits. As LXC: a host without
/// SMT (ENODEV) needs none; a kernel without core scheduling (EINVAL) is
/// an error.
fn core_scheduling(pid: i32) -> Result<()> {
    use rustix::thread::{create_core_scheduling_cookie, CoreSchedulingScope};
    let p = rustix::process::Pid::from_raw(pid).context("init's pid")?;
    match create_core_scheduling_cookie(p, CoreSchedulingScope::ThreadGroup) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::NODEV) => {
            log::info!("lxc.sched.core: no simultaneous multithreading here, no domain needed");
            Ok(())
        }
        Err(rustix::io::Errno::INVAL) => {
            bail!("lxc.sched.core: the kernel does not support core scheduling (CONFIG_SCHED_CORE)")
        }
        Err(e) => Err(e).context("lxc.sched.core: creating a core scheduling domain"),
    }
}

/// lxc.hook.stop, with LXC's view of the container's namespaces: version
/// 0 gets `ns:/proc/MONITOR/fd/N` arguments, version 1 LXC_<NS>_NS.
fn stop_hook(plan: &Plan, live: &Live, target: &str) {
    let cfg = plan.config();
    if cfg.hooks_of("stop").next().is_none() {
        return;
    }
    let mut env = plan.hook_env.clone();
    env.extra_env.push(("LXC_TARGET".into(), target.into()));
    let paths = live.namespace_paths();
    let args: Vec<String> = if plan.hook_env.version == 0 {
        paths.iter().map(|(n, p)| format!("{n}:{p}")).collect()
    } else {
        env.extra_env.extend(
            paths
                .iter()
                .map(|(n, p)| (n.env_name().to_string(), p.clone())),
        );
        Vec::new()
    };
    hooks::run_hooks(cfg, "stop", &env, &args).unwrap_or_else(|e| log::error!("{e:#}"));
}

/// lxc.rootfs.options = idmap=...: the idmapped rootfs tree for the child
/// (see mount/idmap.rs), once init's user namespace has its maps.
fn idmapped_rootfs(c: &crate::container::Container, pid: i32) -> Result<Option<OwnedFd>> {
    use crate::mount::idmap;
    let cfg = &c.config;
    let Some(target) = idmap::requested(cfg.rootfs.options.as_deref())? else {
        return Ok(None);
    };
    if target == idmap::Target::Container && cfg.idmap.is_empty() {
        bail!("lxc.rootfs.options = idmap=container needs lxc.idmap (a user namespace to map through)");
    }
    let Some(path) = cfg.rootfs.path.as_deref().filter(|p| !p.is_empty()) else {
        bail!("lxc.rootfs.options = idmap: the container has no rootfs");
    };
    let spec = crate::storage::Rootfs::from_config(
        cfg.rootfs.backend.as_deref(),
        path.strip_prefix("dir:").unwrap_or(path),
        &c.dir,
    )
    .context("lxc.rootfs.path")?;
    let Some(dir) = spec.plain_dir() else {
        bail!(
            "lxc.rootfs.options = idmap: idmapped mounts are made of a plain directory rootfs \
             only, not of {}",
            spec.config_value()
        );
    };
    idmap::make_tree(dir, &target, pid).map(Some)
}

fn write_idmaps(pid: i32, cfg: &crate::config::Config) -> Result<()> {
    crate::userns::write_maps(pid, &cfg.idmap)
}
