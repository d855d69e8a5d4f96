//! Landlock's scoping (landlock_create_ruleset(2), landlock_restrict_self(2),
//! which rustix does not wrap). lxcbox uses a Landlock domain for what
//! every domain brings: a process inside it cannot ptrace, nor reach
//! through /proc/PID/{root,cwd,fd,exe,mem,...}, any process outside it
//! (the kernel's ptrace access check). No file system access is handled,
//! so mounts and files are not restricted at all.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The syscall numbers: the same on every architecture (syscalls added
/// since Linux 5.1 share one numbering).
const SYS_LANDLOCK_CREATE_RULESET: libc::c_long = 444;
const SYS_LANDLOCK_RESTRICT_SELF: libc::c_long = 446;
const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;

/// Connecting to abstract unix sockets bound outside the domain is denied
/// (Landlock ABI 6, Linux 6.12).
pub const SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1;

/// struct landlock_ruleset_attr (ABI 6: the `scoped` field).
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

/// The Landlock ABI the kernel offers (an error when it has none, or
/// Landlock is not enabled at boot).
pub fn abi_version() -> io::Result<i32> {
    // SAFETY: with LANDLOCK_CREATE_RULESET_VERSION the attribute pointer
    // must be NULL and its size 0: no memory is passed.
    let r = unsafe {
        libc::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as i32)
    }
}

/// Put the calling thread (and every process it starts from now on) into
/// a new Landlock domain that handles only the `scoped` restrictions.
/// Needs no_new_privs or CAP_SYS_ADMIN.
pub fn restrict_self_scoped(scoped: u64) -> io::Result<()> {
    let attr = RulesetAttr {
        handled_access_fs: 0,
        handled_access_net: 0,
        scoped,
    };
    // SAFETY: `attr` is a live, initialised landlock_ruleset_attr and the
    // size passed is exactly its size; the kernel only reads it.
    let fd = unsafe {
        libc::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            &attr as *const RulesetAttr,
            std::mem::size_of::<RulesetAttr>(),
            0u32,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this new fd; nothing else owns it.
    let ruleset = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: landlock_restrict_self(ruleset_fd, flags = 0) takes integers
    // only; `ruleset` stays open for the duration of the call.
    let r = unsafe {
        libc::syscall(
            SYS_LANDLOCK_RESTRICT_SELF,
            std::os::fd::AsRawFd::as_raw_fd(&ruleset),
            0u32,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
