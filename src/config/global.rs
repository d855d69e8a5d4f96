//! LXC's global configuration, `lxc.conf`, resolved as LXC resolves it
//! (`lxc_global_config_value` in LXC's initutils.c):
//!
//! - root reads /etc/lxc/lxc.conf; any other user `$HOME/.config/lxc/lxc.conf`,
//!   with the defaults `$HOME/.local/share/lxc` (lxcpath) and
//!   `$HOME/.config/lxc/default.conf`;
//! - `key = value` lines, `#` comments; the FIRST assignment of a key wins;
//!   an empty value counts as unset; trailing slashes of lxc.lxcpath go;
//! - keys LXC does not know are ignored, as LXC ignores them (logged at
//!   INFO); unlike LXC, which skips any line it cannot read, a line that is
//!   not `key = value` is an error naming file and line, and the applet
//!   fails instead of guessing a container path.
//!
//! The file is read once per process: [`current`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use once_cell::sync::OnceCell;

/// Root's global configuration file.
pub const GLOBAL_CONF: &str = "/etc/lxc/lxc.conf";
/// Root's default container path.
pub const DEFAULT_LXCPATH: &str = "/var/lib/lxc";
/// Root's default base configuration for new containers.
pub const DEFAULT_CONFIG: &str = "/etc/lxc/default.conf";
/// Where templates live (LXC's LXCTEMPLATEDIR).
pub const DEFAULT_TEMPLATEDIR: &str = "/usr/share/lxc/templates";

/// The keys of the global configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalKey {
    DefaultConfig,
    Lxcpath,
    LvmVg,
    LvmThinPool,
    ZfsRoot,
    RbdPool,
    CgroupUse,
    CgroupPattern,
    /// `lxc.templatedir`: an lxcbox addition (LXC builds the directory in;
    /// it ignores the key), not listed by lxc-config.
    TemplateDir,
}

impl GlobalKey {
    /// Every key lxcbox knows: LXC 5.0.2's and lxc.templatedir.
    pub const ALL: [GlobalKey; 9] = [
        GlobalKey::DefaultConfig,
        GlobalKey::Lxcpath,
        GlobalKey::LvmVg,
        GlobalKey::LvmThinPool,
        GlobalKey::ZfsRoot,
        GlobalKey::RbdPool,
        GlobalKey::CgroupUse,
        GlobalKey::CgroupPattern,
        GlobalKey::TemplateDir,
    ];

    /// What `lxc-config -l` lists, in its order (LXC leaves out rbdpool).
    pub const LISTED: [GlobalKey; 7] = [
        GlobalKey::DefaultConfig,
        GlobalKey::Lxcpath,
        GlobalKey::LvmVg,
        GlobalKey::LvmThinPool,
        GlobalKey::ZfsRoot,
        GlobalKey::CgroupUse,
        GlobalKey::CgroupPattern,
    ];

    pub fn name(self) -> &'static str {
        match self {
            GlobalKey::DefaultConfig => "lxc.default_config",
            GlobalKey::Lxcpath => "lxc.lxcpath",
            GlobalKey::LvmVg => "lxc.bdev.lvm.vg",
            GlobalKey::LvmThinPool => "lxc.bdev.lvm.thin_pool",
            GlobalKey::ZfsRoot => "lxc.bdev.zfs.root",
            GlobalKey::RbdPool => "lxc.bdev.rbd.rbdpool",
            GlobalKey::CgroupUse => "lxc.cgroup.use",
            GlobalKey::CgroupPattern => "lxc.cgroup.pattern",
            GlobalKey::TemplateDir => "lxc.templatedir",
        }
    }

    pub fn from_name(name: &str) -> Option<GlobalKey> {
        GlobalKey::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Whose configuration: root's, or a user's under their home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Root,
    User { home: PathBuf },
}

impl Scope {
    /// The calling process's scope: root when the effective uid is 0, else
    /// the user whose `$HOME` it is (`/` without one, as LXC).
    pub fn of_process() -> Scope {
        if rustix::process::geteuid().is_root() {
            return Scope::Root;
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        Scope::User { home }
    }

    /// The global configuration file of this scope.
    pub fn conf_path(&self) -> PathBuf {
        match self {
            Scope::Root => PathBuf::from(GLOBAL_CONF),
            Scope::User { home } => home.join(".config/lxc/lxc.conf"),
        }
    }

    /// A key's value when the file does not set it.
    pub fn default(&self, key: GlobalKey) -> Option<String> {
        let home = |rel: &str| match self {
            Scope::Root => None,
            Scope::User { home } => Some(home.join(rel).to_string_lossy().into_owned()),
        };
        match key {
            GlobalKey::DefaultConfig => {
                home(".config/lxc/default.conf").or_else(|| Some(DEFAULT_CONFIG.to_string()))
            }
            GlobalKey::Lxcpath => home(".local/share/lxc")
                .map(|p| trim_slashes(&p))
                .or_else(|| Some(DEFAULT_LXCPATH.to_string())),
            GlobalKey::LvmVg | GlobalKey::LvmThinPool | GlobalKey::ZfsRoot | GlobalKey::RbdPool => {
                Some("lxc".to_string())
            }
            GlobalKey::CgroupUse | GlobalKey::CgroupPattern => None,
            GlobalKey::TemplateDir => Some(DEFAULT_TEMPLATEDIR.to_string()),
        }
    }
}

/// LXC's remove_trailing_slashes, keeping `/` itself.
fn trim_slashes(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() && !p.is_empty() {
        "/".to_string()
    } else {
        t.to_string()
    }
}

/// A parsed global configuration.
#[derive(Debug, Clone)]
pub struct GlobalConfig {
    scope: Scope,
    /// The file read, if there was one.
    pub file: Option<PathBuf>,
    values: Vec<(GlobalKey, String)>,
}

impl GlobalConfig {
    /// Nothing set: every key at its default.
    pub fn defaults(scope: Scope) -> GlobalConfig {
        GlobalConfig {
            scope,
            file: None,
            values: Vec::new(),
        }
    }

    /// Read `path`, or the scope's own file when `None`. A missing default
    /// file is no error (LXC runs on its defaults); a missing explicit one is.
    pub fn load(path: Option<&Path>, scope: Scope) -> Result<GlobalConfig> {
        let (p, explicit) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (scope.conf_path(), false),
        };
        match std::fs::read_to_string(&p) {
            Ok(text) => {
                let mut g = GlobalConfig::parse(&text, &p.display().to_string(), scope)?;
                g.file = Some(p);
                Ok(g)
            }
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(GlobalConfig::defaults(scope))
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
        }
    }

    /// Parse the text of a global configuration; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, scope: Scope) -> Result<GlobalConfig> {
        let mut values: Vec<(GlobalKey, String)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                bail!(
                    "{origin}:{}: expected \"key = value\", got \"{line}\"",
                    i + 1
                );
            };
            let k = k.trim();
            if k.is_empty() || k.contains(char::is_whitespace) {
                bail!(
                    "{origin}:{}: expected \"key = value\", got \"{line}\"",
                    i + 1
                );
            }
            let Some(key) = GlobalKey::from_name(k) else {
                log::info!("{origin}:{}: ignoring unknown key \"{k}\"", i + 1);
                continue;
            };
            let v = crate::config::strip_quotes(v.trim());
            // LXC: an empty value does not count; the first assignment wins.
            if v.is_empty() || values.iter().any(|(have, _)| *have == key) {
                continue;
            }
            let v = if key == GlobalKey::Lxcpath {
                trim_slashes(v)
            } else {
                v.to_string()
            };
            values.push((key, v));
        }
        Ok(GlobalConfig {
            scope,
            file: None,
            values,
        })
    }

    /// A key's value: set in the file, else its default.
    pub fn get(&self, key: GlobalKey) -> Option<String> {
        match self.values.iter().find(|(k, _)| *k == key) {
            Some((_, v)) => Some(v.clone()),
            None => self.scope.default(key),
        }
    }

    /// The default container path.
    pub fn lxcpath(&self) -> String {
        self.get(GlobalKey::Lxcpath)
            .unwrap_or_else(|| DEFAULT_LXCPATH.to_string())
    }

    /// The base configuration for new containers.
    pub fn default_config(&self) -> PathBuf {
        PathBuf::from(
            self.get(GlobalKey::DefaultConfig)
                .unwrap_or_else(|| DEFAULT_CONFIG.to_string()),
        )
    }
}

static CURRENT: OnceCell<std::result::Result<GlobalConfig, String>> = OnceCell::new();

/// This process's global configuration, read once (the applet reads it
/// first thing, so a broken file fails the applet before it does anything).
pub fn current() -> Result<&'static GlobalConfig> {
    CURRENT
        .get_or_init(|| GlobalConfig::load(None, Scope::of_process()).map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Scope {
        Scope::User {
            home: PathBuf::from("/home/u"),
        }
    }

    #[test]
    fn first_assignment_wins_and_defaults_fill_in() {
        let text = "# c\n  lxc.lxcpath = /srv/lxc//\nlxc.lxcpath = /other\nlxc.cgroup.use =\n";
        let g = GlobalConfig::parse(text, "t", Scope::Root).unwrap();
        assert_eq!(g.lxcpath(), "/srv/lxc");
        assert_eq!(g.get(GlobalKey::LvmVg).as_deref(), Some("lxc"));
        assert_eq!(g.get(GlobalKey::CgroupUse), None);
        assert_eq!(g.default_config(), PathBuf::from(DEFAULT_CONFIG));
    }

    #[test]
    fn unknown_keys_are_ignored_syntax_errors_are_not() {
        let g = GlobalConfig::parse(
            "lxc.bdev.rbd.rbdpool = pool\nlxc.some.future.key = 1\nlxc.lxcpath=/x\n",
            "lxc.conf",
            Scope::Root,
        )
        .unwrap();
        assert_eq!(g.lxcpath(), "/x");
        assert_eq!(g.get(GlobalKey::RbdPool).as_deref(), Some("pool"));
        let e = GlobalConfig::parse("\nlxc.lxcpath = /a\ngarbage\n", "lxc.conf", Scope::Root)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "lxc.conf:3: expected \"key = value\", got \"garbage\""
        );
        assert!(GlobalConfig::parse("= x\n", "f", Scope::Root).is_err());
        assert!(GlobalConfig::parse("lxc lxcpath = x\n", "f", Scope::Root).is_err());
    }

    #[test]
    fn a_users_own_files_and_defaults() {
        let u = user();
        assert_eq!(u.conf_path(), PathBuf::from("/home/u/.config/lxc/lxc.conf"));
        let g = GlobalConfig::defaults(u);
        assert_eq!(g.lxcpath(), "/home/u/.local/share/lxc");
        assert_eq!(
            g.default_config(),
            PathBuf::from("/home/u/.config/lxc/default.conf")
        );
        assert_eq!(
            GlobalConfig::defaults(Scope::Root).lxcpath(),
            DEFAULT_LXCPATH
        );
        assert_eq!(trim_slashes("///"), "/");
    }
}
