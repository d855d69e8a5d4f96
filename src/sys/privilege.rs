//! Raised privileges: a setuid-root (or file-capability) copy of lxcbox.
//!
//! Only lxc-user-nic may keep them (busybox's per-applet SUID rule); every
//! other applet drops to the caller's real ids before it reads an argument
//! ([`drop_to_real`]). lxc-user-nic does its checks on worker threads that
//! drop to the real ids for themselves ([`drop_thread_to_real`]): on Linux
//! credentials are per thread at the syscall level (C libraries broadcast
//! setresuid to every thread; rustix's `thread::set_thread_res_uid` does
//! not), so a worker can act as the caller while the main thread stays
//! privileged, and nothing needs restoring: the worker ends.

use std::io;

use rustix::thread::{set_capabilities, CapabilitySet, CapabilitySets};

/// Real, effective and saved user and group ids of the calling thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub ruid: u32,
    pub euid: u32,
    pub suid: u32,
    pub rgid: u32,
    pub egid: u32,
    pub sgid: u32,
}

/// The ids of the calling thread (getresuid/getresgid; rustix has neither).
pub fn ids() -> io::Result<Ids> {
    let (mut ruid, mut euid, mut suid) = (0, 0, 0);
    let (mut rgid, mut egid, mut sgid) = (0, 0, 0);
    // SAFETY: getresuid only writes the three ids through the pointers,
    // which point to live locals.
    if unsafe { libc::getresuid(&mut ruid, &mut euid, &mut suid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above, for getresgid.
    if unsafe { libc::getresgid(&mut rgid, &mut egid, &mut sgid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Ids {
        ruid,
        euid,
        suid,
        rgid,
        egid,
        sgid,
    })
}

/// Whether the kernel ran this binary in secure-execution mode (AT_SECURE):
/// a setuid/setgid file, or a file capability, raised what the caller had.
pub fn secure_exec() -> bool {
    // SAFETY: getauxval reads the auxiliary vector the kernel gave the
    // process; it has no preconditions and returns 0 for an absent entry.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// Whether this process runs with more than its caller's privileges: ids
/// that differ from the real ones, or AT_SECURE (a file capability leaves
/// the ids alone but raises the capability sets).
pub fn raised() -> bool {
    match ids() {
        Ok(i) => i.euid != i.ruid || i.egid != i.rgid || i.suid != i.ruid || secure_exec(),
        // Cannot tell: treat it as raised, so the caller drops.
        Err(_) => true,
    }
}

/// The empty capability sets of an ordinary process.
fn no_caps() -> CapabilitySets {
    CapabilitySets {
        effective: CapabilitySet::empty(),
        permitted: CapabilitySet::empty(),
        inheritable: CapabilitySet::empty(),
    }
}

/// Drop the whole process to its real uid and gid (all three of each) and,
/// unless the caller is root, to no capabilities, then check it took.
///
/// The supplementary groups stay: a setuid exec does not change them, so
/// they already are the caller's own. gid goes first (it needs the
/// privilege the uid drop ends). Uses the C library's setresgid/setresuid,
/// which apply to every thread; the dispatcher calls this first thing in
/// `main`, when the process still has a single thread anyway.
///
/// The kernel made the process non-dumpable for the setuid exec, which
/// would leave its /proc/PID files owned by root; once nothing privileged
/// is left it is made dumpable again, so it behaves as the caller's own
/// process would (its children's /proc files, ptrace by the caller).
pub fn drop_to_real() -> io::Result<()> {
    let before = ids()?;
    super::process::set_ids(Some(before.ruid), Some(before.rgid), None)?;
    if before.ruid != 0 {
        set_capabilities(None, no_caps())?;
    }
    let after = ids()?;
    let (u, g) = (before.ruid, before.rgid);
    if [after.ruid, after.euid, after.suid] != [u, u, u]
        || [after.rgid, after.egid, after.sgid] != [g, g, g]
    {
        return Err(io::Error::other(format!(
            "ids still {after:?} after dropping to uid {u} gid {g}"
        )));
    }
    if before.ruid != 0 && rustix::thread::capabilities(None)? != no_caps() {
        return Err(io::Error::other("capabilities left after dropping them"));
    }
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::Dumpable)?;
    Ok(())
}

/// Drop the calling thread only to the real ids of `of` (and, for a caller
/// other than root, to no capabilities): rustix's thread-level setresgid,
/// setresuid and capset. For short-lived worker threads that act as the
/// caller; the rest of the process keeps its privileges.
pub fn drop_thread_to_real(of: &Ids) -> io::Result<()> {
    use rustix::process::{Gid, Uid};
    let g = Gid::from_raw(of.rgid);
    let u = Uid::from_raw(of.ruid);
    rustix::thread::set_thread_res_gid(g, g, g)?;
    rustix::thread::set_thread_res_uid(u, u, u)?;
    if of.ruid != 0 {
        set_capabilities(None, no_caps())?;
    }
    Ok(())
}
