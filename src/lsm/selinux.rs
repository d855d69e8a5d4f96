//! SELinux, as LXC drives it (src/lxc/lsm/selinux.c): lxc.selinux.context
//! becomes the label of init's exec (setexeccon: /proc/thread-self/attr/exec),
//! lxc.selinux.context.keyring the label of the session keyring
//! (setkeycreatecon: attr/keycreate). No libselinux: the same /proc files.
//!
//! Untested on a live SELinux host (the project's machines have SELinux
//! built in but disabled); the label handling is unit-tested.

use anyhow::{bail, Result};

/// libselinux's is_selinux_enabled: selinuxfs is mounted and a policy is
/// loaded (the enforce file exists only then).
pub fn enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// A label must be one line without NUL (the kernel parses the write as a
/// context string; it refuses what it cannot map).
pub fn check_label(label: &str) -> Result<()> {
    if label.is_empty() || label.contains('\n') || label.contains('\0') {
        bail!("invalid SELinux context \"{}\"", label.escape_debug());
    }
    Ok(())
}

/// The label the next exec of this thread gets.
pub fn set_exec_label(label: &str) -> Result<()> {
    check_label(label)?;
    super::write_attr("exec", label)?;
    log::info!("Set SELinux label to \"{label}\"");
    Ok(())
}

/// The label of keyrings this thread creates next.
pub fn set_keycreate_label(label: &str) -> Result<()> {
    check_label(label)?;
    super::write_attr("keycreate", label)
}

/// A process's SELinux label (attr/current).
pub fn label_of(pid: i32) -> Option<String> {
    super::read_attr(pid, "current")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(check_label("system_u:system_r:lxc_t:s0:c22").is_ok());
        assert!(check_label("").is_err());
        assert!(check_label("a\nb").is_err());
        // On a host without SELinux the exec label cannot be written.
        if !enabled() {
            assert!(set_exec_label("system_u:system_r:lxc_t:s0").is_err());
        }
    }
}
