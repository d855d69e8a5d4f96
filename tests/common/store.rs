//! Helpers for the container-store tests (templates, copies, snapshots):
//! names unique on the host, busybox containers made by lxcbox's own
//! lxc-create, tree listings to compare rootfs trees byte for byte, and a
//! btrfs filesystem on a loop device.
//!
//! Include with `#[path = "common/store.rs"] mod store;` (needs env.rs).
#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use super::env::{stderr, stdout, Env};

/// A container name unique on this host (payload cgroups are global).
pub fn uniq(tag: &str) -> String {
    format!("st-{tag}-{}", std::process::id())
}

/// Run an applet that must succeed; its stdout.
pub fn ok(e: &Env, applet: &str, args: &[&str]) -> String {
    let o = e.run(applet, args);
    assert!(
        o.status.success(),
        "{applet} {args:?} failed ({:?}): {}{}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Run an applet that must fail with exit status 1; its stderr.
pub fn fails(e: &Env, applet: &str, args: &[&str]) -> String {
    let o: Output = e.run(applet, args);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{applet} {args:?} should fail: {}{}",
        stdout(&o),
        stderr(&o)
    );
    stderr(&o)
}

/// The base config for test containers: the host's default.conf wants an
/// lxcbr0 bridge; and the busybox template's rcS runs udhcpc, which must
/// never see the host's interfaces (its script flushes their addresses):
/// an own, empty network namespace.
pub fn base_conf(e: &Env) -> String {
    let p = e.root.join("base.conf");
    if !p.exists() {
        std::fs::write(&p, "lxc.net.0.type = empty\n").unwrap();
    }
    p.to_string_lossy().into_owned()
}

/// `lxc-create -t busybox` (built-in unless a script is installed) with
/// an empty base config, plus `extra` arguments.
pub fn create_bb(e: &Env, name: &str, extra: &[&str]) {
    let base = base_conf(e);
    let mut args = vec!["-n", name, "-t", "busybox", "-f", &base];
    args.extend_from_slice(extra);
    ok(e, "lxc-create", &args);
}

/// Start a container (daemonised) and check a command runs in it.
pub fn start_and_attach(e: &Env, name: &str) {
    ok(e, "lxc-start", &["-n", name]);
    ok(e, "lxc-attach", &["-n", name, "--", "busybox", "true"]);
}

/// One line per entry below `root`: path, type and mode, owner, group,
/// link count, size, and the symlink target or a hash of the contents.
/// Times are left out (they differ between any two runs).
pub fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, Path::new(""), &mut out);
    out.sort();
    out
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<String>) {
    let dir = root.join(rel);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in rd.flatten() {
        let r = rel.join(e.file_name());
        let p = root.join(&r);
        let md = std::fs::symlink_metadata(&p).unwrap();
        let what = if md.file_type().is_symlink() {
            format!("-> {}", std::fs::read_link(&p).unwrap().display())
        } else if md.is_file() {
            let mut h = DefaultHasher::new();
            std::fs::read(&p).unwrap().hash(&mut h);
            format!("{:016x}", h.finish())
        } else if md.file_type().is_dir() {
            String::new()
        } else {
            format!("rdev {}", md.rdev())
        };
        let size = if md.is_dir() { 0 } else { md.size() };
        out.push(format!(
            "{} {:o} {}:{} n{} {} {}",
            r.display(),
            md.mode(),
            md.uid(),
            md.gid(),
            if md.is_dir() { 0 } else { md.nlink() },
            size,
            what
        ));
        if md.is_dir() {
            walk(root, &r, out);
        }
    }
}

/// The mode bits of a path.
pub fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// True when real LXC's tools are installed (side-by-side checks).
pub fn have_lxc() -> bool {
    Path::new("/usr/bin/lxc-create").exists() && Path::new("/usr/bin/lxc-snapshot").exists()
}

/// Run one of real LXC's tools with `-P lxcpath`.
pub fn lxc(lxcpath: &str, tool: &str, args: &[&str]) -> Output {
    std::process::Command::new(format!("/usr/bin/{tool}"))
        .arg("-P")
        .arg(lxcpath)
        .args(args)
        .output()
        .unwrap()
}

/// A btrfs filesystem on a loop device, mounted at `mnt` for the test's
/// lifetime (mkfs.btrfs is a test-only host tool; the loop device and the
/// mount are lxcbox's own code).
pub struct Btrfs {
    pub mnt: PathBuf,
    image: PathBuf,
}

impl Btrfs {
    /// `None` when mkfs.btrfs or the btrfs module is missing.
    pub fn new(dir: &Path) -> Option<Btrfs> {
        let image = dir.join("btrfs.img");
        let mnt = dir.join("btrfs");
        std::fs::create_dir_all(&mnt).unwrap();
        let f = std::fs::File::create(&image).unwrap();
        f.set_len(300 << 20).unwrap();
        drop(f);
        let mk = std::process::Command::new("mkfs.btrfs")
            .args(["-q", "-f"])
            .arg(&image)
            .output()
            .ok()?;
        if !mk.status.success() {
            eprintln!(
                "skipped: mkfs.btrfs failed: {}",
                String::from_utf8_lossy(&mk.stderr)
            );
            return None;
        }
        let dev = lxcbox::storage::loopfile::attach(&image, false).unwrap();
        let r = rustix::mount::mount(
            &dev.path,
            &mnt,
            "btrfs",
            rustix::mount::MountFlags::empty(),
            None,
        );
        if let Err(e) = r {
            eprintln!("skipped: cannot mount btrfs: {e}");
            return None;
        }
        drop(dev);
        Some(Btrfs { mnt, image })
    }
}

impl Drop for Btrfs {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.mnt, rustix::mount::UnmountFlags::DETACH);
        let _ = std::fs::remove_file(&self.image);
    }
}

/// The loop devices bound to `image` right now.
pub fn loops_of(image: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/sys/block").unwrap().flatten() {
        let bf = e.path().join("loop/backing_file");
        if let Ok(s) = std::fs::read_to_string(&bf) {
            if Path::new(s.trim()) == image {
                v.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    v
}

/// The filesystem type of `/` inside a running container.
pub fn root_fstype(e: &Env, name: &str) -> String {
    let m = ok(
        e,
        "lxc-attach",
        &["-n", name, "--", "cat", "/proc/self/mounts"],
    );
    m.lines()
        .find(|l| l.split_whitespace().nth(1) == Some("/"))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_default()
        .to_string()
}
