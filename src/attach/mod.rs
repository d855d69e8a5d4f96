//! lxc-attach: run a command inside a running container's namespaces and
//! cgroups.
//!
//! Shape: we (the lxc-attach process) open the init's namespace files and
//! the container's `cgroup.procs` files while we still see the host, then
//! setns(2) into every namespace that differs from ours, then fork. The
//! fork matters for the PID namespace: setns(CLONE_NEWPID) (like
//! CLONE_NEWTIME) only changes the namespace of later children, so the
//! command must be a child. The child moves itself into the cgroups
//! through the fds opened earlier (cgroupfs checks the opener's
//! credentials and cgroup namespace, so this works from inside the
//! container's namespaces, where the host's cgroupfs is not even
//! mounted), takes its ids, and execs. We stay as the parent, forward
//! SIGINT/SIGTERM/SIGHUP/SIGQUIT and return the command's status.
//!
//! As with LXC, the command is confined like the container's init
//! (src/confine): init's bounding set (unless `-e CAP`), the container's
//! no_new_privs, its seccomp profile and LSM label (unless `-e LSM`). When
//! stdin, stdout or stderr is a terminal the command gets a pseudo terminal
//! of its own, proxied to ours ([`term`]), so nothing inside can push
//! keystrokes into the caller's terminal (TIOCSTI).

pub mod opts;
mod term;

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use rustix::fs::{Mode, OFlags};

use crate::monitor::client;
use crate::monitor::State;
use crate::sys::process::{self, ExitStatus};
pub use opts::{Elevated, EnvPolicy};

use crate::namespace::{Namespace, NsSet};

/// What to run and how.
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    /// The command and its arguments; empty: the user's shell in the container.
    pub command: Vec<String>,
    /// The namespaces to join (`None`: all the container has apart from
    /// its monitor, as its monitor reports them).
    pub namespaces: Option<NsSet>,
    /// Privileges kept (-e). `cgroup`: the command stays in our cgroups.
    pub elevated: Elevated,
    pub env: EnvPolicy,
    /// Ids inside the container (default 0).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// -R: when the mount namespace is not joined, give the command a
    /// private mount namespace with /proc and /sys mounted afresh.
    pub remount_sys_proc: bool,
    /// -c: the LSM label to run the command with (else init's).
    pub context: Option<String>,
    /// -L: log the pseudo terminal's output to this file.
    pub pty_log: Option<PathBuf>,
    /// -f: the container's configuration file (for lxc.environment).
    pub rcfile: Option<PathBuf>,
}

/// The command could not be started, or setup in the child failed; the
/// applet exits with `code` (127: not found, 126: not executable, 1: setup).
#[derive(Debug)]
pub struct ChildFailed {
    pub code: i32,
    pub msg: String,
}

impl std::fmt::Display for ChildFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for ChildFailed {}

/// The container's init pid and namespaces, refusing a stopped or
/// frozen container.
pub fn target(lxcpath: &str, name: &str) -> Result<(i32, NsSet)> {
    let info = client::info(lxcpath, name)
        .with_context(|| format!("asking the monitor of {name} for the init pid"))?
        .ok_or_else(|| anyhow!("failed to get the init pid (is {name} running?)"))?;
    match info.state {
        State::Frozen | State::Freezing => {
            bail!("{name} is frozen: lxc-unfreeze it first")
        }
        State::Stopped | State::Stopping | State::Aborting => {
            bail!("failed to get the init pid ({name} is not running)")
        }
        _ => Ok((info.pid, info.namespaces)),
    }
}

/// Run `o.command` inside container `name`; returns the command's exit
/// code (128+N when killed by signal N). Errors before the command runs
/// are `anyhow` errors; a [`ChildFailed`] inside carries the exit code.
pub fn attach(lxcpath: &str, name: &str, o: &AttachOptions) -> Result<i32> {
    opts::check_set_vars(&o.env.set)?;
    let (pid, theirs) = target(lxcpath, name)?;
    // Everything from the host's view first: the container's settings,
    // init's bounding set and label, the seccomp profile file, a pty.
    let cfg = running_config(lxcpath, name, o.rcfile.as_deref());
    let confine =
        crate::confine::Confinement::for_attach(&cfg, pid, o.elevated, o.context.as_deref())?;
    let terminal = term::Wanted::check(o.pty_log.as_deref())?;
    let wanted = o.namespaces.unwrap_or(theirs);
    let ns_fds = open_namespaces(pid, wanted)?;
    let joins_mnt = ns_fds.iter().any(|(n, _)| *n == Namespace::Mnt);
    let cg_fds = if o.elevated.cgroup {
        Vec::new()
    } else {
        open_cgroup_procs(lxcpath, name)?
    };
    // Read before setns: afterwards the environment is still ours, but the
    // cwd we want to keep is a path we must remember now.
    let cwd = std::env::current_dir().ok();
    let ours: Vec<(String, String)> = std::env::vars().collect();

    for (ns, fd) in &ns_fds {
        process::setns(fd.as_fd(), ns.flag())
            .with_context(|| format!("joining the {ns} namespace of pid {pid}"))?;
    }
    drop(ns_fds);
    let terminal = terminal.map(|t| t.allocate(joins_mnt)).transpose()?;

    // Block the signals we forward (and SIGCHLD) before forking, so none is
    // lost between fork and the wait loop; the child unblocks them.
    const FORWARD: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];
    let mut watched = FORWARD.to_vec();
    watched.push(libc::SIGCHLD);
    let sfd = block_and_watch(&watched)?;
    let (err_r, err_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .context("creating the attach error pipe")?;

    let setup = ChildSetup {
        o,
        ours: &ours,
        cwd,
        own_mnt: !joins_mnt,
        env_conf: &cfg.environment,
        confine: &confine,
        tty: terminal.as_ref().map(|t| t.slave()),
    };
    let child = match process::fork().context("forking the attached process")? {
        None => {
            drop(err_r);
            let e = child_main(&setup, cg_fds, &err_w);
            let code = if e.code == 0 { 1 } else { e.code };
            let _ = rustix::io::write(&err_w, e.msg.as_bytes());
            process::exit_now(code);
        }
        Some(p) => p,
    };
    drop(err_w);
    drop(cg_fds);
    // EOF once the command is exec'd (the pipe is close-on-exec) or dead.
    let msg = read_all(&err_r);
    let status = match terminal {
        Some(t) if msg.is_empty() => t.run(child, &sfd, &FORWARD)?,
        _ => wait_forwarding(child, &sfd, &FORWARD)?,
    };
    if !msg.is_empty() {
        return Err(ChildFailed {
            code: status.code(),
            msg,
        }
        .into());
    }
    Ok(status.code())
}

/// The container's settings the attached command is confined with: the
/// running container's lxc.seccomp.* and lxc.no_new_privs (from its
/// monitor, as LXC asks for the running config), and lxc.environment from
/// the configuration file.
fn running_config(
    lxcpath: &str,
    name: &str,
    rcfile: Option<&std::path::Path>,
) -> crate::config::Config {
    let mut cfg = match crate::container::Container::load(lxcpath, name, rcfile) {
        Ok(c) => c.config,
        Err(e) => {
            log::warn!("loading the configuration of {name}: {e:#}");
            crate::config::Config::default()
        }
    };
    for key in [
        "lxc.seccomp.profile",
        "lxc.seccomp.allow_nesting",
        "lxc.seccomp.notify.proxy",
        "lxc.no_new_privs",
    ] {
        match client::config_item(lxcpath, name, key).ok().flatten() {
            Some(v) => {
                if let Err(e) = cfg.set_item(key, &v) {
                    log::warn!("{key} = {v} from the running container: {e:#}");
                }
            }
            None => log::info!("Failed to retrieve {key} from the running container"),
        }
    }
    cfg
}

/// Open /proc/PID/ns/* for each wanted namespace that differs from ours,
/// in join order (setns into our own user namespace is EINVAL; into the
/// others, a no-op).
fn open_namespaces(pid: i32, wanted: NsSet) -> Result<Vec<(Namespace, OwnedFd)>> {
    let mut out = Vec::new();
    for ns in wanted.iter() {
        let path = ns.proc_path(pid);
        let fd = match rustix::fs::open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => fd,
            // A kernel without this namespace type (e.g. time before 5.6).
            Err(rustix::io::Errno::NOENT) if ns == Namespace::Time => continue,
            Err(e) => return Err(e).with_context(|| format!("opening {path}")),
        };
        let theirs = rustix::fs::fstat(&fd).with_context(|| format!("stat {path}"))?;
        let mine_path = format!("/proc/self/ns/{}", ns.name());
        let mine = rustix::fs::stat(&mine_path).with_context(|| format!("stat {mine_path}"))?;
        if (theirs.st_dev, theirs.st_ino) != (mine.st_dev, mine.st_ino) {
            out.push((ns, fd));
        }
    }
    Ok(out)
}

/// Open `cgroup.procs` of every process directory of the container's cgroups.
fn open_cgroup_procs(lxcpath: &str, name: &str) -> Result<Vec<OwnedFd>> {
    let set = crate::lifecycle::cgroups(lxcpath, name)?
        .ok_or_else(|| anyhow!("failed to get the cgroups of {name} (is it running?)"))?;
    set.process_dirs()
        .into_iter()
        .map(|d| {
            let p = d.join("cgroup.procs");
            rustix::fs::open(&p, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
                .with_context(|| format!("opening {}", p.display()))
        })
        .collect()
}

fn block_and_watch(signals: &[i32]) -> Result<OwnedFd> {
    crate::sys::attach::block_signals(signals).context("blocking signals")?;
    process::signalfd(signals).context("creating a signalfd")
}

fn read_all(fd: &OwnedFd) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match rustix::io::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Wait for `child`, forwarding `forward` signals to it.
fn wait_forwarding(child: i32, sfd: &OwnedFd, forward: &[i32]) -> Result<ExitStatus> {
    use rustix::event::{poll, PollFd, PollFlags};
    loop {
        if let Some((_, st)) = process::waitpid(child, true).context("waiting for the command")? {
            return Ok(st);
        }
        let mut fds = [PollFd::new(sfd, PollFlags::IN)];
        match poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e).context("polling the signalfd"),
        }
        while let Some(sig) = process::read_signalfd(sfd.as_fd()).context("reading signals")? {
            if forward.contains(&sig) {
                // The child may just have exited: ESRCH is fine.
                let _ = process::kill(child, sig);
            }
        }
    }
}

/// What the forked child needs.
struct ChildSetup<'a> {
    o: &'a AttachOptions,
    ours: &'a [(String, String)],
    cwd: Option<PathBuf>,
    /// The mount namespace was not joined (-s without MOUNT).
    own_mnt: bool,
    env_conf: &'a [String],
    confine: &'a crate::confine::Confinement,
    /// The pty slave: the command's stdio and controlling terminal.
    tty: Option<std::os::fd::BorrowedFd<'a>>,
}

/// Everything the forked child does; returns only on failure.
fn child_main(s: &ChildSetup<'_>, cg_fds: Vec<OwnedFd>, err_w: &OwnedFd) -> ChildFailed {
    let fail = |msg: String| ChildFailed { code: 1, msg };
    let o = s.o;
    process::reset_signals();
    for fd in &cg_fds {
        // "0" means the writing process itself.
        if let Err(e) = rustix::io::write(fd, b"0") {
            return fail(format!("attaching to the container's cgroups: {e}"));
        }
    }
    drop(cg_fds);
    if o.remount_sys_proc && s.own_mnt {
        if let Err(e) = remount_sys_proc() {
            return fail(format!("remounting /proc and /sys: {e:#}"));
        }
    }
    match s.tty {
        Some(tty) => {
            if let Err(e) = term::login(tty) {
                return fail(format!("{e:#}"));
            }
        }
        // No terminal: a session of our own all the same, so the command
        // has no controlling terminal and cannot reach the caller's
        // through /dev/tty (LXC leaves it in lxc-attach's session).
        None => {
            let _ = rustix::process::setsid();
        }
    }
    let uid = o.uid.unwrap_or(0);
    let gid = o.gid.unwrap_or(0);
    // setgroups is denied in a user namespace whose setgroups file says
    // "deny"; LXC goes on without dropping supplementary groups then.
    let _ = process::set_ids(None, None, Some(&[]));
    // setns(CLONE_NEWNS) put us at the container's root; keep our cwd when
    // the same path exists inside, as LXC does.
    if let Some(c) = &s.cwd {
        if rustix::process::chdir(c).is_err() {
            let _ = rustix::process::chdir("/");
        }
    }
    let command = if o.command.is_empty() {
        let pw = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        vec![opts::shell_for(&pw, uid)]
    } else {
        o.command.clone()
    };
    let argv: Vec<CString> = match command.iter().map(|a| CString::new(a.as_str())).collect() {
        Ok(v) => v,
        Err(_) => return fail("the command contains a NUL byte".into()),
    };
    let envp: Vec<CString> = opts::build_env(s.ours, &o.env, s.env_conf)
        .into_iter()
        .filter_map(|e| CString::new(e).ok())
        .collect();
    // Only 0, 1 and 2 reach the command (err_w is close-on-exec).
    use std::os::fd::AsRawFd;
    if let Err(e) = process::close_fds_from(3, &[err_w.as_raw_fd()]) {
        return fail(format!("closing inherited descriptors: {e}"));
    }
    // The confinement step, then the ids (the seccomp filter needs the
    // CAP_SYS_ADMIN the switch to a non-root uid drops), then exec.
    if let Err(e) = s.confine.apply() {
        return fail(format!("{e:#}"));
    }
    if let Err(e) = process::set_ids(Some(uid), Some(gid), None) {
        return fail(format!("switching to uid {uid} gid {gid}: {e}"));
    }
    let e = process::exec(&argv, &envp);
    let code = match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => 127,
        _ => 126,
    };
    ChildFailed {
        code,
        msg: format!("failed to exec \"{}\": {e}", command[0]),
    }
}

/// -R: a private mount namespace (a slave of ours, so nothing propagates
/// back to the host) with /proc and /sys mounted afresh, so they show the
/// PID and network namespaces just joined rather than the host's.
fn remount_sys_proc() -> Result<()> {
    use rustix::mount::{
        mount, mount_change, unmount, MountFlags, MountPropagationFlags, UnmountFlags,
    };
    process::unshare(libc::CLONE_NEWNS).context("unsharing the mount namespace")?;
    mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .context("making / a recursive slave")?;
    for (fs, dir) in [("proc", "/proc"), ("sysfs", "/sys")] {
        // Detach what is there (EINVAL: nothing mounted) and mount anew.
        match unmount(dir, UnmountFlags::DETACH) {
            Ok(()) | Err(rustix::io::Errno::INVAL) => {}
            Err(e) => return Err(e).with_context(|| format!("unmounting {dir}")),
        }
        let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
        mount(fs, dir, fs, flags, None).with_context(|| format!("mounting {fs} on {dir}"))?;
    }
    Ok(())
}
