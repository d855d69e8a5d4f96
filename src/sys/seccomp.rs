//! Installing a classic BPF seccomp filter.

use std::io;

use crate::seccomp::bpf::Insn;

const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
const SECCOMP_MODE_FILTER: libc::c_ulong = 2;

/// Install `prog` as a seccomp filter on the calling thread, with
/// seccomp(2), or prctl(PR_SET_SECCOMP) on kernels before 3.17. No flags:
/// LXC (libseccomp's defaults) synchronises no threads and sets no
/// no_new_privs of its own.
pub fn install(prog: &[Insn]) -> io::Result<()> {
    let mut filter: Vec<libc::sock_filter> = prog
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let len = u16::try_from(filter.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "seccomp filter too long"))?;
    let fprog = libc::sock_fprog {
        len,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: `fprog` points at `filter`, which lives until the call
    // returns; the kernel copies the program and keeps no pointer to it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            0 as libc::c_uint,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::ENOSYS) {
        return Err(e);
    }
    // SAFETY: as above; PR_SET_SECCOMP reads the same struct sock_fprog.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            SECCOMP_MODE_FILTER,
            &fprog as *const libc::sock_fprog,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
