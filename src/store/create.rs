//! lxc-create: a new container from a base config, a backing store and a
//! template, the way LXC 5 makes it:
//!
//! 1. the base config (`-f`, else lxc.default_config) is taken verbatim
//!    (hwaddr templates like `00:16:3e:xx:xx:xx` fixed now, once);
//! 2. `-t none`: that config is saved and nothing else is made;
//! 3. otherwise the storage is made (`-B`), `lxc.rootfs.path` appended,
//!    the config saved, the template run on the rootfs (mounted for it
//!    when it is not a plain directory), and LXC's header prepended.
//!
//! A failure anywhere removes everything that was made; the error names
//! the step.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::conftext::ConfText;
use super::{owner, NewContainer};
use crate::config::Config;
use crate::container::{validate_name, Container};
use crate::storage::{self, make::Specs, Request, Rootfs};
use crate::template::{self, Template};

/// What lxc-create was asked for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// `-t`: `None` when missing (an error, as in LXC 5).
    pub template: Option<String>,
    /// The template options (after `--`).
    pub template_args: Vec<String>,
    /// `-f`: base configuration; default: the global lxc.default_config.
    pub config: Option<PathBuf>,
    /// `-B`.
    pub bdev: Option<String>,
    /// `--dir`, `--fstype`, `--fssize`.
    pub specs: Specs,
    /// `-q`: the template's output is discarded.
    pub quiet: bool,
}

/// LXC matches `-t` and `-B` values by prefix against "none"
/// (`strncmp(arg, "none", strlen(arg))`): `-t n` is `-t none`.
fn is_none(v: &str) -> bool {
    !v.is_empty() && "none".starts_with(v)
}

/// Resolve `-t` without making anything: `None` for `-t none`.
pub fn resolve_template(t: Option<&str>) -> Result<Option<Template>> {
    match t {
        None => bail!(
            "A template must be specified. Use \"none\" if you really want a container without a rootfs"
        ),
        Some(t) if is_none(t) => Ok(None),
        Some(t) => template::resolve(t).map(Some),
    }
}

/// The base config text: `-f FILE`, else lxc.default_config when it exists.
fn base_config(opts: &CreateOptions) -> Result<(ConfText, Option<PathBuf>)> {
    let path = match &opts.config {
        Some(p) => p.clone(),
        None => {
            let p = crate::config::global::current()?.default_config();
            if !p.exists() {
                return Ok((ConfText::default(), None));
            }
            p
        }
    };
    let text = crate::config::read_text(&path)?;
    // Refuse a broken base config before anything is made.
    let base_dir = path.parent().unwrap_or(Path::new("."));
    Config::parse_str(&text, &path.display().to_string(), base_dir)?;
    Ok((ConfText::parse(&text), Some(path)))
}

/// Create container `name` in `lxcpath`. Returns its config path.
pub fn create(lxcpath: &str, name: &str, opts: &CreateOptions) -> Result<PathBuf> {
    validate_name(name)?;
    let template = resolve_template(opts.template.as_deref())?;
    if let Some(d) = &opts.specs.dir {
        if !d.is_absolute() {
            bail!("--dir should use absolute path");
        }
    }
    let request = match opts.bdev.as_deref() {
        None => None,
        Some(b) => Some(Request::parse(b)?),
    };
    if let Some(Request::One(k)) = &request {
        k.check_supported()?;
    }
    if Container::is_defined(lxcpath, name) {
        bail!("Container already exists");
    }
    let (mut conf, _base) = base_config(opts)?;
    // SIGINT/SIGTERM/SIGHUP from here on end in the cleanup below, not in
    // a half-made container.
    let interrupted = super::interrupted();
    let lxcpath = Path::new(lxcpath);
    let mut nc = NewContainer::make(lxcpath, name)?;
    let config_path = nc.dir.join("config");
    let preset_rootfs = conf
        .values("lxc.rootfs.path")
        .last()
        .map(str::to_string)
        .or_else(|| conf.values("lxc.rootfs").last().map(str::to_string))
        .filter(|v| !v.is_empty());

    let Some(template) = template else {
        // -t none: the config alone, as LXC 5 saves it.
        if let Some(r) = &preset_rootfs {
            let (kind, p) = r.split_once(':').unwrap_or(("dir", r.as_str()));
            if !Path::new(p).exists() {
                bail!("The rootfs \"{r}\" does not exist");
            }
            // LXC 5.0.2 then saves the rootfs once more, with its type
            // (compared side by side in tests/lxc_parity.rs).
            conf.append("lxc.rootfs.path", &format!("{kind}:{p}"));
        }
        crate::fsutil::write_atomic(&config_path, conf.text().as_bytes(), 0o640)?;
        nc.done()?;
        return Ok(config_path);
    };

    let old_umask = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let r = (|| -> Result<()> {
        let rootfs = match &preset_rootfs {
            // A base config naming an existing rootfs directory: the
            // template fills that (LXC does the same); it is not ours to
            // remove on failure.
            Some(r) if Path::new(r.split_once(':').map_or(r.as_str(), |(_, p)| p)).is_dir() => {
                let p = r.split_once(':').map_or(r.as_str(), |(_, p)| p);
                storage::make::mkdir_p(&nc.dir.join("rootfs"))?;
                Rootfs::Dir(PathBuf::from(p))
            }
            _ => {
                if let Some(d) = &opts.specs.dir {
                    if !d.exists() {
                        nc.remove_on_failure(d.clone());
                    }
                }
                let req = request.clone().unwrap_or(Request::One(storage::Kind::Dir));
                let r = storage::make::create(&req, &nc.dir, &opts.specs)
                    .with_context(|| format!("creating the {} storage", req_name(&req)))?;
                conf.append("lxc.rootfs.path", &r.config_value());
                r
            }
        };
        crate::fsutil::write_atomic(&config_path, conf.text().as_bytes(), 0o640)?;
        let cfg = Config::load(&config_path)?;
        // An ordinary user's files cannot become a container's root's
        // without a map (LXC: "Error chowning ... to container root").
        if cfg.idmap.is_empty() && !rustix::process::geteuid().is_root() {
            bail!(
                "an ordinary user's container needs lxc.idmap (its root must be a range of \
                 subordinate ids). {}",
                crate::userns::suggest_default_idmap()
            );
        }
        owner::hand_dir_to_mapped_root(&nc.dir, &cfg)?;
        // Where the template sees the rootfs: the directory itself, or the
        // storage mounted on LXCPATH/NAME/rootfs in a private namespace
        // (unmounted again when `_mounted` goes).
        let (target, _mounted) =
            storage::mount::as_directory(&rootfs, &nc.dir.join("rootfs"), true)?;
        let inv = template::Invocation {
            name,
            path: &nc.dir,
            rootfs: &target,
            args: &opts.template_args,
            mapped: owner::template_ids(&cfg),
            quiet: opts.quiet,
        };
        // An ordinary user cannot hand files to mapped ids afterwards: the
        // template runs inside the container's user namespace instead.
        let in_userns = !cfg.idmap.is_empty() && !rustix::process::geteuid().is_root();
        if in_userns {
            template::run_mapped(&template, &inv, &cfg.idmap)
        } else {
            template::run(&template, &inv)
        }
        .context("Failed to create container from template")?;
        if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
            bail!("interrupted");
        }
        if !cfg.idmap.is_empty() && !in_userns {
            owner::shift_tree(&target, &cfg)
                .context("handing the rootfs to the container's root")?;
        }
        prepend_header(&config_path, &template, &opts.template_args)?;
        // The template's additions must still make a valid config.
        Config::load(&config_path).context("the template wrote an invalid config")?;
        Ok(())
    })();
    rustix::process::umask(old_umask);
    r?;
    nc.done()?;
    Ok(config_path)
}

fn req_name(r: &Request) -> String {
    match r {
        Request::One(k) => k.name().to_string(),
        Request::Best => "best".to_string(),
        Request::FirstOf(v) => v.iter().map(|k| k.name()).collect::<Vec<_>>().join(","),
    }
}

/// LXC's header in front of a templated config (Debian's lxc is built
/// without the SHA-1 line).
fn prepend_header(config: &Path, t: &Template, args: &[String]) -> Result<()> {
    let body =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let mut h = format!(
        "# Template used to create this container: {}\n",
        t.header_name()
    );
    h.push_str("# Parameters passed to the template:");
    for a in args {
        h.push(' ');
        h.push_str(a);
    }
    h.push('\n');
    h.push_str("# For additional config options, please look at lxc.container.conf(5)\n");
    h.push_str("\n# Uncomment the following line to support nesting containers:\n");
    h.push_str("#lxc.include = /usr/share/lxc/config/nesting.conf\n");
    h.push_str("# (Be aware this has security implications)\n\n");
    h.push_str(&body);
    crate::fsutil::rewrite(config, h.as_bytes(), 0o640)
}
