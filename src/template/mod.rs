//! lxc-create templates: finding them, running them with LXC's calling
//! convention, and the built-in ones.
//!
//! `-t NAME` runs `TEMPLATEDIR/lxc-NAME` (default /usr/share/lxc/templates,
//! LXC's compiled-in directory; `$LXCBOX_TEMPLATEDIR` moves it), `-t
//! /abs/path` that script. When no script of that name is installed, a
//! built-in template of the name is used (`busybox`), so a host with
//! nothing but lxcbox can create containers; a script always wins.
//!
//! A script is run as LXC runs it: argv[0] its file name, then
//! `--path=LXCPATH/NAME --name=NAME --rootfs=ROOTFS`, the template options
//! given after `--`, and for an idmapped container `--mapped-uid U
//! --mapped-gid G`. Its environment carries LXC_NAME, LXC_PATH,
//! LXC_ROOTFS_PATH, LXC_ROOTFS_MOUNT and LXC_CONFIG_FILE.

mod busybox;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Where templates live when nothing says otherwise.
pub const DEFAULT_DIR: &str = "/usr/share/lxc/templates";

/// The templates built into lxcbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Busybox,
}

impl Builtin {
    fn by_name(n: &str) -> Option<Builtin> {
        match n {
            "busybox" => Some(Builtin::Busybox),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Builtin::Busybox => "busybox",
        }
    }
}

/// A resolved `-t` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    Script(PathBuf),
    Builtin(Builtin),
}

/// The template directory: `$LXCBOX_TEMPLATEDIR`, else LXC's compiled-in
/// /usr/share/lxc/templates.
pub fn template_dir() -> PathBuf {
    use crate::config::global::{self, GlobalKey};
    match std::env::var_os("LXCBOX_TEMPLATEDIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => global::current()
            .ok()
            .and_then(|g| g.get(GlobalKey::TemplateDir))
            .map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from),
    }
}

fn executable(p: &Path) -> bool {
    p.is_file() && rustix::fs::access(p, rustix::fs::Access::EXEC_OK).is_ok()
}

/// Find template `t`: an absolute path must be an executable file; a name
/// is looked up as TEMPLATEDIR/lxc-NAME, then among the built-ins.
pub fn resolve(t: &str) -> Result<Template> {
    if t.starts_with('/') {
        if executable(Path::new(t)) {
            return Ok(Template::Script(PathBuf::from(t)));
        }
        bail!("Template \"{t}\" not found (not an executable file)");
    }
    if t.is_empty() || t.contains('/') {
        bail!("Template \"{t}\" not found");
    }
    let script = template_dir().join(format!("lxc-{t}"));
    if executable(&script) {
        return Ok(Template::Script(script));
    }
    match Builtin::by_name(t) {
        Some(b) => Ok(Template::Builtin(b)),
        None => bail!(
            "Template \"{t}\" not found (no {} and no built-in template of that name)",
            script.display()
        ),
    }
}

impl Template {
    /// What the config header names as the template.
    pub fn header_name(&self) -> String {
        match self {
            Template::Script(p) => p.display().to_string(),
            Template::Builtin(b) => format!("{} (built into lxcbox)", b.name()),
        }
    }
}

/// One run of a template for a new container.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    pub name: &'a str,
    /// LXCPATH/NAME (`--path`).
    pub path: &'a Path,
    /// Where the rootfs is, mounted when it needs mounting (`--rootfs`).
    pub rootfs: &'a Path,
    /// The template options after `--`.
    pub args: &'a [String],
    /// `--mapped-uid` / `--mapped-gid` for an idmapped container.
    pub mapped: Option<(u32, u32)>,
    /// `-q`: the template's output goes to /dev/null.
    pub quiet: bool,
}

/// Run the template; an exit status other than 0 is an error.
pub fn run(t: &Template, inv: &Invocation) -> Result<()> {
    match t {
        Template::Builtin(Builtin::Busybox) => busybox::run(inv),
        Template::Script(p) => {
            let mut c = Command::new(p);
            if let Some(base) = p.file_name() {
                c.arg0(base);
            }
            c.arg(format!("--path={}", inv.path.display()))
                .arg(format!("--name={}", inv.name))
                .arg(format!("--rootfs={}", inv.rootfs.display()))
                .args(inv.args);
            if let Some((u, g)) = inv.mapped {
                c.arg("--mapped-uid")
                    .arg(u.to_string())
                    .arg("--mapped-gid")
                    .arg(g.to_string());
            }
            c.env("LXC_NAME", inv.name)
                .env("LXC_PATH", inv.path)
                .env("LXC_ROOTFS_PATH", inv.rootfs)
                .env("LXC_ROOTFS_MOUNT", inv.rootfs)
                .env("LXC_CONFIG_FILE", inv.path.join("config"))
                .stdin(Stdio::null());
            if inv.quiet {
                c.stdout(Stdio::null()).stderr(Stdio::null());
            }
            let st = c
                .status()
                .with_context(|| format!("running template {}", p.display()))?;
            if !st.success() {
                bail!("template {} failed ({st})", p.display());
            }
            Ok(())
        }
    }
}

/// Run the template as root of a new user namespace with the container's
/// maps (plus the caller's own ids, so it reaches the container
/// directory), as LXC runs it through lxc-usernsexec for an ordinary user:
/// everything it writes gets a mapped owner, and `--mapped-uid/gid` name
/// the caller's ids as the namespace sees them. The rootfs directory
/// itself is handed to the container's root first (LXC's
/// chown_mapped_root).
pub fn run_mapped(t: &Template, inv: &Invocation, maps: &[crate::config::IdMap]) -> Result<()> {
    use crate::userns::exec::{ns_id_of, run_in, with_caller};
    let maps = with_caller(maps);
    let mapped = ns_id_of(&maps, 'u', rustix::process::geteuid().as_raw()).zip(ns_id_of(
        &maps,
        'g',
        rustix::process::getegid().as_raw(),
    ));
    let inv = Invocation {
        mapped,
        ..inv.clone()
    };
    let code = run_in(&maps, || {
        let root = (Some(rustix::fs::Uid::ROOT), Some(rustix::fs::Gid::ROOT));
        if let Err(e) = rustix::fs::chown(inv.rootfs, root.0, root.1) {
            eprintln!(
                "handing {} to the container's root: {e}",
                inv.rootfs.display()
            );
            return 1;
        }
        match run(t, &inv) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("{e:#}");
                1
            }
        }
    })
    .context("running the template in the container's user namespace")?;
    if code != 0 {
        bail!(
            "template {} failed in the container's user namespace (exit status {code})",
            t.header_name()
        );
    }
    Ok(())
}

/// `lxc-create -t NAME -h`: the template's own help. Returns its exit status.
pub fn help(t: &Template) -> Result<i32> {
    match t {
        Template::Builtin(Builtin::Busybox) => {
            print!("{}", busybox::usage());
            Ok(0)
        }
        Template::Script(p) => {
            let st = Command::new(p)
                .arg("-h")
                .status()
                .with_context(|| format!("running {} -h", p.display()))?;
            Ok(st.code().unwrap_or(1))
        }
    }
}
