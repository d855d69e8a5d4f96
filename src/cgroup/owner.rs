//! Which cgroup directories lxcbox made: every directory it creates gets
//! the extended attribute `trusted.lxcbox` (cgroupfs keeps trusted.* and,
//! for other users, user.* attributes on v1 and v2 alike), and only a
//! directory carrying it is ever removed as stale. A real LXC on the same
//! host makes `lxc.payload.NAME` / `lxc.monitor.NAME` with the same names
//! in the same parent; an empty one of LXC's is usually a container LXC is
//! starting right now, and removing it made LXC's start fail with "Failed
//! to enter cgroup".
//!
//! Where the filesystem refuses extended attributes (an old kernel), a
//! record under the run directory (`RUNDIR/cgroups/<hash of the path>`,
//! holding the path) stands in for the attribute.

use std::path::{Path, PathBuf};

use rustix::fs::XattrFlags;
use rustix::io::Errno;

/// The attribute root sets; any other user sets the user.* one.
const TRUSTED: &str = "trusted.lxcbox";
const USER: &str = "user.lxcbox";

fn record_path(dir: &Path) -> PathBuf {
    let hash = crate::monitor::fnv64(dir.as_os_str().as_encoded_bytes());
    crate::paths::rundir()
        .join("cgroups")
        .join(format!("{hash:016x}"))
}

/// Mark `dir` (just created by us) as lxcbox's. Failures only warn: an
/// unmarked directory is merely never cleaned up as stale.
pub fn mark(dir: &Path) {
    let value = std::process::id().to_string();
    let name = if rustix::process::geteuid().is_root() {
        TRUSTED
    } else {
        USER
    };
    match rustix::fs::setxattr(dir, name, value.as_bytes(), XattrFlags::empty()) {
        Ok(()) => {}
        Err(Errno::NOTSUP | Errno::PERM) => {
            let rec = record_path(dir);
            let made = rec
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .map_err(anyhow::Error::from)
                .and_then(|()| {
                    crate::fsutil::write_volatile(&rec, dir.as_os_str().as_encoded_bytes(), 0o600)
                });
            if let Err(e) = made {
                log::warn!("recording {} as lxcbox's: {e:#}", dir.display());
            }
        }
        Err(e) => log::warn!("marking {} as lxcbox's: {e}", dir.display()),
    }
}

/// Whether lxcbox made `dir` (its attribute, or its record).
pub fn is_ours(dir: &Path) -> bool {
    let mut buf = [0u8; 32];
    for name in [TRUSTED, USER] {
        if rustix::fs::getxattr(dir, name, &mut buf).is_ok() {
            return true;
        }
    }
    std::fs::read(record_path(dir)).is_ok_and(|p| p == dir.as_os_str().as_encoded_bytes())
}

/// Forget `dir` (after removing it): drop its record, if it had one.
pub fn forget(dir: &Path) {
    let rec = record_path(dir);
    if rec.exists() {
        let _ = std::fs::remove_file(rec);
    }
}

/// rmdir `dir` if lxcbox made it; true if it is gone.
pub fn remove_if_ours(dir: &Path) -> bool {
    if !is_ours(dir) {
        return false;
    }
    let gone = std::fs::remove_dir(dir).is_ok();
    if gone {
        forget(dir);
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_on_the_directory_or_in_a_record() {
        // A plain directory stands in for a cgroup (tmpfs and most local
        // filesystems keep trusted.* for root; the record covers the rest).
        let d = std::env::temp_dir().join(format!("lxcbox-owner-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("ours")).unwrap();
        std::fs::create_dir_all(d.join("theirs")).unwrap();
        mark(&d.join("ours"));
        assert!(is_ours(&d.join("ours")));
        assert!(!is_ours(&d.join("theirs")));
        assert!(!remove_if_ours(&d.join("theirs")));
        assert!(
            d.join("theirs").exists(),
            "never removes what it did not make"
        );
        assert!(remove_if_ours(&d.join("ours")));
        assert!(!d.join("ours").exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}
