//! lxc-execute runs lxcbox itself as the container's init. It must not run
//! the host's file: a process inside could reopen /proc/1/exe and overwrite
//! the host binary (the runc CVE-2019-5736 class). So init is exec'd from a
//! sealed memfd copy: nothing can write to it, and it is gone with init.

use std::os::fd::OwnedFd;

use anyhow::{Context, Result};
use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags, SealFlags};

pub fn sealed_copy() -> Result<OwnedFd> {
    let src = std::fs::File::open("/proc/self/exe").context("opening /proc/self/exe")?;
    let len = src.metadata().context("stat /proc/self/exe")?.len();
    let mfd = memfd_create("lxcbox", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
        .context("creating a memfd for lxc-init")?;
    let mut dst = std::fs::File::from(mfd);
    let mut src = src;
    // std::io::copy uses copy_file_range/sendfile where it can.
    let n = std::io::copy(&mut src, &mut dst).context("copying lxcbox into the memfd")?;
    if n != len {
        anyhow::bail!("short copy of /proc/self/exe ({n} of {len} bytes)");
    }
    let fd = OwnedFd::from(dst);
    fcntl_add_seals(
        &fd,
        SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE,
    )
    .context("sealing the lxc-init memfd")?;
    Ok(fd)
}
