//! The container side of the launch: runs in the freshly cloned child, in
//! its new namespaces, and ends in exec (or reports the failed step to the
//! monitor and exits). The steps, in order, each named in its error:
//!
//! parent-death signal → enter the v1 cgroups → join shared namespaces →
//! (mounts, when `Plan::early_mounts` allows them before the go) → go →
//! become root of a new user namespace → unshare cgroup and time
//! namespaces → session → network → hostname → mounts and pivot_root →
//! sysctl, /proc, prlimits → start hooks → cwd → console stdio → fds,
//! signals → (device rules, by the monitor) → **confine** → ids → exec.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use anyhow::{bail, Context, Result};

use super::console::ConsolePlan;
use super::hooks;
use super::namespaces::{self, SharedNs, TimeOffsets};
use super::plan::{Exec, Plan};
use super::sync::{self, ToParent};
use crate::namespace::Namespace;
use crate::sys::process;

/// What the child gets from the monitor's live resources (inherited
/// through the clone).
pub struct ChildArgs<'a> {
    pub plan: &'a Plan,
    pub sync: BorrowedFd<'a>,
    pub shared: &'a [SharedNs],
    pub console: Option<ConsolePlan>,
    /// v1 `tasks` files of the payload cgroups, for init to enter itself.
    pub v1_tasks: &'a [(std::path::PathBuf, OwnedFd)],
}

/// Entry point in the child. Never returns: whatever happens, including a
/// panic, ends in exit (never in the monitor's destructors, which would
/// undo the start from inside the container).
pub fn main(args: ChildArgs<'_>) -> ! {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| setup_and_exec(&args)));
    let error = match r {
        Ok(Ok(never)) => match never {},
        Ok(Err(e)) => format!("{e:#}"),
        Err(_) => "the container's child panicked during setup".to_string(),
    };
    let _ = sync::send(args.sync, &ToParent::Failed { error }, &[]);
    process::exit_now(1)
}

enum Never {}

fn setup_and_exec(a: &ChildArgs<'_>) -> Result<Never> {
    let plan = a.plan;
    let cfg = plan.config();
    let ns = &plan.namespaces;
    // The parent-death signal is set by the clone (crate::sys::spawn).
    // Into the cgroups first, so everything from here on is accounted and
    // limited there (the unified one took init at the clone).
    super::cgroups::join_v1(a.v1_tasks)?;
    if plan.announce_joined {
        sync::send(a.sync, &ToParent::Joined, &[])?;
    }
    // The PID namespace was entered by the monitor for the clone itself.
    for s in a.shared.iter().filter(|s| s.ns != Namespace::Pid) {
        process::setns(s.fd.as_fd(), s.ns.flag())
            .with_context(|| format!("joining the shared {} namespace", s.ns))?;
    }
    // Mounts first when they need nothing from the monitor: they then run
    // while it makes and enters the cgroups (Plan::early_mounts).
    if plan.early_mounts {
        mounts(a, &[], None)?;
    }
    if ns.owns(Namespace::User) && ns.owns(Namespace::Mnt) {
        crate::mount::mount_staging_early()?;
    }
    let (host_net, cgroup_paths, idmapped_root) = sync::wait_go(a.sync)?;
    // In a new user namespace the id maps now exist: become its root (our
    // host ids are usually unmapped there, and the kernel refuses to create
    // files owned by unmapped ids with EOVERFLOW).
    if ns.owns(Namespace::User) {
        process::set_ids(Some(0), Some(0), Some(&[]))
            .context("becoming root of the container's user namespace")?;
    }
    // A cgroup namespace rooted at the container's own cgroup (we entered
    // it above).
    if ns.owns(Namespace::Cgroup) {
        process::unshare(libc::CLONE_NEWCGROUP).context("creating the cgroup namespace")?;
    }
    if let Some(t) = &ns.time {
        enter_time_namespace(t)?;
    }
    // For the stop hook, while /proc is still the host's.
    let late: Vec<(Namespace, OwnedFd)> = if plan.preserve_namespaces {
        namespaces::preserve(None, ns.in_child())?
    } else {
        Vec::new()
    };
    rustix::process::setsid().context("creating a session for init")?;

    if ns.owns(Namespace::Net) {
        match &host_net {
            Some(h) => crate::net::setup_container(&cfg.net, h)?,
            None => crate::net::loopback_up()?,
        }
    }
    if ns.owns(Namespace::Uts) {
        if let Some(h) = &cfg.uts_name {
            rustix::system::sethostname(h.as_bytes())
                .with_context(|| format!("lxc.uts.name: setting hostname \"{h}\""))?;
        }
    }

    if ns.owns(Namespace::Mnt) && !plan.early_mounts {
        mounts(a, &cgroup_paths, idmapped_root.as_ref())?;
    }
    if let Some(p) = plan.personality {
        process::set_personality(p)
            .with_context(|| format!("lxc.arch: setting personality {p:#x}"))?;
    }

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
    hooks::run_hooks(cfg, "start", &plan.child_hook_env, &[])?;

    rustix::process::chdir(plan.cwd.as_str())
        .with_context(|| format!("lxc.init.cwd: changing to {}", plan.cwd))?;
    if let Some(cp) = &a.console {
        super::console::make_stdio(cp)?;
    }
    let mut keep = vec![a.sync.as_raw_fd()];
    if let Exec::Sealed(s) = &plan.exec {
        keep.push(s.fd().as_raw_fd());
    }
    keep.extend(late.iter().map(|(_, f)| f.as_raw_fd()));
    process::close_fds_from(3, &keep).context("closing inherited file descriptors")?;
    process::reset_signals();

    if plan.confine.device_rules {
        sync::device_rules(a.sync).context("applying the cgroup device rules")?;
    }
    confine(plan)?;
    // Only the id switch and the exec run under the seccomp filter. The ids
    // change after it: loading a filter without no_new_privs needs the
    // CAP_SYS_ADMIN a switch to a non-root uid takes away (LXC's order).
    let ids = &plan.ids;
    process::set_ids(ids.uid, ids.gid, ids.groups.as_deref()).context("setting init's uid/gid")?;

    let fds: Vec<BorrowedFd<'_>> = late.iter().map(|(_, f)| f.as_fd()).collect();
    let names = late.iter().map(|(n, _)| *n).collect();
    sync::send(a.sync, &ToParent::Exec { namespaces: names }, &fds)?;
    drop(late);
    let err = match &plan.exec {
        Exec::Sealed(s) => s.exec(&plan.argv, &plan.env),
        Exec::Path => process::exec(&plan.argv, &plan.env),
    };
    bail!("executing {}: {err}", plan.program())
}

/// The confinement step (src/confine): bounding set, session keyring, LSM
/// label, no_new_privs, seccomp filter, in that order, prepared in
/// [`super::plan::Confinement`] before the clone. It runs after every
/// mount, hook, /proc write, the console and the cgroup device rules;
/// only the id switch and exec come after it.
fn confine(plan: &Plan) -> Result<()> {
    plan.confine.apply()
}

/// Unshare a time namespace, write its offsets (possible only before any
/// process is in it) and enter it, as LXC does: the namespace applies to
/// children, so the child joins its own time_for_children.
fn enter_time_namespace(t: &TimeOffsets) -> Result<()> {
    let step = "creating the time namespace (lxc.time.offset.*)";
    if !crate::sys::kernel::has(crate::sys::kernel::Feature::TimeNamespace) {
        bail!(
            "{step}: this kernel has no time namespaces (they need Linux 5.6 with CONFIG_TIME_NS)"
        );
    }
    process::unshare(libc::CLONE_NEWTIME).context(step)?;
    // CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7 (time_namespaces(7)).
    let text = format!(
        "1 {} {}\n7 {} {}\n",
        t.monotonic.0, t.monotonic.1, t.boot.0, t.boot.1
    );
    std::fs::write("/proc/self/timens_offsets", text)
        .with_context(|| format!("{step}: writing /proc/self/timens_offsets"))?;
    let fd = rustix::fs::open(
        "/proc/self/ns/time_for_children",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .with_context(|| format!("{step}: opening /proc/self/ns/time_for_children"))?;
    process::setns(fd.as_fd(), libc::CLONE_NEWTIME)
        .with_context(|| format!("{step}: entering it"))?;
    Ok(())
}

/// Mounts inside the new mount namespace: the mount layer up to
/// pivot_root, with the pre-mount, mount and autodev hooks at LXC's points.
fn mounts(
    a: &ChildArgs<'_>,
    cgroup_paths: &[(String, std::path::PathBuf)],
    idmapped_root: Option<&OwnedFd>,
) -> Result<()> {
    let plan = a.plan;
    let c = &plan.container;
    let cfg = &c.config;
    let hook_env = &plan.child_hook_env;
    hooks::run_hooks(cfg, "pre-mount", hook_env, &[])?;
    let ctx = crate::mount::MountCtx {
        cfg,
        name: &c.name,
        lxcpath: std::path::Path::new(&c.lxcpath),
        container_dir: &c.dir,
        cgroup_paths: cgroup_paths.to_vec(),
        own_netns: plan.namespaces.owns(Namespace::Net),
        own_cgroupns: plan.namespaces.owns(Namespace::Cgroup),
        idmapped_root,
    };
    let root = crate::mount::setup_mounts(&ctx)?;
    hooks::run_hooks(cfg, "mount", hook_env, &[])?;
    if let Some(root) = root {
        if let Some(cp) = &a.console {
            super::console::bind_nodes(cp, &root)?;
        }
        if cfg.autodev != Some(false) {
            hooks::run_hooks(cfg, "autodev", hook_env, &[])?;
        }
        crate::mount::pivot(root)?;
    }
    Ok(())
}
