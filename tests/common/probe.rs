//! The static test program of tests/fixtures/probe/sysprobe.c: makes the
//! system calls the confinement tests need (kexec_load, init_module,
//! TIOCSTI, ...) and prints `NAME=ok` or `NAME=ERRNO` per call. Built once
//! per test binary with the host's C compiler (cc -static; .ci/run
//! installs gcc and libc6-dev).
//!
//! Include with `#[path = "common/probe.rs"] mod probe;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The path of the compiled probe (static: it runs in any rootfs).
pub fn path() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/probe/sysprobe.c");
        let out =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sysprobe-{}", std::process::id()));
        let st = Command::new("cc")
            .args(["-static", "-Os", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("running cc (install gcc and libc6-dev)");
        assert!(st.success(), "compiling {}", src.display());
        out
    })
}

/// Copy the probe into `rootfs` as /bin/sysprobe.
pub fn install(rootfs: &Path) {
    std::fs::copy(path(), rootfs.join("bin/sysprobe")).unwrap();
}

/// `NAME=RESULT` lines of a probe run, as a map.
pub fn results(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.trim().split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
