//! `lxcbox --install [-s] DIR [--systemd UNITDIR] [--sysvinit INITDIR]`:
//! make the applet links, and on request the boot units (dist/).

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

const USAGE: &str =
    "lxcbox: usage: lxcbox --install [-s] DIR [--systemd UNITDIR] [--sysvinit INITDIR]";

pub fn main(args: Vec<OsString>) -> i32 {
    let mut symbolic = false;
    let mut dir: Option<PathBuf> = None;
    let (mut systemd, mut sysv) = (None, None);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("-s") => symbolic = true,
            Some("--systemd") => systemd = it.next().map(PathBuf::from),
            Some("--sysvinit") => sysv = it.next().map(PathBuf::from),
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            _ => {
                eprintln!("{USAGE}");
                return 1;
            }
        }
    }
    let Some(dir) = dir else {
        eprintln!("{USAGE}");
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
    let bindir = std::fs::canonicalize(&dir).unwrap_or(dir);
    for (to, files) in [(systemd, &UNITS[..]), (sysv, &INIT_SCRIPTS[..])] {
        let Some(to) = to else { continue };
        for (name, text, mode) in files {
            let text = text.replace("@BINDIR@", &bindir.to_string_lossy());
            if let Err(e) = lxcbox::lxcnet::state::install_file(&to.join(name), &text, *mode) {
                eprintln!("lxcbox: {e:#}");
                code = 1;
            }
        }
    }
    code
}

/// The boot units shipped in the binary: (file name, text, mode).
const UNITS: [(&str, &str, u32); 2] = [
    (
        "lxc.service",
        include_str!("../dist/systemd/lxc.service"),
        0o644,
    ),
    (
        "lxc-net.service",
        include_str!("../dist/systemd/lxc-net.service"),
        0o644,
    ),
];
const INIT_SCRIPTS: [(&str, &str, u32); 1] = [("lxc", include_str!("../dist/init.d/lxc"), 0o755)];

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
