//! Hostile root filesystems (need root): symlinks at mount targets, `..`
//! in entries, /proc or /dev as symlinks. Each must fail with an error that
//! names the step and the path, and leave the host untouched (asserted from
//! the host side).

#[path = "common/nschild.rs"]
mod nschild;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::os::unix::fs::symlink;
use std::path::Path;

use lxcbox::config::{AutoMode, Config};
use nschild::*;
use rootfs::{busybox_rootfs, TempDir};

/// Not a test of its own: the body of the child processes (see nschild).
#[test]
#[ignore]
fn mount_child_entry() {
    child_main(stage2);
}

/// Each hostile rootfs must fail with a clear error and leave `victim`
/// (a host directory the rootfs points at) untouched.
fn hostile(scenario: &str, expect: &str) {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TempDir::new(&format!("mnt-{scenario}"));
    busybox_rootfs(&t.path().join("rootfs")).unwrap();
    std::fs::create_dir(t.path().join("victim")).unwrap();
    let etc_before = host_mountinfo_etc();
    let (ok, kv, out) = run_child(scenario, t.path());
    assert!(!ok, "hostile rootfs was accepted:\n{out}");
    let err = kv
        .get("error")
        .unwrap_or_else(|| panic!("no error reported:\n{out}"));
    assert!(err.contains(expect), "error {err:?} lacks {expect:?}");
    eprintln!("{scenario}: {err}");
    assert!(
        err.contains(&t.path().join("rootfs").display().to_string()),
        "error names no path: {err}"
    );
    assert_eq!(
        std::fs::read_dir(t.path().join("victim")).unwrap().count(),
        0,
        "host dir written through the rootfs"
    );
    assert_eq!(host_mountinfo_etc(), etc_before);
    assert!(host_mounts_under(t.path()).is_empty());
}

#[test]
fn hostile_symlink_target_to_host_etc() {
    hostile("hostile_etc", "is a symlink");
}

#[test]
fn hostile_symlink_create_into_host_dir() {
    hostile("hostile_create", "is a symlink");
}

#[test]
fn hostile_dotdot_entry() {
    hostile("hostile_dotdot", "'..'");
}

#[test]
fn hostile_proc_symlink() {
    hostile("hostile_proc", "mounting /proc on");
}

#[test]
fn hostile_dev_symlink() {
    hostile("hostile_dev", "is a symlink");
}

#[test]
fn hostile_console_symlink_for_bind_into_root() {
    hostile("hostile_console", "is a symlink");
}

#[test]
fn hostile_relative_source_symlink() {
    hostile("hostile_relsrc", "is a symlink");
}

fn stage2(scenario: &str, dir: &Path) -> anyhow::Result<()> {
    let rootfs = dir.join("rootfs");
    let mut cfg = Config::default();
    cfg.rootfs.path = Some("rootfs".into());
    match scenario {
        "hostile_etc" => {
            std::fs::remove_dir(rootfs.join("mnt"))?;
            symlink("/etc", rootfs.join("mnt"))?;
            cfg.mount_entries = vec!["tmpfs mnt tmpfs size=1M 0 0".into()];
            ctx_run(&cfg, dir, |_| Ok(()))?;
        }
        "hostile_create" => {
            std::fs::remove_dir(rootfs.join("mnt"))?;
            symlink(dir.join("victim"), rootfs.join("mnt"))?;
            cfg.mount_entries = vec![format!(
                "{}/rootfs/etc mnt/x/y none bind,create=file 0 0",
                dir.display()
            )];
            ctx_run(&cfg, dir, |_| Ok(()))?;
        }
        "hostile_dotdot" => {
            cfg.mount_entries = vec!["tmpfs ../victim/x tmpfs create=dir 0 0".into()];
            ctx_run(&cfg, dir, |_| Ok(()))?;
        }
        "hostile_proc" => {
            std::fs::remove_dir(rootfs.join("proc"))?;
            symlink(dir.join("victim"), rootfs.join("proc"))?;
            cfg.mount_auto.proc = Some(AutoMode::Mixed);
            ctx_run(&cfg, dir, |_| Ok(()))?;
        }
        "hostile_dev" => {
            std::fs::remove_dir(rootfs.join("dev"))?;
            symlink(dir.join("victim"), rootfs.join("dev"))?;
            ctx_run(&cfg, dir, |_| Ok(()))?;
        }
        "hostile_console" => {
            // Static /dev whose console points out of the rootfs: the
            // console bind the launch pipeline makes must refuse it (and
            // not create the file on the host).
            cfg.autodev = Some(false);
            symlink(dir.join("victim/console"), rootfs.join("dev/console"))?;
            let src = rootfs.join("etc/hostname");
            ctx_run(&cfg, dir, |root| {
                lxcbox::mount::bind_into_root(root, &src, "/dev/console", true)
            })?;
        }
        "hostile_relsrc" => {
            // A `relative` bind source that is a symlink to the host.
            symlink("/etc", rootfs.join("evil"))?;
            cfg.mount_entries = vec!["evil mnt none bind,relative 0 0".into()];
            ctx_run(&cfg, dir, |_| Ok(()))?;
        }
        other => anyhow::bail!("unknown scenario {other}"),
    }
    Ok(())
}
