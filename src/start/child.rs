//! The container side of the launch: runs in the freshly cloned child, in
//! its new namespaces, and ends in exec (or reports the failed step to the
//! monitor and exits).

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use anyhow::{bail, Context, Result};

use super::{hooks, sync, LaunchPlan};
use crate::sys::process;

/// Everything the child needs, prepared by the parent before the clone so
/// the child does as little as possible.
pub struct ChildArgs<'a> {
    pub plan: &'a LaunchPlan,
    pub sync: BorrowedFd<'a>,
    pub shared: &'a [(String, OwnedFd)],
    pub clone_flags: i32,
}

/// Entry point in the child. Never returns.
pub fn main(args: ChildArgs<'_>) -> ! {
    let err = match setup_and_exec(&args) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = sync::send_msg(args.sync, b'E', &format!("{err:#}"));
    process::exit_now(1)
}

enum Never {}

fn setup_and_exec(a: &ChildArgs<'_>) -> Result<Never> {
    let plan = a.plan;
    let cfg = &plan.container.config;
    // If the monitor dies, init dies too (lxc.monitor.signal.pdeath).
    process::set_pdeathsig(cfg.monitor_signal_pdeath.unwrap_or(libc::SIGKILL))
        .context("setting the parent-death signal")?;
    for (ns, fd) in a.shared {
        if ns != "pid" {
            process::setns(fd.as_fd(), 0)
                .with_context(|| format!("joining the shared {ns} namespace"))?;
        }
    }
    let host_net = sync::wait_go(a.sync)?;
    // In a new user namespace the id maps now exist: become its root (our
    // host ids are usually unmapped there, and the kernel refuses to create
    // files owned by unmapped ids with EOVERFLOW).
    if a.clone_flags & libc::CLONE_NEWUSER != 0 {
        process::set_ids(Some(0), Some(0), Some(&[]))
            .context("becoming root of the container's user namespace")?;
    }
    // A cgroup namespace rooted at the container's own cgroup: only now that
    // the parent has moved us there.
    if a.clone_flags & libc::CLONE_NEWCGROUP != 0 {
        process::unshare(libc::CLONE_NEWCGROUP).context("creating the cgroup namespace")?;
    }
    rustix::process::setsid().context("creating a session for init")?;

    if a.clone_flags & libc::CLONE_NEWNET != 0 {
        net_child(plan, &host_net)?;
    }
    if let Some(h) = &cfg.uts_name {
        rustix::system::sethostname(h.as_bytes())
            .with_context(|| format!("setting hostname \"{h}\""))?;
    }

    mounts_child(plan, a.clone_flags)?;

    for (k, v) in &cfg.sysctl {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, v).with_context(|| format!("lxc.sysctl.{k}: writing {path}"))?;
    }
    for (k, v) in &cfg.proc {
        let path = format!("/proc/self/{k}");
        std::fs::write(&path, v).with_context(|| format!("lxc.proc.{k}: writing {path}"))?;
    }
    for (res, val) in &cfg.prlimit {
        super::limits::apply(res, val)?;
    }
    hooks::run_hooks(cfg, "start", &plan.hook_env, &[])?;

    let env = plan.env.clone();
    let cwd = cfg.init_cwd.as_deref().unwrap_or("/");
    rustix::process::chdir(cwd).with_context(|| format!("lxc.init.cwd: changing to {cwd}"))?;
    if let Some(cp) = &plan.console {
        super::console::make_stdio(cp)?;
    }
    let mut keep = vec![a.sync.as_raw_fd()];
    if let Some(m) = &plan.self_exe {
        keep.push(m.as_raw_fd());
    }
    process::close_fds_from(3, &keep).context("closing inherited file descriptors")?;
    process::reset_signals();

    if plan.confine.device_rules {
        sync::device_rules(a.sync).context("applying the cgroup device rules")?;
    }
    // The confinement step (capabilities, keyring, LSM label,
    // no_new_privs, seccomp): last before exec. Only the id switch comes
    // after it, because it drops the CAP_SYS_ADMIN that loading a seccomp
    // filter without no_new_privs needs (LXC's order too).
    plan.confine.apply()?;
    let groups = if cfg.init_groups.is_empty() {
        None
    } else {
        Some(cfg.init_groups.as_slice())
    };
    let uid = plan.uid.or(cfg.init_uid);
    let gid = plan.gid.or(cfg.init_gid);
    let groups = groups.or(if uid.is_some() || gid.is_some() {
        Some(&[][..])
    } else {
        None
    });
    process::set_ids(uid, gid, groups).context("setting init's uid/gid")?;

    sync::send_msg(a.sync, b'X', "")?;
    let err = match &plan.self_exe {
        Some(memfd) => process::fexec(memfd.as_fd(), &plan.argv, &env),
        None => process::exec(&plan.argv, &env),
    };
    bail!(
        "executing {}: {err}",
        plan.argv
            .first()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default()
    )
}

/// Build the container's environment: LXC clears it, then sets
/// container=lxc, container_ttys, and lxc.environment.
pub fn build_env(cfg: &crate::config::Config) -> Result<Vec<CString>> {
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
            super::console::bind_nodes(cp, &root)?;
        }
        if cfg.autodev != Some(false) {
            hooks::run_hooks(cfg, "autodev", &plan.hook_env, &[])?;
        }
        crate::mount::pivot(root)?;
    }
    Ok(())
}
