//! What this kernel offers beyond Linux 4.19, lxcbox's floor, probed once
//! per process and cached.
//!
//! Every interface newer than 4.19 that lxcbox uses has a fallback; the
//! code that uses one asks [`has`] and takes the fallback when the answer
//! is no. A probe is a harmless call of the interface itself (never a
//! version number: backports, seccomp filters such as Docker's, and
//! qemu-user all make the version meaningless): ENOSYS, or EPERM where the
//! call needs no privilege, means the interface is not there.
//!
//! | feature | since | fallback |
//! |---|---|---|
//! | clone3 | 5.3 | clone(2), or fork + unshare(2) where clone refuses namespace flags (qemu-user) |
//! | CLONE_INTO_CGROUP | 5.7 | the pid written to cgroup.procs |
//! | pidfds | 5.3 | pid + parent-death signal, signalled only until reaped |
//! | openat2 | 5.6 | a component-by-component O_PATH\|O_NOFOLLOW walk |
//! | new mount API | 5.2 | mount(2) on /proc/self/fd/N, detached trees staged in a private tmpfs |
//! | close_range | 5.9 | a /proc/self/fd sweep |
//! | time namespaces | 5.6 | none: a clear error when lxc.time.offset.* asks for one |

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU8, Ordering};

/// A kernel interface newer than Linux 4.19.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    Clone3,
    CloneIntoCgroup,
    Pidfd,
    Openat2,
    MountApi,
    CloseRange,
    TimeNamespace,
}

impl Feature {
    /// Every feature, in the order lxc-checkconfig lists them.
    pub const ALL: [Feature; 7] = [
        Feature::Clone3,
        Feature::CloneIntoCgroup,
        Feature::Pidfd,
        Feature::Openat2,
        Feature::MountApi,
        Feature::CloseRange,
        Feature::TimeNamespace,
    ];

    /// The interface's name, as the man pages spell it.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Clone3 => "clone3",
            Feature::CloneIntoCgroup => "CLONE_INTO_CGROUP",
            Feature::Pidfd => "pidfd",
            Feature::Openat2 => "openat2",
            Feature::MountApi => "new mount API",
            Feature::CloseRange => "close_range",
            Feature::TimeNamespace => "time namespace",
        }
    }

    /// The first mainline kernel that has it.
    pub fn since(self) -> &'static str {
        match self {
            Feature::MountApi => "5.2",
            Feature::Clone3 | Feature::Pidfd => "5.3",
            Feature::Openat2 | Feature::TimeNamespace => "5.6",
            Feature::CloneIntoCgroup => "5.7",
            Feature::CloseRange => "5.9",
        }
    }

    /// What lxcbox does instead when the kernel lacks it.
    pub fn fallback(self) -> &'static str {
        match self {
            Feature::Clone3 => "clone(2), or fork + unshare(2)",
            Feature::CloneIntoCgroup => "cgroup.procs",
            Feature::Pidfd => "pid + parent-death signal",
            Feature::Openat2 => "O_PATH|O_NOFOLLOW walk",
            Feature::MountApi => "mount(2) on /proc/self/fd",
            Feature::CloseRange => "/proc/self/fd sweep",
            Feature::TimeNamespace => "none: lxc.time.offset.* is refused",
        }
    }

    fn probe(self) -> bool {
        match self {
            Feature::Clone3 => probe_clone3(),
            Feature::CloneIntoCgroup => has(Feature::Clone3) && probe_clone_into_cgroup(),
            Feature::Pidfd => probe_pidfd(),
            Feature::Openat2 => probe_openat2(),
            Feature::MountApi => probe_mount_api(),
            Feature::CloseRange => probe_close_range(),
            Feature::TimeNamespace => probe_time_ns(),
        }
    }
}

const UNKNOWN: u8 = 0;
const ABSENT: u8 = 1;
const PRESENT: u8 = 2;

static CACHE: [AtomicU8; Feature::ALL.len()] = [const { AtomicU8::new(UNKNOWN) }; 7];

/// Does this kernel (as this process sees it) offer `f`? Probed on the
/// first call, then cached for the life of the process (and its forks).
pub fn has(f: Feature) -> bool {
    let slot = &CACHE[f as usize];
    match slot.load(Ordering::Relaxed) {
        PRESENT => true,
        ABSENT => false,
        _ => {
            let yes = f.probe();
            slot.store(if yes { PRESENT } else { ABSENT }, Ordering::Relaxed);
            yes
        }
    }
}

/// The features this kernel lacks, i.e. the fallbacks lxcbox uses here.
pub fn missing() -> Vec<Feature> {
    Feature::ALL.into_iter().filter(|&f| !has(f)).collect()
}

/// The errno of a raw syscall's return value, `None` on success.
fn errno_of(r: libc::c_long) -> Option<i32> {
    (r < 0).then(|| io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

/// The answer that means "not there": ENOSYS (no such syscall; also what
/// Docker's profile answers for clone3 and qemu-user for what it does not
/// emulate) or EPERM from a call that needs no privilege (a seccomp
/// filter's default answer).
fn absent(errno: Option<i32>) -> bool {
    matches!(errno, Some(libc::ENOSYS) | Some(libc::EPERM))
}

fn probe_clone3() -> bool {
    // SAFETY: clone3 with a NULL argument and size 0 is refused with
    // EINVAL (size below CLONE_ARGS_SIZE_VER0) before anything is created.
    let r = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) };
    if r == 0 {
        // Cannot happen (no kernel creates a process from NULL args); if
        // it did, this is the child: leave at once.
        super::process::exit_now(0);
    }
    !absent(errno_of(r))
}

fn probe_clone_into_cgroup() -> bool {
    // An fd number that cannot be open: a kernel that knows the flag
    // refuses it with EBADF when it looks the cgroup up, before any task
    // exists; one that does not refuses the flag itself (EINVAL) or the
    // larger struct (E2BIG).
    let r = super::spawn::clone3_probe(super::spawn::CLONE_INTO_CGROUP, i32::MAX as u64);
    errno_of(r) == Some(libc::EBADF)
}

fn probe_pidfd() -> bool {
    // SAFETY: pidfd_open on our own pid returns a new fd (or an error).
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    if errno_of(r).is_some() {
        return false;
    }
    // SAFETY: a fresh fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(r as i32) };
    // Signal 0 only checks that the signal could be sent (pidfd_send_signal
    // is 5.1, pidfd_open 5.3: a filter could allow one and not the other).
    // SAFETY: pidfd_send_signal with a valid fd, signal 0, no siginfo.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    errno_of(r).is_none()
}

fn probe_openat2() -> bool {
    use rustix::fs::{openat2, Mode, OFlags, ResolveFlags, CWD};
    openat2(
        CWD,
        "/",
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .is_ok()
}

fn probe_mount_api() -> bool {
    use rustix::mount::{open_tree, OpenTreeFlags};
    // open_tree without OPEN_TREE_CLONE is an O_PATH open: no privilege.
    if open_tree(rustix::fs::CWD, "/", OpenTreeFlags::OPEN_TREE_CLOEXEC).is_err() {
        return false;
    }
    // move_mount and fsopen need CAP_SYS_ADMIN (EPERM without it, as mount(2)
    // would be): only ENOSYS means they are missing. Bad fds / an unknown
    // filesystem type make them fail before anything happens.
    // SAFETY: move_mount with invalid fds and empty paths: refused with EBADF.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            -1,
            c"".as_ptr(),
            -1,
            c"".as_ptr(),
            0x4 | 0x40, // MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH
        )
    };
    if errno_of(r) == Some(libc::ENOSYS) {
        return false;
    }
    // SAFETY: fsopen of a filesystem type that does not exist: ENODEV.
    let r = unsafe { libc::syscall(libc::SYS_fsopen, c"lxcbox-probe".as_ptr(), 0) };
    match errno_of(r) {
        Some(libc::ENOSYS) => false,
        Some(_) => true,
        None => {
            // SAFETY: an fd fsopen just returned, owned by nothing else.
            drop(unsafe { OwnedFd::from_raw_fd(r as i32) });
            true
        }
    }
}

fn probe_close_range() -> bool {
    // [UINT_MAX, UINT_MAX] names no open fd: closes nothing.
    // SAFETY: close_range of an fd number that cannot be open.
    let r = unsafe { libc::syscall(libc::SYS_close_range, u32::MAX, u32::MAX, 0) };
    errno_of(r).is_none()
}

fn probe_time_ns() -> bool {
    if !std::path::Path::new("/proc/self/ns/time").exists() {
        return false;
    }
    // unshare(CLONE_NEWTIME) changes the namespace of the caller's future
    // children, so it is tried in a throwaway child.
    // EINVAL is "unknown flag" (no CONFIG_TIME_NS, or older than 5.6);
    // EPERM only says we may not, which is not this question.
    super::spawn::probe_in_child(|| match super::process::unshare(libc::CLONE_NEWTIME) {
        Ok(()) => true,
        Err(e) => e.raw_os_error() != Some(libc::EINVAL),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_and_consistent() {
        for f in Feature::ALL {
            assert_eq!(has(f), has(f), "{f:?}");
            assert!(!f.name().is_empty() && !f.since().is_empty() && !f.fallback().is_empty());
        }
        // CLONE_INTO_CGROUP is a clone3 flag.
        if has(Feature::CloneIntoCgroup) {
            assert!(has(Feature::Clone3));
        }
    }
}
