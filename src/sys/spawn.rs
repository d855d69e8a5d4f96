//! Creating a child in new namespaces on every kernel from 4.19 on, and
//! the handle that signals and reaps it.
//!
//! [`spawn`] takes the best way this kernel offers (probed once, see
//! [`super::kernel`]):
//!
//! 1. clone3(2) (5.3) with CLONE_PIDFD, and CLONE_INTO_CGROUP (5.7) when
//!    a cgroup is asked for;
//! 2. clone(2) with the namespace flags (any kernel; also what Docker's
//!    seccomp profile leaves, which answers clone3 with ENOSYS);
//! 3. fork + unshare(2), where clone (and clone3) refuse namespace flags
//!    (qemu-user emulates only fork-like clones and answers EINVAL). A new
//!    PID namespace applies to the unsharer's children, so the caller
//!    unshares it around the fork; with a user namespace, which must own
//!    it, the forked child unshares everything, forks the real child (PID
//!    1 of the new namespace) and exits while the caller is a child
//!    subreaper, so the real child becomes the caller's.
//!
//! Without clone3's cgroup flag the pid is written to cgroup.procs before
//! [`spawn`] returns; without a pidfd the handle signals by pid, which is
//! safe because the pid of an unreaped child cannot be reused.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use rustix::fs::{openat, Mode, OFlags};

use super::kernel::{self, Feature};
use super::process::{exit_now, kill, pidfd_kill, waitpid, ExitStatus};

/// struct clone_args of <linux/sched.h>, up to CLONE_ARGS_SIZE_VER2 (the
/// libc crate has it only for some 64-bit targets).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// <linux/sched.h> (clone3 only; the libc crate lacks it).
pub(super) const CLONE_INTO_CGROUP: u64 = 0x200000000;

/// CLONE_ARGS_SIZE_VER0: what 5.3 knows (flags .. tls).
const ARGS_VER0: usize = 64;
/// CLONE_ARGS_SIZE_VER2: with `cgroup` (5.7).
const ARGS_VER2: usize = std::mem::size_of::<CloneArgs>();

const NS_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u64;

/// What [`spawn`] creates.
#[derive(Default)]
pub struct Spawn<'a> {
    /// CLONE_NEW* flags (not CLONE_NEWTIME: clone(2) cannot take it, and a
    /// time namespace is entered by the child itself).
    pub namespaces: u64,
    /// The signal the child gets when the caller dies (PR_SET_PDEATHSIG),
    /// set before the child runs any of the caller's code.
    pub pdeath: Option<i32>,
    /// A cgroup v2 directory the child starts in.
    pub cgroup: Option<BorrowedFd<'a>>,
}

/// Which side of [`spawn`] we are on.
pub enum Cloned {
    Parent(Child),
    Child,
}

/// A child process of ours: signalled through its pidfd where the kernel
/// has them, by pid otherwise, and never after it was reaped (until then
/// its pid cannot belong to anyone else).
#[derive(Debug)]
pub struct Child {
    pub pid: i32,
    pidfd: Option<OwnedFd>,
    reaped: Cell<bool>,
}

impl Child {
    fn new(pid: i32, pidfd: Option<OwnedFd>) -> Child {
        Child {
            pid,
            pidfd,
            reaped: Cell::new(false),
        }
    }

    /// The pidfd, readable once the child has exited (None without pidfds:
    /// then SIGCHLD says so).
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(|f| f.as_fd())
    }

    /// Send `sig` to the child; ESRCH once it has been reaped.
    pub fn kill(&self, sig: i32) -> io::Result<()> {
        if self.reaped.get() {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        match &self.pidfd {
            Some(fd) => pidfd_kill(fd.as_fd(), sig),
            None => kill(self.pid, sig),
        }
    }

    /// waitpid(2) for this child (`nohang`: `None` while it runs).
    pub fn wait(&self, nohang: bool) -> io::Result<Option<ExitStatus>> {
        if self.reaped.get() {
            return Err(io::Error::from_raw_os_error(libc::ECHILD));
        }
        let r = waitpid(self.pid, nohang)?;
        if r.is_some() {
            self.reaped.set(true);
        }
        Ok(r.map(|(_, st)| st))
    }
}

/// Create a child in new namespaces. Like fork(2), it returns twice.
/// Call it from a single-threaded process (the child has only the calling
/// thread, and runs the caller's code on a copy of its memory).
pub fn spawn(s: &Spawn<'_>) -> io::Result<Cloned> {
    if s.namespaces & libc::CLONE_NEWTIME as u64 != 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let parent = rustix::process::getpid().as_raw_nonzero().get();
    let refuses_ns =
        |e: &io::Error| e.raw_os_error() == Some(libc::EINVAL) && s.namespaces & NS_FLAGS != 0;
    if kernel::has(Feature::Clone3) {
        match via_clone3(s, parent) {
            // qemu-user emulates clone3 for fork-like clones only.
            Err(e) if refuses_ns(&e) => {}
            r => return r,
        }
    }
    // SAFETY: documented precondition of spawn (single-threaded caller);
    // the child returns Cloned::Child straight away.
    match unsafe { raw_clone(s.namespaces) } {
        Ok(0) => {
            child_start(s, parent);
            Ok(Cloned::Child)
        }
        Ok(pid) => finish_parent(s, pid, None, false),
        Err(e) if refuses_ns(&e) => fork_unshare(s, parent),
        Err(e) => Err(e),
    }
}

fn via_clone3(s: &Spawn<'_>, parent: i32) -> io::Result<Cloned> {
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: s.namespaces,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if kernel::has(Feature::Pidfd) {
        args.flags |= libc::CLONE_PIDFD as u64;
        args.pidfd = &mut pidfd as *mut libc::c_int as u64;
    }
    let into = s.cgroup.filter(|_| kernel::has(Feature::CloneIntoCgroup));
    let size = match into {
        Some(cg) => {
            args.flags |= CLONE_INTO_CGROUP;
            args.cgroup = cg.as_raw_fd() as u64;
            ARGS_VER2
        }
        None => ARGS_VER0,
    };
    // SAFETY: documented precondition of spawn; `args` and `pidfd` outlive
    // the call and `size` does not exceed the struct.
    let pid = unsafe { raw_clone3(&mut args, size) }?;
    if pid == 0 {
        child_start(s, parent);
        return Ok(Cloned::Child);
    }
    let pidfd = (pidfd >= 0).then(|| {
        // SAFETY: the kernel wrote a fresh pidfd that nothing else owns.
        unsafe { OwnedFd::from_raw_fd(pidfd) }
    });
    finish_parent(s, pid, pidfd, into.is_some())
}

/// The parent's side once the child exists: its cgroup (when clone3 did
/// not place it) and its pidfd.
fn finish_parent(
    s: &Spawn<'_>,
    pid: i32,
    pidfd: Option<OwnedFd>,
    placed: bool,
) -> io::Result<Cloned> {
    let child = Child::new(pid, pidfd.or_else(|| pidfd_open(pid)));
    if let (Some(cg), false) = (s.cgroup, placed) {
        if let Err(e) = write_procs(cg, pid) {
            let _ = child.kill(libc::SIGKILL);
            let _ = child.wait(false);
            return Err(e);
        }
    }
    Ok(Cloned::Parent(child))
}

fn write_procs(cgroup: BorrowedFd<'_>, pid: i32) -> io::Result<()> {
    let f = openat(
        cgroup,
        "cgroup.procs",
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    rustix::io::write(&f, pid.to_string().as_bytes())?;
    Ok(())
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    if !kernel::has(Feature::Pidfd) {
        return None;
    }
    // SAFETY: pidfd_open with a pid and no flags returns a new fd or fails.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a fresh fd that nothing else owns.
    (r >= 0).then(|| unsafe { OwnedFd::from_raw_fd(r as i32) })
}

/// First thing in the child: the parent-death signal, and leave at once if
/// the parent is already gone (then nobody would send it). In a new PID
/// namespace getppid() is 0; the caller's own channel to its parent tells.
fn child_start(s: &Spawn<'_>, parent: i32) {
    if s.namespaces & libc::CLONE_NEWNS as u64 != 0 {
        super::mount::note_own_mount_ns();
    }
    let Some(sig) = s.pdeath else { return };
    if super::process::set_pdeathsig(sig).is_err() {
        exit_now(127);
    }
    let pp = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
    if pp != 0 && pp != parent {
        exit_now(1);
    }
}

/// One message from the forked helper to the caller: the pid of the
/// child, or the errno of the step that failed.
const MSG_LEN: usize = 5;
const MSG_PID: u8 = 0;
const MSG_ERR: u8 = 1;

/// fork, then unshare in the child. A new PID namespace is for the
/// unsharer's children: the caller unshares it itself around the fork
/// (and goes back to its own with setns, as for a shared one), unless a
/// user namespace must own it, which only the child can create first;
/// then the child unshares everything and forks the real child.
fn fork_unshare(s: &Spawn<'_>, parent: i32) -> io::Result<Cloned> {
    let new_pid = s.namespaces & libc::CLONE_NEWPID as u64 != 0;
    let new_user = s.namespaces & libc::CLONE_NEWUSER as u64 != 0;
    if !new_pid || new_user {
        return fork_then_unshare(s, parent, s.namespaces, new_pid);
    }
    use rustix::fs::{open, Mode, OFlags};
    let active = open(
        "/proc/self/ns/pid",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    super::process::unshare(libc::CLONE_NEWPID)?;
    let rest = s.namespaces & !(libc::CLONE_NEWPID as u64);
    let r = fork_then_unshare(s, parent, rest, false);
    if let Ok(Cloned::Child) = r {
        return r;
    }
    if let Err(e) = super::process::setns(active.as_fd(), libc::CLONE_NEWPID) {
        if let Ok(Cloned::Parent(c)) = &r {
            let _ = c.kill(libc::SIGKILL);
            let _ = c.wait(false);
        }
        return Err(e);
    }
    r
}

/// fork; the child unshares `flags` and is the new child, or with
/// `twice` forks it (a PID namespace owned by a new user namespace) while
/// the caller is a child subreaper, so that it becomes the caller's.
fn fork_then_unshare(s: &Spawn<'_>, parent: i32, flags: u64, twice: bool) -> io::Result<Cloned> {
    use rustix::pipe::{pipe_with, PipeFlags};
    let new_pid = twice;
    let (report_r, report_w) = pipe_with(PipeFlags::CLOEXEC)?;
    let (resume_r, resume_w) = pipe_with(PipeFlags::CLOEXEC)?;
    // (Only asked when needed: qemu-user does not emulate it.)
    let was_reaper = new_pid && super::process::is_child_subreaper()?;
    if new_pid && !was_reaper {
        super::process::set_child_subreaper()?;
    }
    let restore = || {
        if new_pid && !was_reaper {
            let _ = super::process::clear_child_subreaper();
        }
    };
    // SAFETY: documented precondition of spawn.
    let helper = match unsafe { raw_fork() } {
        Ok(p) => p,
        Err(e) => {
            restore();
            return Err(e);
        }
    };
    if helper == 0 {
        drop(report_r);
        drop(resume_w);
        if let Err(e) = super::process::unshare(flags as libc::c_int) {
            send_msg(&report_w, MSG_ERR, e.raw_os_error().unwrap_or(libc::EINVAL));
            exit_now(1);
        }
        if !new_pid {
            // This process is the child.
            child_start(s, parent);
            send_msg(&report_w, MSG_PID, 0);
            return Ok(Cloned::Child);
        }
        // SAFETY: this forked helper is single-threaded.
        match unsafe { raw_fork() } {
            Ok(0) => {
                drop(report_w);
                // Wait until the caller has reaped the helper, i.e. this
                // process is now the caller's child: a parent-death signal
                // set earlier would fire when the helper exits.
                let mut b = [0u8; 1];
                if !matches!(rustix::io::read(&resume_r, &mut b), Ok(1)) {
                    exit_now(1);
                }
                child_start(s, parent);
                Ok(Cloned::Child)
            }
            Ok(pid) => {
                send_msg(&report_w, MSG_PID, pid);
                exit_now(0)
            }
            Err(e) => {
                send_msg(&report_w, MSG_ERR, e.raw_os_error().unwrap_or(libc::EAGAIN));
                exit_now(1)
            }
        }
    } else {
        drop(report_w);
        drop(resume_r);
        let mut m = [0u8; MSG_LEN];
        let got = read_full(report_r.as_fd(), &mut m);
        let value = i32::from_ne_bytes([m[1], m[2], m[3], m[4]]);
        let r = match (got, m[0]) {
            (Ok(MSG_LEN), MSG_PID) if !new_pid => Ok(helper),
            (Ok(MSG_LEN), MSG_PID) => {
                let _ = waitpid(helper, false);
                // The child is ours now: let it go on.
                rustix::io::write(&resume_w, b"g")
                    .map(|_| value)
                    .map_err(io::Error::from)
            }
            (Ok(MSG_LEN), _) => {
                let _ = waitpid(helper, false);
                Err(io::Error::from_raw_os_error(value))
            }
            (Ok(_), _) => {
                let _ = waitpid(helper, false);
                Err(io::Error::other(
                    "the forked helper died before the child existed",
                ))
            }
            (Err(e), _) => {
                let _ = kill(helper, libc::SIGKILL);
                let _ = waitpid(helper, false);
                Err(e)
            }
        };
        restore();
        drop(resume_w);
        finish_parent(s, r?, None, false)
    }
}

fn send_msg(fd: &OwnedFd, tag: u8, value: i32) {
    let mut m = [tag, 0, 0, 0, 0];
    m[1..].copy_from_slice(&value.to_ne_bytes());
    let _ = rustix::io::write(fd, &m);
}

fn read_full(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match rustix::io::read(fd, &mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

/// Run `f` in a throwaway child and report what it returned (false if the
/// child could not be made). For probes whose call would change the
/// caller (unshare of a namespace that applies to later children).
pub fn probe_in_child(f: impl FnOnce() -> bool) -> bool {
    // SAFETY: the child runs only `f` (raw system calls in the probes that
    // use this) and _exit, which are async-signal-safe.
    match unsafe { raw_fork() } {
        Ok(0) => exit_now(if f() { 0 } else { 1 }),
        Ok(pid) => matches!(waitpid(pid, false), Ok(Some((_, ExitStatus::Exited(0))))),
        Err(_) => false,
    }
}

/// clone3 with `flags` and a cgroup fd, for the CLONE_INTO_CGROUP probe:
/// returns the raw result (the probes pass arguments that make the kernel
/// refuse before a task exists; a child, should one appear, exits at once).
pub(super) fn clone3_probe(flags: u64, cgroup: u64) -> libc::c_long {
    let mut args = CloneArgs {
        flags,
        cgroup,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    // SAFETY: the arguments name an fd that cannot be open, so the kernel
    // fails the call; if it ever made a child, the child exits at once.
    match unsafe { raw_clone3(&mut args, ARGS_VER2) } {
        Ok(0) => exit_now(0),
        Ok(pid) => {
            let _ = waitpid(pid, false);
            pid as libc::c_long
        }
        Err(_) => -1,
    }
}

/// clone3(2) without a stack (fork-like).
///
/// # Safety
/// Like fork(2): the caller must be single-threaded, or the child must call
/// only async-signal-safe functions until it execs or exits. `args` must
/// be valid for `size` bytes.
unsafe fn raw_clone3(args: &mut CloneArgs, size: usize) -> io::Result<i32> {
    // SAFETY: per this function's contract.
    let r = unsafe { libc::syscall(libc::SYS_clone3, args as *mut CloneArgs, size) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as i32)
}

/// clone(2) with `flags | SIGCHLD` and no stack: fork into new namespaces.
///
/// # Safety
/// As [`raw_clone3`].
unsafe fn raw_clone(flags: u64) -> io::Result<i32> {
    let flags = flags as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
    // Argument order differs between architectures only after the stack
    // (0 here), and the tid/tls arguments are unused without their flags.
    // SAFETY: per this function's contract.
    let r = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as i32)
}

/// fork(2) through libc (which keeps its own state consistent in the child).
///
/// # Safety
/// As [`raw_clone3`].
unsafe fn raw_fork() -> io::Result<i32> {
    // SAFETY: per this function's contract.
    let r = unsafe { libc::fork() };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}
