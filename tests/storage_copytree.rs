//! The rootfs copy engine (lxcbox::storage::copy) as root: everything a
//! rootfs holds survives (owners, modes with set-id bits, timestamps,
//! user/trusted/security xattrs, POSIX ACLs, file capabilities, device
//! nodes, fifos, sockets, symlinks, hard links, sparse files), a symlink is
//! never followed, a mount point is not descended into, and a cancel stops
//! the copy.

#[path = "common/rootfs.rs"]
mod rootfs;

use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use lxcbox::storage::copy::copy_dir;
use rootfs::TempDir;
use rustix::fs::{FileType, Mode, XattrFlags};

/// A POSIX ACL xattr value: user::rw-, user:1000:r--, group::r--,
/// mask::r--, other::--- (linux/posix_acl_xattr.h, version 2).
fn acl() -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 4, 1000),
        (0x04, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}

/// A file capability (cap_net_raw+ep), VFS_CAP_REVISION_2.
fn fcap() -> Vec<u8> {
    let mut v = (0x0200_0000u32 | 1).to_le_bytes().to_vec(); // revision 2, effective
    v.extend_from_slice(&(1u32 << 13).to_le_bytes()); // permitted: CAP_NET_RAW
    v.extend_from_slice(&0u32.to_le_bytes()); // inheritable
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v
}

fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    match rustix::fs::lgetxattr(p, name, &mut buf) {
        Ok(n) => {
            buf.truncate(n);
            Some(buf)
        }
        Err(_) => None,
    }
}

fn build(src: &Path) {
    std::fs::create_dir_all(src.join("d/sub")).unwrap();
    std::fs::write(src.join("d/sub/plain"), "hello").unwrap();
    // owner, set-id mode
    let f = src.join("suid");
    std::fs::write(&f, "x").unwrap();
    rustix::fs::chown(
        &f,
        Some(rustix::fs::Uid::from_raw(1234)),
        Some(rustix::fs::Gid::from_raw(5678)),
    )
    .unwrap();
    rustix::fs::chmod(&f, Mode::from_raw_mode(0o6751)).unwrap();
    // a directory with its own owner and sticky mode
    rustix::fs::chown(
        src.join("d"),
        Some(rustix::fs::Uid::from_raw(7)),
        Some(rustix::fs::Gid::from_raw(8)),
    )
    .unwrap();
    rustix::fs::chmod(src.join("d"), Mode::from_raw_mode(0o1770)).unwrap();
    // xattrs, ACL, capability
    let x = src.join("xattrs");
    std::fs::write(&x, "x").unwrap();
    rustix::fs::lsetxattr(&x, "user.note", b"kept", XattrFlags::empty()).unwrap();
    rustix::fs::lsetxattr(&x, "trusted.t", b"t", XattrFlags::empty()).unwrap();
    rustix::fs::lsetxattr(&x, "system.posix_acl_access", &acl(), XattrFlags::empty()).unwrap();
    let cap = src.join("ping");
    std::fs::write(&cap, "x").unwrap();
    rustix::fs::lsetxattr(&cap, "security.capability", &fcap(), XattrFlags::empty()).unwrap();
    // device nodes, fifo, socket
    rustix::fs::mknodat(
        rustix::fs::CWD,
        src.join("null"),
        FileType::CharacterDevice,
        Mode::from_raw_mode(0o666),
        rustix::fs::makedev(1, 3),
    )
    .unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        src.join("loopX"),
        FileType::BlockDevice,
        Mode::from_raw_mode(0o660),
        rustix::fs::makedev(7, 200),
    )
    .unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        src.join("fifo"),
        FileType::Fifo,
        Mode::from_raw_mode(0o640),
        0,
    )
    .unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(src.join("sock")).unwrap();
    // symlinks (one pointing out of the tree, one dangling)
    symlink("/etc/passwd", src.join("out")).unwrap();
    symlink("nowhere", src.join("dangling")).unwrap();
    rustix::fs::chownat(
        rustix::fs::CWD,
        src.join("out"),
        Some(rustix::fs::Uid::from_raw(42)),
        Some(rustix::fs::Gid::from_raw(43)),
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
    // hard links, across directories
    std::fs::write(src.join("h1"), "linked").unwrap();
    std::fs::hard_link(src.join("h1"), src.join("d/sub/h2")).unwrap();
    std::fs::hard_link(src.join("h1"), src.join("h3")).unwrap();
    // a sparse file: 64 MiB with two 4 KiB data blocks
    let sp = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(src.join("sparse"))
        .unwrap();
    rustix::io::pwrite(&sp, &[7u8; 4096], 0).unwrap();
    rustix::io::pwrite(&sp, &[9u8; 4096], 32 << 20).unwrap();
    sp.set_len(64 << 20).unwrap();
    drop(sp);
    // timestamps
    let t = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 1_000_000_000,
            tv_nsec: 123,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: 1_100_000_000,
            tv_nsec: 456_789,
        },
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        src.join("d/sub/plain"),
        &t,
        rustix::fs::AtFlags::empty(),
    )
    .unwrap();
    rustix::fs::utimensat(
        rustix::fs::CWD,
        src.join("out"),
        &t,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

#[test]
fn copy_keeps_everything() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TempDir::new("copytree");
    let (src, dst) = (t.path().join("src"), t.path().join("dst"));
    build(&src);
    std::fs::create_dir(&dst).unwrap();
    let st = copy_dir(&src, &dst, None).unwrap();
    assert!(st.files >= 12, "{st:?}");
    assert_eq!(st.links, 2, "{st:?}");
    let md = |p: &str| std::fs::symlink_metadata(dst.join(p)).unwrap();
    let smd = |p: &str| std::fs::symlink_metadata(src.join(p)).unwrap();
    for p in [
        "suid",
        "d",
        "d/sub",
        "d/sub/plain",
        "null",
        "loopX",
        "fifo",
        "sock",
        "out",
        "dangling",
        "h1",
        "sparse",
        "xattrs",
        "ping",
    ] {
        let (a, b) = (smd(p), md(p));
        assert_eq!(
            (a.mode(), a.uid(), a.gid(), a.rdev()),
            (b.mode(), b.uid(), b.gid(), b.rdev()),
            "{p}"
        );
        if !a.is_dir() {
            assert_eq!(
                (a.size(), a.mtime(), a.mtime_nsec()),
                (b.size(), b.mtime(), b.mtime_nsec()),
                "{p}"
            );
        }
    }
    assert_eq!(md("suid").mode() & 0o7777, 0o6751);
    assert_eq!(md("d/sub/plain").atime(), 1_000_000_000);
    assert_eq!(
        std::fs::read_link(dst.join("out")).unwrap(),
        Path::new("/etc/passwd")
    );
    assert_eq!(
        std::fs::read_link(dst.join("dangling")).unwrap(),
        Path::new("nowhere")
    );
    // hard links stay one inode
    assert_eq!(md("h1").ino(), md("d/sub/h2").ino());
    assert_eq!(md("h1").ino(), md("h3").ino());
    assert_eq!(md("h1").nlink(), 3);
    // xattrs, ACL, capability
    for (p, n) in [
        ("xattrs", "user.note"),
        ("xattrs", "trusted.t"),
        ("xattrs", "system.posix_acl_access"),
        ("ping", "security.capability"),
    ] {
        assert_eq!(xattr(&dst.join(p), n), xattr(&src.join(p), n), "{p} {n}");
        assert!(xattr(&dst.join(p), n).is_some(), "{p} {n} missing");
    }
    // sparse: same content, about as few blocks
    assert_eq!(
        std::fs::read(dst.join("sparse")).unwrap(),
        std::fs::read(src.join("sparse")).unwrap()
    );
    assert!(
        md("sparse").blocks() <= smd("sparse").blocks() + 16,
        "holes filled: {} blocks",
        md("sparse").blocks()
    );
    assert!(md("sparse").blocks() < 1024);
    // the symlink's target on the host was not touched
    assert_ne!(std::fs::symlink_metadata("/etc/passwd").unwrap().uid(), 42);
}

#[test]
fn mount_points_are_not_entered_and_cancel_stops() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let t = TempDir::new("copymnt");
    let (src, dst) = (t.path().join("src"), t.path().join("dst"));
    std::fs::create_dir_all(src.join("proc")).unwrap();
    std::fs::write(src.join("f"), "f").unwrap();
    // A tmpfs mounted inside the source stands for a leftover bind mount.
    rustix::mount::mount(
        "tmpfs",
        src.join("proc"),
        "tmpfs",
        rustix::mount::MountFlags::empty(),
        None,
    )
    .unwrap();
    std::fs::write(src.join("proc/inside"), "host data").unwrap();
    std::fs::create_dir(&dst).unwrap();
    let r = copy_dir(&src, &dst, None);
    let _ = rustix::mount::unmount(src.join("proc"), rustix::mount::UnmountFlags::DETACH);
    r.unwrap();
    assert!(dst.join("proc").is_dir());
    assert!(!dst.join("proc/inside").exists());
    assert!(dst.join("f").exists());
    // A cancelled copy stops with "interrupted".
    let cancel = AtomicBool::new(true);
    let d2 = t.path().join("dst2");
    std::fs::create_dir(&d2).unwrap();
    let e = copy_dir(&src, &d2, Some(&cancel)).unwrap_err();
    assert!(format!("{e:#}").contains("interrupted"), "{e:#}");
}
