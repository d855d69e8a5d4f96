//! Running lxcbox as if on Linux 4.19: the examples/old_kernel launcher
//! (built by `cargo test` with the other examples) puts a seccomp filter
//! in front of a command that answers every newer system call with ENOSYS.
//!
//! Include with `#[path = "common/oldkernel.rs"] mod oldkernel;` (needs env.rs).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use super::env::{bin, Env};

/// How old the kernel looks.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// Linux 4.19: clone3, openat2, the new mount API, pidfds,
    /// close_range and time namespaces are gone.
    Linux419,
    /// Linux 4.19 under qemu-user: clone(2) refuses namespace flags too.
    Qemu,
}

/// target/<triple>/debug/examples/old_kernel, next to this test's deps/.
pub fn launcher() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/old_kernel");
    assert!(
        p.exists(),
        "{} not built (cargo test builds the examples)",
        p.display()
    );
    p
}

/// `old_kernel [--qemu] lxcbox APPLET -P LXCPATH` with the env's run directory.
pub fn cmd(e: &Env, mode: Mode, applet: &str) -> Command {
    let mut c = Command::new(launcher());
    if let Mode::Qemu = mode {
        c.arg("--qemu");
    }
    c.arg(bin())
        .arg(applet)
        .args(["-P", &e.lxcpath()])
        .env("LXCBOX_RUNDIR", e.rundir());
    c
}

/// Is this whole test run under the old-kernel filter (CI's second pass)?
pub fn whole_run() -> bool {
    std::env::var_os("LXCBOX_TEST_OLD_KERNEL").is_some_and(|v| v == "1")
}
