//! Test helpers: temporary directories that clean up after themselves and a
//! minimal busybox root filesystem built from Debian's busybox-static.
//!
//! Include with `#[path = "common/rootfs.rs"] mod rootfs;`.
#![allow(dead_code)]

use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// A unique directory under the system temp dir, removed (recursively,
/// without following symlinks) on drop, even when the test fails.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("lxcbox-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("creating temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Applets linked into /bin of the busybox rootfs.
pub const APPLETS: &[&str] = &[
    "sh", "ls", "cat", "echo", "ps", "true", "false", "sleep", "mount", "touch", "mkdir", "id",
];

/// Build a busybox rootfs at `dir`: /bin/busybox (static) plus applet
/// symlinks, and the usual empty top-level directories.
pub fn busybox_rootfs(dir: &Path) -> io::Result<()> {
    busybox_rootfs_from(dir, Path::new("/bin/busybox"))
}

/// The same with another static busybox (e.g. one of another architecture).
pub fn busybox_rootfs_from(dir: &Path, busybox: &Path) -> io::Result<()> {
    for d in [
        "bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "mnt", "root",
    ] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    std::fs::copy(busybox, dir.join("bin/busybox"))?;
    for a in APPLETS {
        symlink("busybox", dir.join("bin").join(a))?;
    }
    std::fs::write(dir.join("etc/hostname"), "busybox\n")?;
    Ok(())
}
