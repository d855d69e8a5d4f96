//! A container handle: its name, lxcpath, directory and loaded configuration.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::Config;

/// A container as the tools see it (defined under LXCPATH/NAME, or volatile).
#[derive(Debug, Clone)]
pub struct Container {
    pub name: String,
    /// The lxcpath as given (canonicalised when it exists).
    pub lxcpath: String,
    /// LXCPATH/NAME
    pub dir: PathBuf,
    /// The config file that was loaded, if any.
    pub config_path: Option<PathBuf>,
    pub config: Config,
}

/// Check a container name the way LXC does: non-empty, no '/', not . or ..
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        bail!("invalid container name \"{name}\"");
    }
    Ok(())
}

/// LXC's lxc_container_new looks for LXCPATH/NAME/partial (the mark of an
/// unfinished lxc-create) and fails on any error but "not there": a `-P`
/// that is a file (ENOTDIR), a name longer than a file name may be
/// (ENAMETOOLONG), an lxcpath we may not search (EACCES). Applets that
/// open a container make the same check, so they fail where LXC does
/// (exit 1) instead of reporting a container that is merely not running.
pub fn check_handle(lxcpath: &str, name: &str) -> Result<()> {
    let p = Path::new(lxcpath).join(name).join("partial");
    match std::fs::symlink_metadata(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            bail!("Failed checking for incomplete container {name} creation: {e}")
        }
        _ => Ok(()),
    }
}

impl Container {
    /// Load a container: `rcfile` (-f / --rcfile) when given, else
    /// LXCPATH/NAME/config when it exists, else an empty (default) config —
    /// a volatile container.
    pub fn load(lxcpath: &str, name: &str, rcfile: Option<&Path>) -> Result<Container> {
        validate_name(name)?;
        let lxcpath = crate::monitor::canonical_lxcpath(lxcpath);
        let dir = Path::new(&lxcpath).join(name);
        let (config_path, config) = match rcfile {
            Some(f) => (Some(f.to_path_buf()), Config::load(f)?),
            None => {
                let f = dir.join("config");
                if f.exists() {
                    let c = Config::load(&f)?;
                    (Some(f), c)
                } else {
                    (None, Config::default())
                }
            }
        };
        Ok(Container {
            name: name.to_string(),
            lxcpath,
            dir,
            config_path,
            config,
        })
    }

    /// True when LXCPATH/NAME/config exists.
    pub fn is_defined(lxcpath: &str, name: &str) -> bool {
        Path::new(lxcpath).join(name).join("config").is_file()
    }

    /// Apply `-s KEY=VALUE` overrides.
    pub fn define(&mut self, defs: &[String]) -> Result<()> {
        for d in defs {
            self.config
                .define(d)
                .with_context(|| format!("--define {d}"))?;
        }
        Ok(())
    }

    /// The rootfs path with relative paths resolved against the container dir.
    pub fn rootfs_path(&self) -> Option<PathBuf> {
        let p = self.config.rootfs.path.as_deref()?;
        if p.is_empty() {
            return None;
        }
        Some(self.dir.join(p))
    }
}
