//! Files lxcbox writes (issue 19): lxc-update-config on a full disk must
//! leave the old config intact, and every file lxcbox writes goes through
//! one write-then-rename helper (lxcbox::fsutil), checked by reading the
//! sources.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::io::Write;
use std::path::{Path, PathBuf};

use env::stderr;
use rootfs::TempDir;

/// A small tmpfs mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    fn new(tag: &str, size: &str) -> Tmpfs {
        use rustix::mount::{mount, MountFlags};
        let dir = TempDir::new(tag);
        let data = std::ffi::CString::new(format!("size={size},mode=755")).unwrap();
        mount(
            "lxcbox-test",
            dir.path(),
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV,
            data.as_c_str(),
        )
        .expect("mounting a tmpfs");
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(self.dir.path(), rustix::mount::UnmountFlags::DETACH);
    }
}

fn update_config(cfg: &Path) -> std::process::Output {
    std::process::Command::new(env::bin())
        .args(["lxc-update-config", "-c"])
        .arg(cfg)
        .output()
        .unwrap()
}

/// Fill the filesystem with one-page files until it is full; their paths.
fn fill(dir: &Path) -> Vec<PathBuf> {
    let page = [b'f'; 4096];
    let mut files = Vec::new();
    for i in 0.. {
        let p = dir.join(format!("filler{i}"));
        let ok = std::fs::File::create(&p)
            .and_then(|mut f| f.write_all(&page).and_then(|_| f.sync_all()))
            .is_ok();
        if !ok {
            let _ = std::fs::remove_file(&p);
            break;
        }
        files.push(p);
    }
    files
}

#[test]
fn update_config_on_a_full_tmpfs_keeps_the_old_file() {
    let fs = Tmpfs::new("hfull", "512k");
    let cfg = fs.path().join("config");
    // lxc.aa_profile becomes lxc.apparmor.profile: the new text is a
    // fifth longer, a few pages more.
    let mut old = String::from("# a legacy config\nlxc.utsname = full\n");
    for _ in 0..2000 {
        old.push_str("lxc.aa_profile = unconfined\n");
    }
    std::fs::write(&cfg, &old).unwrap();
    let old_pages = old.len().div_ceil(4096);
    let fillers = fill(fs.path());
    // Room for the backup (as many pages as the old file, plus one) but
    // not for the new text as well: an in-place rewrite would truncate
    // the config and fail half-way through writing it.
    for f in fillers.iter().take(old_pages + 1) {
        std::fs::remove_file(f).unwrap();
    }
    let o = update_config(&cfg);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("No space left on device"),
        "{}",
        stderr(&o)
    );
    let now = std::fs::read(&cfg).unwrap();
    assert!(
        now == old.as_bytes(),
        "the config was damaged: {} of its {} bytes left",
        now.len(),
        old.len()
    );
    let leftovers: Vec<String> = std::fs::read_dir(fs.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // With room again, the update goes through and the backup is the old text.
    for f in &fillers {
        let _ = std::fs::remove_file(f);
    }
    let o = update_config(&cfg);
    assert!(o.status.success(), "{}", stderr(&o));
    let new = std::fs::read_to_string(&cfg).unwrap();
    assert!(new.contains("lxc.apparmor.profile = unconfined"), "{new}");
    assert!(!new.contains("lxc.aa_profile"), "{new}");
    assert_eq!(
        std::fs::read_to_string(fs.path().join("config.backup")).unwrap(),
        old
    );
}

#[test]
fn update_config_keeps_invalid_utf8_comments_byte_for_byte() {
    let d = TempDir::new("hutf8");
    let cfg = d.path().join("config");
    let old: &[u8] = b"# caf\xe9\nlxc.utsname = u\n";
    std::fs::write(&cfg, old).unwrap();
    let o = update_config(&cfg);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&cfg).unwrap(),
        b"# caf\xe9\nlxc.uts.name = u\n"
    );
    assert_eq!(std::fs::read(d.path().join("config.backup")).unwrap(), old);
}

/// Where lxcbox's sources may open files for writing without
/// lxcbox::fsutil, each with how many such calls and why. Anything else
/// that writes a file must use the helper: a new raw write (here or in
/// any other file) fails this test.
const RAW_WRITES: &[(&str, usize, &str)] = &[
    (
        "src/fsutil.rs",
        2,
        "the helper itself, and open_lock_file for files LXC locks too (its container lock, /run/lxc/nics: edited in place, a rename would lose LXC's lock)",
    ),
    ("src/start/lock.rs", 1, "an empty lock file (flock)"),
    (
        "src/sys/resolve.rs",
        1,
        "O_CREAT of the openat2 fallback walk itself (callers choose the file)",
    ),
    (
        "src/mount/stage.rs",
        1,
        "an empty mount-point file in the private staging tmpfs",
    ),
    (
        "src/store/mod.rs",
        1,
        "the empty, locked `partial` marker of lxc-create",
    ),
    (
        "src/start/child.rs",
        3,
        "kernel files: /proc/sys, /proc/self, timens_offsets",
    ),
    (
        "src/start/cgroups.rs",
        2,
        "kernel files: cgroup settings, cgroup.procs",
    ),
    ("src/start/launch.rs", 1, "kernel files: cgroup.procs"),
    ("src/lxcnet/mod.rs", 1, "kernel files: /proc/sys/net"),
    (
        "src/userns/mod.rs",
        2,
        "kernel files: /proc/PID/uid_map, gid_map, setgroups",
    ),
    ("src/lsm/mod.rs", 1, "kernel files: /proc/self/attr"),
    ("src/log.rs", 1, "the log file (appended to)"),
    (
        "src/console/logfile.rs",
        1,
        "the console log (appended to, rotated by rename)",
    ),
    (
        "src/console/hub/mod.rs",
        1,
        "lxc.console.path (a device, or a log appended to)",
    ),
    ("src/attach/term.rs", 1, "lxc-attach -L (a log appended to)"),
    (
        "src/mount/resolve.rs",
        1,
        "an empty mount-point file for a bind mount",
    ),
    (
        "src/storage/loopfile.rs",
        2,
        "a loop image (sparse, removed whole when creation fails)",
    ),
    (
        "src/storage/copy.rs",
        1,
        "the copy engine (a new tree, removed whole when the copy fails)",
    ),
];

const PATTERNS: &[&str] = &[
    "fs::write(",
    "File::create(",
    "OpenOptions::new()",
    "OFlags::CREATE",
    "fs::copy(",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_file_is_written_through_the_helper() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("applets"), &mut files);
    let mut problems = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(f).unwrap();
        // Unit tests (at the end of a file) write fixtures as they like.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let hits: Vec<String> = code
            .lines()
            .enumerate()
            .filter(|(_, l)| {
                !l.trim_start().starts_with("//") && PATTERNS.iter().any(|p| l.contains(p))
            })
            .map(|(i, l)| format!("{rel}:{}: {}", i + 1, l.trim()))
            .collect();
        let allowed = RAW_WRITES
            .iter()
            .find(|(p, _, _)| *p == rel)
            .map_or(0, |(_, n, _)| *n);
        if hits.len() != allowed {
            problems.push(format!(
                "{rel}: {} raw file writes, {allowed} allowed:\n  {}",
                hits.len(),
                hits.join("\n  ")
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "write files through lxcbox::fsutil (or add a reasoned entry to RAW_WRITES):\n{}",
        problems.join("\n")
    );
}
