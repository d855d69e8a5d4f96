//! `lxcbox --install [-s] DIR`: make the applet links.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::APPLETS;

/// The binary to link to: /proc/self/exe, else an absolute argv[0].
fn self_path() -> Option<PathBuf> {
    if let Ok(p) = std::fs::read_link("/proc/self/exe") {
        if p.is_absolute() && !p.to_string_lossy().ends_with(" (deleted)") {
            return Some(p);
        }
    }
    let a0 = PathBuf::from(std::env::args_os().next()?);
    a0.is_absolute().then_some(a0)
}

pub fn main(args: Vec<OsString>) -> i32 {
    let mut symbolic = false;
    let mut dir: Option<PathBuf> = None;
    for a in args {
        match a.to_str() {
            Some("-s") => symbolic = true,
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            _ => {
                eprintln!("lxcbox: usage: lxcbox --install [-s] DIR");
                return 1;
            }
        }
    }
    let Some(dir) = dir else {
        eprintln!("lxcbox: usage: lxcbox --install [-s] DIR");
        return 1;
    };
    let Some(target) = self_path() else {
        eprintln!(
            "lxcbox: cannot find my own path (no /proc/self/exe and argv[0] is not absolute)"
        );
        return 1;
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("lxcbox: creating {}: {e}", dir.display());
        return 1;
    }
    let mut code = 0;
    for a in APPLETS {
        let link = dir.join(a.name);
        if let Err(msg) = install_one(&target, &link, symbolic) {
            eprintln!("lxcbox: {msg}");
            code = 1;
        }
    }
    code
}

/// Create one link; an existing link to us is left alone (idempotent), a
/// link elsewhere is replaced, a regular file is never overwritten.
fn install_one(target: &Path, link: &Path, symbolic: bool) -> Result<(), String> {
    if let Ok(meta) = std::fs::symlink_metadata(link) {
        if meta.file_type().is_symlink() {
            if std::fs::read_link(link).ok().as_deref() == Some(target) {
                return Ok(());
            }
            std::fs::remove_file(link).map_err(|e| format!("removing {}: {e}", link.display()))?;
        } else {
            let ours = std::fs::metadata(target)
                .map(|t| t.ino() == meta.ino() && t.dev() == meta.dev())
                .unwrap_or(false);
            if ours {
                return Ok(());
            }
            return Err(format!(
                "{} exists and is not a link to lxcbox; not overwriting it",
                link.display()
            ));
        }
    }
    let made = if symbolic {
        std::os::unix::fs::symlink(target, link)
    } else {
        // Hard links cannot cross filesystems: fall back to a symlink.
        std::fs::hard_link(target, link).or_else(|_| std::os::unix::fs::symlink(target, link))
    };
    made.map_err(|e| format!("linking {} -> {}: {e}", link.display(), target.display()))
}
