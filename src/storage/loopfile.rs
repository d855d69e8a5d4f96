//! loop backing stores: an image file holding a filesystem.
//!
//! Creating one needs a filesystem creator. lxcbox runs `mkfs.<fstype>
//! IMAGE` exactly as LXC does: writing ext4 (or xfs, btrfs) metadata is a
//! filesystem implementation of its own, and no small, well-kept library
//! does it. Everything else (attaching the loop device, detecting the
//! filesystem, mounting) uses kernel interfaces only. A missing mkfs gives
//! an error naming the program and its package; an image made elsewhere
//! (`lxc.rootfs.path = loop:/path/img`) needs no mkfs at all.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::sys::loopdev::{self, LoopDevice};

/// LXC's defaults for a new image: 1 GiB of ext4.
pub const DEFAULT_SIZE: u64 = 1 << 30;
pub const DEFAULT_FSTYPE: &str = "ext4";

/// Create the sparse image `path` of `size` bytes (plus the one byte LXC
/// writes at the end) and make a `fstype` filesystem in it.
pub fn create_image(path: &Path, size: u64, fstype: &str) -> Result<()> {
    if fstype.is_empty() || fstype.contains(['/', ' ']) {
        bail!("invalid filesystem type \"{fstype}\"");
    }
    let mkfs = format!("mkfs.{fstype}");
    let Some(prog) = find_program(&mkfs) else {
        bail!(
            "creating a {fstype} filesystem for loop image {}: {mkfs} not found in PATH (install {})",
            path.display(),
            package_of(fstype)
        );
    };
    {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating loop image {}", path.display()))?;
        // LXC seeks to SIZE and writes one byte: the image is SIZE+1 bytes.
        rustix::io::pwrite(f.as_fd(), b"1", size)
            .with_context(|| format!("sizing loop image {}", path.display()))?;
    }
    let out = Command::new(&prog)
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", prog.display()))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{mkfs} {} failed ({}): {}",
            path.display(),
            out.status,
            msg.trim()
        );
    }
    Ok(())
}

fn package_of(fstype: &str) -> &'static str {
    match fstype {
        "ext2" | "ext3" | "ext4" => "e2fsprogs",
        "xfs" => "xfsprogs",
        "btrfs" => "btrfs-progs",
        "vfat" | "fat" => "dosfstools",
        _ => "the package providing it",
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    for d in dirs {
        let p = d.join(name);
        if rustix::fs::access(&p, rustix::fs::Access::EXEC_OK).is_ok() {
            return Some(p);
        }
    }
    None
}

/// The filesystem in an image, from its superblock magic.
pub fn detect_fstype(image: &Path) -> Result<&'static str> {
    let mut f =
        std::fs::File::open(image).with_context(|| format!("opening {}", image.display()))?;
    let mut probe = |off: u64, len: usize| -> Option<Vec<u8>> {
        let mut b = vec![0u8; len];
        f.seek(SeekFrom::Start(off)).ok()?;
        f.read_exact(&mut b).ok()?;
        Some(b)
    };
    if probe(0x438, 2).is_some_and(|m| m == [0x53, 0xef]) {
        // ext2/3/4 share the magic; the feature flags tell them apart,
        // but the kernel's ext4 driver mounts all three.
        return Ok("ext4");
    }
    if probe(0, 4).is_some_and(|m| m == *b"XFSB") {
        return Ok("xfs");
    }
    if probe(0x10040, 8).is_some_and(|m| m == *b"_BHRfS_M") {
        return Ok("btrfs");
    }
    if probe(0x400, 4).is_some_and(|m| m == [0x10, 0x20, 0xf5, 0xf2]) {
        return Ok("f2fs");
    }
    bail!(
        "{}: no filesystem lxcbox recognises (ext2/3/4, xfs, btrfs, f2fs)",
        image.display()
    )
}

/// Attach `image` to a free loop device (autoclear: it goes away with its
/// last mount).
pub fn attach(image: &Path, read_only: bool) -> Result<LoopDevice> {
    let f = OpenOptions::new()
        .read(true)
        .write(!read_only)
        .custom_flags(libc::O_CLOEXEC)
        .open(image)
        .with_context(|| format!("opening loop image {}", image.display()))?;
    loopdev::attach(f.as_fd(), read_only, image.as_os_str().as_bytes())
        .with_context(|| format!("attaching {} to a loop device", image.display()))
}

/// Size in bytes of an image.
pub fn size_of(image: &Path) -> Result<u64> {
    Ok(std::fs::metadata(image)
        .with_context(|| format!("inspecting {}", image.display()))?
        .len())
}
