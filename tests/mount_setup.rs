//! Integration tests of the mount layer (need root): a busybox rootfs, the
//! application container, the shared host root, rootfs options, the
//! lxc.mount.auto modes and a static /dev. The container side runs in a
//! child in new PID + mount namespaces (see common/nschild.rs); the
//! assertions on the host side check that nothing leaked.

#[path = "common/nschild.rs"]
mod nschild;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use lxcbox::config::{AutoMode, CgroupAuto, Config, NetDev, NetType};
use lxcbox::mount::bind_into_root;
use nschild::*;
use rootfs::{busybox_rootfs, TempDir};

/// Not a test of its own: the body of the child processes (see nschild).
#[test]
#[ignore]
fn mount_child_entry() {
    child_main(stage2);
}

#[test]
fn busybox_rootfs_full_setup() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TempDir::new("mnt-busybox");
    busybox_rootfs(&t.path().join("rootfs")).unwrap();
    std::fs::create_dir(t.path().join("hostdir")).unwrap();
    std::fs::write(t.path().join("hostdir/file"), "host data\n").unwrap();
    let (ok, kv, out) = run_child("busybox", t.path());
    assert!(ok, "child failed:\n{out}");
    assert_eq!(kv.get("pid").map(String::as_str), Some("1"), "{out}");
    // /proc per mount.auto proc:mixed, /sys per sys:ro.
    assert_eq!(kv["proc_self"], "true", "{out}");
    assert_eq!(kv["proc_ro"], "false", "{out}");
    assert_eq!(kv["proc_sys_ro"], "true", "{out}");
    assert_eq!(kv["proc_sys_net_ro"], "false", "{out}");
    assert_eq!(kv["sys_kernel"], "true", "{out}");
    assert_eq!(kv["sys_ro"], "true", "{out}");
    // autodev.
    assert_eq!(kv["dev_null"], "1:3", "{out}");
    assert_eq!(kv["dev_zero"], "1:5", "{out}");
    assert_eq!(kv["dev_tty"], "5:0", "{out}");
    assert_eq!(kv["dev_ptmx"], "pts/ptmx", "{out}");
    assert_eq!(kv["dev_fd"], "/proc/self/fd", "{out}");
    assert_eq!(kv["dev_pts_ptmx"], "true", "{out}");
    assert_eq!(kv["dev_shm_write"], "ok", "{out}");
    assert_eq!(kv["dev_null_write"], "ok", "{out}");
    // fstab ro bind of a host dir with create=dir: readable, writes fail.
    assert_eq!(kv["ro_read"], "host data", "{out}");
    assert_eq!(kv["ro_write"], "EROFS", "{out}");
    // mount.entry tmpfs with create=dir, optional entry with missing source skipped.
    assert_eq!(kv["tmp_write"], "ok", "{out}");
    assert_eq!(kv["abs_tmpfs"], "true", "{out}");
    assert_eq!(kv["rem_write"], "EROFS", "{out}");
    assert_eq!(kv["optional_mounted"], "false", "{out}");
    // The console-style bind made with bind_into_root.
    assert_eq!(kv["console_bind"], "host data", "{out}");
    // Old root detached: the host's temp dir is not reachable.
    assert_eq!(kv["host_visible"], "false", "{out}");
    // busybox ps in the container sees PID 1 (us) and itself only: no
    // host process is visible.
    let pids: Vec<&str> = kv["ps_pids"].split(',').collect();
    assert_eq!((pids.len(), pids[0]), (2, "1"), "{out}");

    // Host side: file intact, nothing left mounted under our dir, nothing
    // created in the rootfs other than the create=dir / create=file targets.
    assert_eq!(
        std::fs::read_to_string(t.path().join("hostdir/file")).unwrap(),
        "host data\n"
    );
    assert!(host_mounts_under(t.path()).is_empty());
    assert!(t.path().join("rootfs/mnt/ro").is_dir());
    assert!(
        !t.path().join("rootfs/dev/null").exists(),
        "autodev leaked onto the rootfs"
    );
}

#[test]
fn application_container_host_binds() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TempDir::new("mnt-app");
    std::fs::create_dir(t.path().join("rootfs")).unwrap();
    let (ok, kv, out) = run_child("app", t.path());
    assert!(ok, "child failed:\n{out}");
    // A host dynamically linked binary runs from the ro binds.
    assert_eq!(kv["true_status"], "0", "{out}");
    assert_eq!(kv["usr_write"], "EROFS", "{out}");
    assert_eq!(kv["bin_ro"], "true", "{out}");
    assert!(host_mounts_under(t.path()).is_empty());
}

#[test]
fn shared_root_gets_private_proc() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TempDir::new("mnt-shared");
    let (ok, kv, out) = run_child("shared", t.path());
    assert!(ok, "child failed:\n{out}");
    assert_eq!(kv["pid"], "1", "{out}");
    // Only the new PID namespace's processes are in /proc.
    assert_eq!(kv["proc_pids"], "1", "{out}");
    assert_eq!(kv["tmpfs_entry"], "tmpfs", "{out}");
    // The entry mounted on a host path stayed in the private namespace.
    assert!(host_mounts_under(t.path()).is_empty());
    assert!(t.path().join("scratch").is_dir());
}

#[test]
fn rootfs_options_mount_point_and_auto_modes() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TempDir::new("mnt-options");
    busybox_rootfs(&t.path().join("rootfs")).unwrap();
    std::fs::create_dir(t.path().join("rootfs/mnt/bb")).unwrap();
    std::fs::create_dir(t.path().join("mp")).unwrap();
    let (ok, kv, out) = run_child("options", t.path());
    assert!(ok, "child failed:\n{out}");
    // lxc.rootfs.options = ro.
    assert_eq!(kv["root_write"], "EROFS", "{out}");
    // relative bind: the source is the rootfs's own bin/.
    assert_eq!(kv["relative_bind"], "true", "{out}");
    // lxc.autodev.tmpfs.size = 1000000 (bytes, rounded up to pages).
    let size: u64 = kv["dev_size"].parse().unwrap();
    assert!((1_000_000..1_010_000).contains(&size), "{out}");
    // proc:rw leaves /proc/sys writable; sys:mixed: /sys ro.
    assert_eq!(kv["proc_sys_ro"], "false", "{out}");
    assert_eq!(kv["sys_ro"], "true", "{out}");
    assert_eq!(kv["sys_net_ro"], "false", "{out}");
    // cgroup-full:mixed never shows the host's hierarchy: without a cgroup
    // namespace of its own the container sees its own cgroup (writable).
    assert_eq!(kv["cg_tmpfs_ro"], "true", "{out}");
    assert_eq!(kv["cg_hier_ro"], "false", "{out}");
    assert_eq!(kv["cg_hier_is_own"], "true", "{out}");
    assert_eq!(kv["cg_own_has_files"], "true", "{out}");
    assert_eq!(kv["unified_present"], "true", "{out}");
    // The rootfs was mounted at lxc.rootfs.mount; the host rootfs is unchanged.
    assert!(host_mounts_under(t.path()).is_empty());
    assert!(!t.path().join("rootfs/dev/null").exists());
}

#[test]
fn cgroup_ro_shows_only_own_cgroup() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TempDir::new("mnt-cgro");
    busybox_rootfs(&t.path().join("rootfs")).unwrap();
    let (ok, kv, out) = run_child("cgroup_ro", t.path());
    assert!(ok, "child failed:\n{out}");
    assert_eq!(kv["cg_ro"], "true", "{out}");
    assert_eq!(kv["cg_files"], "true", "{out}");
    assert_eq!(kv["cg_same_dir"], "true", "{out}");
}

#[test]
fn shmounts_propagate_from_host_into_container() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TempDir::new("mnt-shmounts");
    busybox_rootfs(&t.path().join("rootfs")).unwrap();
    let (ok, kv, out) = run_child("shmounts_host", t.path());
    assert!(ok, "child failed:\n{out}");
    assert_eq!(kv["host_shared"], "true", "{out}");
    // A mount made on the host side after start shows up inside...
    assert_eq!(kv["propagated_in"], "true", "{out}");
    // ...but one made inside does not leak out.
    assert_eq!(kv["leaked_out"], "false", "{out}");
    assert!(host_mounts_under(t.path()).is_empty());
}

#[test]
fn static_dev_with_devpts_and_shmounts() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TempDir::new("mnt-staticdev");
    let r = t.path().join("rootfs");
    busybox_rootfs(&r).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        r.join("dev/ptmx"),
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::from_raw_mode(0o666),
        rustix::fs::makedev(5, 2),
    )
    .unwrap();
    std::fs::create_dir(t.path().join("shared")).unwrap();
    std::fs::write(t.path().join("shared/f"), "shared\n").unwrap();
    let (ok, kv, out) = run_child("static_dev", t.path());
    assert!(ok, "child failed:\n{out}");
    assert_eq!(kv["ptmx_on_devpts"], "true", "{out}");
    assert_eq!(kv["dev_not_tmpfs"], "true", "{out}");
    assert_eq!(kv["shmounts"], "shared", "{out}");
    assert_eq!(kv["proc_sys_net_ro"], "true", "{out}");
    assert_eq!(kv["sys_net_ro"], "true", "{out}");
    // The rootfs's own device node is untouched (a bind, not a replacement).
    let m = std::fs::symlink_metadata(r.join("dev/ptmx")).unwrap();
    assert!(m.file_type().is_char_device());
    assert!(host_mounts_under(t.path()).is_empty());
}

fn stage2(scenario: &str, dir: &Path) -> anyhow::Result<()> {
    let mut cfg = Config::default();
    cfg.rootfs.path = Some("rootfs".into());
    match scenario {
        "busybox" => {
            cfg.mount_auto.proc = Some(AutoMode::Mixed);
            cfg.mount_auto.sys = Some(AutoMode::Ro);
            std::fs::write(
                dir.join("fstab"),
                format!(
                    "{}/hostdir mnt/ro none ro,bind,create=dir 0 0\n",
                    dir.display()
                ),
            )?;
            cfg.mount_fstab = Some("fstab".into());
            cfg.mount_entries = vec![
                "tmpfs /tmp/scratch tmpfs size=1M,create=dir 0 0".into(),
                format!(
                    "{}/does-not-exist mnt/opt none bind,optional,create=dir 0 0",
                    dir.display()
                ),
                // Absolute target spelled with the host's rootfs path.
                format!(
                    "tmpfs {}/rootfs/mnt/abs tmpfs size=1M,create=dir 0 0",
                    dir.display()
                ),
                "tmpfs /mnt/rem tmpfs size=1M,create=dir 0 0".into(),
                "none /mnt/rem none remount,ro 0 0".into(),
            ];
            let hostfile = dir.join("hostdir/file");
            ctx_run(&cfg, dir, |root| {
                bind_into_root(root, &hostfile, "dev/console", true)
            })?;
            kv("pid", std::process::id());
            kv("proc_self", Path::new("/proc/self/status").exists());
            kv("proc_ro", is_ro("/proc"));
            kv("proc_sys_ro", is_ro("/proc/sys"));
            kv("proc_sys_net_ro", is_ro("/proc/sys/net"));
            kv("sys_kernel", Path::new("/sys/kernel").is_dir());
            kv("sys_ro", is_ro("/sys"));
            kv("dev_null", rdev("/dev/null"));
            kv("dev_zero", rdev("/dev/zero"));
            kv("dev_tty", rdev("/dev/tty"));
            kv("dev_ptmx", std::fs::read_link("/dev/ptmx")?.display());
            kv("dev_fd", std::fs::read_link("/dev/fd")?.display());
            kv("dev_pts_ptmx", Path::new("/dev/pts/ptmx").exists());
            kv("dev_shm_write", errno_of(std::fs::write("/dev/shm/x", "x")));
            kv("dev_null_write", errno_of(std::fs::write("/dev/null", "x")));
            kv("ro_read", std::fs::read_to_string("/mnt/ro/file")?.trim());
            kv("ro_write", errno_of(std::fs::write("/mnt/ro/new", "x")));
            kv("tmp_write", errno_of(std::fs::write("/tmp/scratch/x", "x")));
            let abs = rustix::fs::statfs("/mnt/abs")?;
            kv("abs_tmpfs", abs.f_type as i64 == 0x0102_1994);
            kv("rem_write", errno_of(std::fs::write("/mnt/rem/x", "x")));
            let mi = std::fs::read_to_string("/proc/thread-self/mountinfo")?;
            kv(
                "optional_mounted",
                mi.lines().any(|l| l.split(' ').nth(4) == Some("/mnt/opt")),
            );
            kv(
                "console_bind",
                std::fs::read_to_string("/dev/console")?.trim(),
            );
            kv("host_visible", dir.exists());
            let ps = Command::new("/bin/ps").arg("-o").arg("pid").output()?;
            let pids: Vec<String> = String::from_utf8_lossy(&ps.stdout)
                .lines()
                .skip(1)
                .map(|l| l.trim().to_string())
                .collect();
            kv("ps_pids", pids.join(","));
        }
        "app" => {
            // The classic sshd-style application container: host /bin /lib
            // /usr /sbin read-only in an empty rootfs.
            cfg.mount_auto.proc = Some(AutoMode::Mixed);
            for d in ["bin", "lib", "lib64", "sbin", "usr"] {
                let opt = if d == "lib64" { ",optional" } else { "" };
                cfg.mount_entries
                    .push(format!("/{d} {d} none ro,bind,create=dir{opt} 0 0"));
            }
            ctx_run(&cfg, dir, |_| Ok(()))?;
            let st = Command::new("/bin/true").status()?;
            kv("true_status", st.code().unwrap_or(-1));
            kv(
                "usr_write",
                errno_of(std::fs::write("/usr/lxcbox-test", "x")),
            );
            kv("bin_ro", is_ro("/bin"));
        }
        "shared" => {
            cfg.rootfs.path = None;
            let scratch = dir.join("scratch");
            cfg.mount_entries = vec![format!(
                "tmpfs {} tmpfs size=1M,create=dir 0 0",
                scratch.display()
            )];
            ctx_run(&cfg, dir, |_| Ok(()))?;
            kv("pid", std::process::id());
            let pids: Vec<String> = std::fs::read_dir("/proc")?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
                .collect();
            kv("proc_pids", pids.join(","));
            let fs = rustix::fs::statfs(&scratch)?;
            kv(
                "tmpfs_entry",
                if fs.f_type as i64 == 0x0102_1994 {
                    "tmpfs"
                } else {
                    "other"
                },
            );
        }
        "options" => {
            cfg.rootfs.options = Some("ro".into());
            cfg.rootfs.mount = Some(dir.join("mp").display().to_string());
            cfg.autodev_tmpfs_size = Some(1_000_000);
            cfg.mount_auto.proc = Some(AutoMode::Rw);
            cfg.mount_auto.sys = Some(AutoMode::Mixed);
            cfg.mount_auto.cgroup = Some(CgroupAuto {
                full: true,
                mode: Some(AutoMode::Mixed),
                force: false,
            });
            cfg.mount_entries = vec!["bin mnt/bb none bind,ro,relative 0 0".into()];
            let own = own_memory_cgroup()?;
            let own_host = PathBuf::from("/sys/fs/cgroup/memory").join(own.trim_start_matches('/'));
            let own_ino = std::fs::metadata(&own_host)?.ino();
            let paths = vec![
                ("memory".to_string(), own_host),
                (
                    "unified".to_string(),
                    PathBuf::from("/sys/fs/cgroup/unified"),
                ),
            ];
            ctx_run_cg(&cfg, dir, paths, |_| Ok(()))?;
            kv("root_write", errno_of(std::fs::write("/x", "x")));
            kv("relative_bind", Path::new("/mnt/bb/busybox").is_file());
            let st = rustix::fs::statvfs("/dev")?;
            kv("dev_size", st.f_blocks * st.f_frsize);
            kv("proc_sys_ro", is_ro("/proc/sys"));
            kv("sys_ro", is_ro("/sys"));
            kv("sys_net_ro", is_ro("/sys/devices/virtual/net"));
            kv("cg_tmpfs_ro", is_ro("/sys/fs/cgroup"));
            kv("cg_hier_ro", is_ro("/sys/fs/cgroup/memory"));
            kv(
                "cg_hier_is_own",
                std::fs::metadata("/sys/fs/cgroup/memory")?.ino() == own_ino,
            );
            kv(
                "cg_own_has_files",
                Path::new("/sys/fs/cgroup/memory/memory.usage_in_bytes").exists(),
            );
            kv(
                "unified_present",
                Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists(),
            );
        }
        "cgroup_ro" => {
            cfg.mount_auto.sys = Some(AutoMode::Rw);
            cfg.mount_auto.cgroup = Some(CgroupAuto {
                full: false,
                mode: Some(AutoMode::Ro),
                force: false,
            });
            let own = own_memory_cgroup()?;
            let host = PathBuf::from("/sys/fs/cgroup/memory").join(own.trim_start_matches('/'));
            let host_ino = std::fs::metadata(&host)?.ino();
            ctx_run_cg(&cfg, dir, vec![("memory".to_string(), host)], |_| Ok(()))?;
            kv("cg_ro", is_ro("/sys/fs/cgroup/memory"));
            kv(
                "cg_files",
                Path::new("/sys/fs/cgroup/memory/memory.usage_in_bytes").exists(),
            );
            kv(
                "cg_same_dir",
                std::fs::metadata("/sys/fs/cgroup/memory")?.ino() == host_ino,
            );
        }
        "shmounts_host" => {
            // This process's mount namespace plays the host.
            use rustix::fs::{open, Mode, OFlags};
            use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};
            let shm = dir.join("shm");
            let rootfs = dir.join("rootfs");
            cfg.autodev = Some(false);
            cfg.mount_auto.shmounts = Some((shm.display().to_string(), Some("/mnt/shared".into())));
            lxcbox::mount::prepare_shmounts(&cfg)?;
            let mi = std::fs::read_to_string("/proc/thread-self/mountinfo")?;
            let shm_s = shm.display().to_string();
            kv(
                "host_shared",
                mi.lines()
                    .any(|l| l.split(' ').nth(4) == Some(shm_s.as_str()) && l.contains(" shared:")),
            );
            let ns = |p: &str| open(p, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty());
            let host_ns = ns("/proc/thread-self/ns/mnt")?;
            // Safety net: what plays the host here must not be the real host.
            anyhow::ensure!(
                thread_mnt_ns() != host_mnt_ns(),
                "in the host mount namespace"
            );
            lxcbox::sys::mount::unshare_mount_ns()?;
            let ctx = lxcbox::mount::MountCtx {
                cfg: &cfg,
                name: "t",
                lxcpath: dir,
                container_dir: dir,
                cgroup_paths: vec![],
                own_netns: false,
                own_cgroupns: false,
                idmapped_root: None,
            };
            let _root = lxcbox::mount::setup_mounts(&ctx)?;
            let cont_ns = ns("/proc/thread-self/ns/mnt")?;
            // Host side mounts something under the shared dir.
            move_into_link_name_space(host_ns.as_fd(), Some(LinkNameSpaceType::Mount))?;
            anyhow::ensure!(
                thread_mnt_ns() != host_mnt_ns(),
                "in the host mount namespace"
            );
            std::fs::create_dir_all(shm.join("late"))?;
            rustix::mount::mount(
                "tmpfs",
                shm.join("late"),
                "tmpfs",
                rustix::mount::MountFlags::empty(),
                None,
            )?;
            std::fs::write(shm.join("late/f"), "late")?;
            // Container side.
            move_into_link_name_space(cont_ns.as_fd(), Some(LinkNameSpaceType::Mount))?;
            anyhow::ensure!(
                thread_mnt_ns() != host_mnt_ns(),
                "in the host mount namespace"
            );
            kv("propagated_in", rootfs.join("mnt/shared/late/f").exists());
            std::fs::create_dir_all(rootfs.join("mnt/shared/inner"))?;
            rustix::mount::mount(
                "tmpfs",
                rootfs.join("mnt/shared/inner"),
                "tmpfs",
                rustix::mount::MountFlags::empty(),
                None,
            )?;
            std::fs::write(rootfs.join("mnt/shared/inner/g"), "g")?;
            move_into_link_name_space(host_ns.as_fd(), Some(LinkNameSpaceType::Mount))?;
            kv("leaked_out", shm.join("inner/g").exists());
        }
        "static_dev" => {
            cfg.autodev = Some(false);
            cfg.pty_max = Some(8);
            // lxc.net.0.type = none: the host's network namespace, so the
            // mixed modes keep its net files read-only too.
            cfg.net.push(NetDev {
                kind: NetType::None,
                ..Default::default()
            });
            cfg.mount_auto.proc = Some(AutoMode::Mixed);
            cfg.mount_auto.sys = Some(AutoMode::Mixed);
            cfg.mount_auto.shmounts = Some((
                dir.join("shared").display().to_string(),
                Some("/mnt/shared".into()),
            ));
            ctx_run(&cfg, dir, |_| Ok(()))?;
            let pts = std::fs::metadata("/dev/pts")?.dev();
            kv(
                "ptmx_on_devpts",
                std::fs::metadata("/dev/ptmx")?.dev() == pts,
            );
            let fs = rustix::fs::statfs("/dev")?;
            kv("dev_not_tmpfs", fs.f_type as i64 != 0x0102_1994);
            kv("shmounts", std::fs::read_to_string("/mnt/shared/f")?.trim());
            kv("proc_sys_net_ro", is_ro("/proc/sys/net"));
            kv("sys_net_ro", is_ro("/sys/devices/virtual/net"));
        }
        other => anyhow::bail!("unknown scenario {other}"),
    }
    Ok(())
}
