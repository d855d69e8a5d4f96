//! One run of a container, on the monitor's side: prepare (plan, hooks,
//! namespaces, console, cgroups), clone, feed the child its go, serve
//! until init exits, and undo everything, or abort and undo.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;

use anyhow::{bail, Context, Result};

use super::{
    cgroups, child, console, daemon, hooks, namespaces, selfexe, serve, sync, words, LaunchPlan,
    StartSpec,
};
use crate::monitor::events::Publisher;
use crate::monitor::State;
use crate::sys::process::{self, Cloned, ExitStatus};

/// One run of the container: set up, run, tear down. Returns init's exit
/// status and whether a reboot was requested.
pub(super) fn launch_once(
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
            // While the child sets itself up, queries still get an answer
            // (STARTING) instead of waiting for the serve loop.
            serve::answer_while_starting(listener, sync_parent.as_fd(), pid)?;
            match sync::recv_msg(&sync_parent)? {
                Some((b'X', _)) => ready = true,
                Some((b'D', _)) => {
                    if let Some(cg) = &undo.cgroups {
                        cg.apply_device_rules(cfg)?;
                    }
                    sync::send_msg(sync_parent.as_fd(), b'd', "")?;
                }
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
        confine: crate::confine::Confinement::for_start(cfg, &c.name, &c.lxcpath)?,
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
