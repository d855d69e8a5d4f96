//! Make this kernel look like Linux 4.19 to the calling process and its
//! descendants: a fixed seccomp filter that answers every system call
//! newer than 4.19 with ENOSYS (as Docker's profile does for clone3 and an
//! old kernel does for all of them) and a time-namespace request with
//! EINVAL (an unknown clone flag there); optionally clone(2) with namespace
//! flags EINVAL too, as under qemu-user. The test suite's old-kernel pass
//! runs under it (examples/old_kernel.rs), so the fallbacks of
//! [`super::kernel`] are exercised on a new kernel.

use std::io;

/// AUDIT_ARCH_* of this build, and its first system call number after 4.19
/// (5.1 added pidfd_send_signal at 424 everywhere, and the 64-bit time
/// calls from 403 on 32-bit ABIs).
#[cfg(target_arch = "x86_64")]
const ARCH: (u32, u32) = (0xc000_003e, 424);
#[cfg(target_arch = "aarch64")]
const ARCH: (u32, u32) = (0xc000_00b7, 424);
#[cfg(target_arch = "riscv64")]
const ARCH: (u32, u32) = (0xc000_00f3, 424);
#[cfg(target_arch = "arm")]
const ARCH: (u32, u32) = (0x4000_0028, 403);
#[cfg(target_arch = "x86")]
const ARCH: (u32, u32) = (0x4000_0003, 403);

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;

// struct seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8i (the low
// 32 bits first on little-endian ABIs, which all of lxcbox's are).
const NR: u32 = 0;
const AUDIT_ARCH: u32 = 4;
const ARG0: u32 = 16;
const ARG1: u32 = 24;

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// What to look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emulate {
    /// Linux 4.19.
    Linux419,
    /// Linux 4.19 as qemu-user shows it: clone(2) also refuses namespace
    /// flags (EINVAL), as qemu emulates only fork-like clones.
    QemuUser,
}

/// The program (jump offsets count from the next instruction).
fn program(e: Emulate) -> Vec<libc::sock_filter> {
    let newtime = libc::CLONE_NEWTIME as u32;
    let clone_refused = match e {
        Emulate::Linux419 => 0, // JSET 0 never jumps
        Emulate::QemuUser => {
            (libc::CLONE_NEWNS
                | libc::CLONE_NEWUTS
                | libc::CLONE_NEWIPC
                | libc::CLONE_NEWUSER
                | libc::CLONE_NEWPID
                | libc::CLONE_NEWNET
                | libc::CLONE_NEWCGROUP) as u32
        }
    };
    vec![
        /* 0 */ insn(LD_W_ABS, 0, 0, AUDIT_ARCH),
        /* 1 */ insn(JEQ_K, 0, 14, ARCH.0), // another ABI: allow
        /* 2 */ insn(LD_W_ABS, 0, 0, NR),
        /* 3 */ insn(JEQ_K, 4, 0, libc::SYS_unshare as u32),
        /* 4 */ insn(JEQ_K, 5, 0, libc::SYS_setns as u32),
        /* 5 */ insn(JEQ_K, 6, 0, libc::SYS_clone as u32),
        /* 6 */ insn(JGE_K, 7, 0, ARCH.1),
        /* 7 */ insn(RET_K, 0, 0, RET_ALLOW),
        /* 8 */ insn(LD_W_ABS, 0, 0, ARG0), // unshare(flags)
        /* 9 */ insn(JSET_K, 5, 6, newtime),
        /* 10 */ insn(LD_W_ABS, 0, 0, ARG1), // setns(fd, nstype)
        /* 11 */ insn(JEQ_K, 3, 4, newtime),
        /* 12 */ insn(LD_W_ABS, 0, 0, ARG0), // clone(flags, ...)
        /* 13 */ insn(JSET_K, 1, 2, clone_refused),
        /* 14 */ insn(RET_K, 0, 0, RET_ERRNO | libc::ENOSYS as u32),
        /* 15 */ insn(RET_K, 0, 0, RET_ERRNO | libc::EINVAL as u32),
        /* 16 */ insn(RET_K, 0, 0, RET_ALLOW),
    ]
}

/// Install the filter on the calling thread (inherited by every child and
/// across exec). Needs CAP_SYS_ADMIN or no_new_privs; sets neither.
pub fn install(e: Emulate) -> io::Result<()> {
    let mut prog = program(e);
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: `fprog` points at `prog`, alive until the call returns; the
    // kernel copies the program.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
