//! old_kernel: run a command as if on Linux 4.19.
//!
//! `old_kernel [--qemu] COMMAND [ARG]...` installs lxcbox's old-kernel seccomp filter
//! (every system call newer than 4.19 answers ENOSYS, a time namespace
//! EINVAL; see `lxcbox::sys::oldkernel`) and execs COMMAND under it, with
//! `LXCBOX_TEST_OLD_KERNEL=1` in its environment so tests can tell. The
//! filter is inherited by everything COMMAND starts. CI runs the test
//! suite a second time this way (.ci/run), so the fallbacks for older
//! kernels are exercised on a new one. `--qemu` also makes clone(2) refuse
//! namespace flags, as qemu-user does (the fork + unshare fallback).
//! Needs root (CAP_SYS_ADMIN).

use std::os::unix::process::CommandExt;

fn main() {
    use lxcbox::sys::oldkernel::{install, Emulate};
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let mode = if args.first().is_some_and(|a| a == "--qemu") {
        args.remove(0);
        Emulate::QemuUser
    } else {
        Emulate::Linux419
    };
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("usage: old_kernel [--qemu] COMMAND [ARG]...");
        std::process::exit(2);
    };
    if let Err(e) = install(mode) {
        eprintln!("old_kernel: installing the seccomp filter: {e}");
        std::process::exit(1);
    }
    let err = std::process::Command::new(cmd)
        .args(rest)
        .env("LXCBOX_TEST_OLD_KERNEL", "1")
        .exec();
    eprintln!("old_kernel: {}: {err}", cmd.to_string_lossy());
    std::process::exit(127);
}
