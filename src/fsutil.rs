//! Writing files safely: every file lxcbox writes goes through a temporary
//! file in the same directory and a rename, so a reader (or a crash) never
//! sees half a file.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

fn tmp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let r = crate::store::conftext::random_bytes(4);
    path.with_file_name(format!(
        ".{name}.tmp{}-{:02x}{:02x}{:02x}{:02x}",
        std::process::id(),
        r[0],
        r[1],
        r[2],
        r[3]
    ))
}

/// Write `data` to `path` with `mode` (exactly, whatever the umask):
/// temporary file, fsync-free write, rename over the old file.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let tmp = tmp_name(path);
    let r = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(data)?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r.with_context(|| format!("writing {}", path.display()))
}

/// Like [`write_atomic`], keeping the mode of an existing file (else `mode`).
pub fn rewrite(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let m = std::fs::symlink_metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(mode);
    write_atomic(path, data, m)
}

/// Copy a small file (a hook script, an fstab) keeping its mode.
pub fn copy_small(from: &Path, to: &Path) -> Result<()> {
    let data = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    let mode = std::fs::metadata(from)
        .with_context(|| format!("inspecting {}", from.display()))?
        .permissions()
        .mode()
        & 0o7777;
    if to.exists() {
        anyhow::bail!("copy destination {} exists", to.display());
    }
    write_atomic(to, &data, mode)
}
