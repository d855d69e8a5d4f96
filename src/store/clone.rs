//! Cloning a container (lxc-copy, lxc-clone, snapshots, restores): LXC's
//! do_lxcapi_clone. The clone's config is the origin's text with
//!
//! - `lxc.rootfs.path` replaced (appended at the end, as LXC does),
//! - `lxc.uts.name` set to the new name (unless keep-name),
//! - fresh MAC addresses (unless keep-mac),
//! - every path under the origin's directory (hook scripts, mount entry
//!   sources and overlay dirs, included files, the fstab, log files)
//!   pointing into the clone's directory, with the files it names copied
//!   there; the fstab is copied even from elsewhere, as LXC does.
//!
//! Then the clone hooks run (LXC's arguments and environment) and the
//! rootfs's /etc/hostname gets the new name. Any failure removes the
//! half-made clone; the origin is never written to, except its
//! lxc_snapshots record once the clone is complete.

use std::collections::BTreeSet;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::conftext::ConfText;
use super::rdeps::{self, Ref};
use super::NewContainer;
use crate::config::Config;
use crate::container::{validate_name, Container};
use crate::storage::{self, clone::CloneSpec, Kind, Rootfs};

/// What the clone is asked for (lxc-copy's options).
#[derive(Debug, Clone, Default)]
pub struct CloneOptions {
    /// `-N`; default: the origin's name (then `-p` must differ).
    pub new_name: Option<String>,
    /// `-p`; default: the origin's lxcpath.
    pub new_path: Option<String>,
    /// `-B`.
    pub kind: Option<Kind>,
    /// `-s`.
    pub snapshot: bool,
    /// `-a`.
    pub allow_running: bool,
    /// `-K`.
    pub keep_name: bool,
    /// `-M`.
    pub keep_mac: bool,
    /// `-L`.
    pub new_size: Option<u64>,
    /// Arguments for lxc.hook.clone (after `--`).
    pub hook_args: Vec<String>,
    /// `--rcfile`: the origin's config file.
    pub rcfile: Option<PathBuf>,
    /// Copy when the origin's type cannot snapshot (lxc-snapshot of a dir container).
    pub maybe_snapshot: bool,
    /// Keep the origin's backing store type.
    pub keep_kind: bool,
    /// The clone's directory already exists (an ephemeral copy made it
    /// with a random name; a restore replaces a container in place). On
    /// failure everything in it but these entries is removed (with no
    /// entries, the directory itself).
    pub made: Option<Vec<String>>,
}

/// The result: the clone, loaded.
pub struct Cloned {
    pub container: Container,
}

/// Clone container `name` of `lxcpath`.
pub fn clone(lxcpath: &str, name: &str, opts: &CloneOptions) -> Result<Cloned> {
    validate_name(name)?;
    let lxcpath = crate::monitor::canonical_lxcpath(lxcpath);
    let origin = Container::load(&lxcpath, name, opts.rcfile.as_deref())?;
    if opts.rcfile.is_none() && !Container::is_defined(&lxcpath, name) {
        bail!("Container {name} is not defined");
    }
    if !opts.allow_running && super::is_running(&lxcpath, name)? {
        bail!(
            "error: Original container ({name}) is running. Use --allowrunning if you want to force a snapshot of the running container."
        );
    }
    let new_name = opts.new_name.clone().unwrap_or_else(|| name.to_string());
    validate_name(&new_name)?;
    let new_path = match &opts.new_path {
        Some(p) => {
            crate::storage::make::mkdir_p(Path::new(p))?;
            crate::monitor::canonical_lxcpath(p)
        }
        None => lxcpath.clone(),
    };
    let new_config = Path::new(&new_path).join(&new_name).join("config");
    if new_config.exists() {
        bail!("error: clone: {} exists", new_config.display());
    }
    let origin_cfg_path = origin
        .config_path
        .clone()
        .unwrap_or_else(|| origin.dir.join("config"));
    let mut conf = ConfText::read(&origin_cfg_path)?;
    let orig_rootfs = Rootfs::of(&origin.config, &origin.dir)?
        .with_context(|| format!("No rootfs specified for {name}"))?;
    orig_rootfs.check_supported()?;

    // An ordinary user's idmapped container holds files of the mapped ids,
    // which the user can neither read all of nor recreate: LXC copies them
    // through lxc-usernsexec and rsync, lxcbox as root of the container's
    // user namespace (copy_as_mapped). Snapshots need no copy of them.
    let unpriv = !origin.config.idmap.is_empty() && !rustix::process::geteuid().is_root();
    let plain_dirs =
        orig_rootfs.plain_dir().is_some() && matches!(opts.kind, None | Some(Kind::Dir));
    if unpriv && !opts.snapshot && !plain_dirs {
        bail!(
            "copying the idmapped container {name} as an ordinary user: only a directory copy \
             (-B dir) or a snapshot (-s) is supported"
        );
    }
    let nc = match &opts.made {
        Some(_) => None,
        None => Some(NewContainer::make(Path::new(&new_path), &new_name)?),
    };
    let new_dir = Path::new(&new_path).join(&new_name);
    let guard = MadeGuard {
        dir: new_dir.clone(),
        keep: opts.made.clone(),
    };
    let cancel = super::interrupted();

    let spec = CloneSpec {
        orig: &orig_rootfs,
        old_lxcpath: Path::new(&lxcpath),
        new_lxcpath: Path::new(&new_path),
        new_name: &new_name,
        kind: opts.kind,
        snapshot: opts.snapshot,
        maybe_snapshot: opts.maybe_snapshot,
        keep_kind: opts.keep_kind,
        new_size: opts.new_size,
        cancel: Some(cancel),
    };
    let cloned = if unpriv && !opts.snapshot {
        copy_as_mapped(&spec, &origin.config.idmap)
    } else {
        storage::clone::clone(&spec)
    }
    .context("Error copying storage")?;
    conf.clear("lxc.rootfs.path");
    conf.clear("lxc.rootfs");
    conf.append("lxc.rootfs.path", &cloned.rootfs.config_value());
    if !opts.keep_name {
        conf.clear("lxc.utsname");
        conf.clear("lxc.uts.name");
        conf.append("lxc.uts.name", &new_name);
    }
    let old_dir = origin.dir.clone();
    let rootfs_rel = orig_rootfs
        .plain_dir()
        .and_then(|p| p.strip_prefix(&old_dir).ok().map(Path::to_path_buf));
    copy_private_files(
        &mut conf,
        &origin,
        &old_dir,
        &new_dir,
        rootfs_rel.as_deref(),
        !opts.keep_mac,
    )?;
    if !opts.keep_mac {
        conf.renew_hwaddrs();
    }
    crate::fsutil::write_atomic(&new_config, conf.text().as_bytes(), 0o640)?;
    let clone = Container::load(&new_path, &new_name, None).context("the clone's config")?;
    super::owner::hand_dir_to_mapped_root(&new_dir, &clone.config)?;
    if unpriv {
        super::owner::hand_upper_to_mapped_root(&cloned.rootfs, &clone.config)?;
        let maps = crate::userns::exec::with_caller(&clone.config.idmap);
        let code = crate::userns::exec::run_in(&maps, || {
            let r = crate::sys::process::unshare(libc::CLONE_NEWNS)
                .context("a mount namespace for the clone's rootfs")
                .and_then(|()| update_rootfs(&origin, &clone, &cloned.rootfs, opts));
            match r {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("{e:#}");
                    1
                }
            }
        })?;
        if code != 0 {
            bail!("updating the clone's rootfs in its user namespace failed");
        }
    } else {
        update_rootfs(&origin, &clone, &cloned.rootfs, opts)?;
    }
    if super::was_interrupted() {
        bail!("interrupted");
    }

    // Dependency records, last: nothing to undo in the origin on failure.
    let me = Ref {
        lxcpath: new_path.clone(),
        name: new_name.clone(),
    };
    if cloned.snapshot {
        let src = origin.dir.join(rdeps::RDEPENDS);
        if src.exists() {
            crate::fsutil::copy_small(&src, &new_dir.join(rdeps::RDEPENDS))?;
        }
    }
    if cloned.needs_rdep {
        rdeps::add_rdepend(
            &new_dir,
            &Ref {
                lxcpath: lxcpath.clone(),
                name: name.to_string(),
            },
        )?;
    }
    for o in rdeps::rdepends_of(&new_dir) {
        rdeps::add_snapshot(&Path::new(&o.lxcpath).join(&o.name), &me)
            .with_context(|| format!("recording the clone in {}/{}", o.lxcpath, o.name))?;
    }
    if let Some(nc) = nc {
        nc.done()?;
    }
    guard.disarm();
    Ok(Cloned { container: clone })
}

/// A directory copy of an ordinary user's idmapped container, made as root
/// of a user namespace with the container's maps (and the caller's ids):
/// there every file of the origin is readable and its copy gets the same
/// mapped owner. The child reports only success; the result of a plain
/// directory copy is known without it.
fn copy_as_mapped(
    spec: &CloneSpec<'_>,
    maps: &[crate::config::IdMap],
) -> Result<storage::clone::Cloned> {
    use crate::userns::exec::{run_in, with_caller};
    let code = run_in(&with_caller(maps), || match storage::clone::clone(spec) {
        Ok(c) if matches!(c.rootfs, Rootfs::Dir(_)) => 0,
        Ok(c) => {
            eprintln!("unexpected {} copy", c.rootfs.kind().name());
            1
        }
        Err(e) => {
            eprintln!("{e:#}");
            1
        }
    })?;
    if code != 0 {
        bail!("copying the rootfs in the container's user namespace failed");
    }
    Ok(storage::clone::Cloned {
        rootfs: Rootfs::Dir(spec.new_lxcpath.join(spec.new_name).join("rootfs")),
        needs_rdep: false,
        snapshot: false,
    })
}

/// Removes a directory made by the caller (`CloneOptions::made`) when
/// the clone fails.
struct MadeGuard {
    dir: PathBuf,
    keep: Option<Vec<String>>,
}

impl MadeGuard {
    fn disarm(mut self) {
        self.keep = None;
    }
}

impl Drop for MadeGuard {
    fn drop(&mut self) {
        let r = match self.keep.as_deref() {
            None => return,
            Some([]) => storage::remove::remove_tree(&self.dir),
            Some(keep) => {
                let k: Vec<&str> = keep.iter().map(String::as_str).collect();
                storage::remove::remove_contents_except(&self.dir, &k)
            }
        };
        if let Err(e) = r {
            log::error!("cleaning up {}: {e:#}", self.dir.display());
        }
    }
}

/// The keys whose values may name files of the container's own directory.
pub(super) fn path_key(k: &str) -> bool {
    k.starts_with("lxc.hook.")
        || matches!(
            k,
            "lxc.mount.entry"
                | "lxc.include"
                | "lxc.log.file"
                | "lxc.console.logfile"
                | "lxc.console.buffer.logfile"
        )
}

/// Copy the files under `old_dir` that the config refers to into
/// `new_dir` (same relative path), the fstab from wherever it is, and
/// point the config at the copies. Included files under `old_dir` get the
/// same treatment as the config itself.
fn copy_private_files(
    conf: &mut ConfText,
    origin: &Container,
    old_dir: &Path,
    new_dir: &Path,
    rootfs_rel: Option<&Path>,
    renew_macs: bool,
) -> Result<()> {
    let old_s = old_dir.to_string_lossy().into_owned();
    let new_s = new_dir.to_string_lossy().into_owned();
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    let under = |p: &Path| -> Option<PathBuf> {
        let rel = p.strip_prefix(old_dir).ok()?;
        let first = rel.components().next()?;
        let skip = [
            "config",
            "snaps",
            "rootfs",
            rdeps::SNAPSHOTS,
            rdeps::RDEPENDS,
            "partial",
        ];
        if skip.iter().any(|s| first.as_os_str() == *s) {
            return None;
        }
        if rootfs_rel.is_some_and(|r| rel.starts_with(r)) {
            return None;
        }
        Some(rel.to_path_buf())
    };
    let mut fstab_rel = None;
    for l in conf.lines() {
        let Ok(crate::config::LexLine::Pair { key, value }) = crate::config::lex_line(l) else {
            continue;
        };
        let first = value.split_whitespace().next().unwrap_or("");
        let candidate = match key {
            k if k.starts_with("lxc.hook.") => Some(first),
            "lxc.mount.entry" => Some(first),
            "lxc.include" => Some(value),
            _ => None,
        };
        if let Some(p) = candidate.filter(|p| p.starts_with('/')) {
            if let Some(rel) = under(Path::new(p)) {
                files.insert(rel);
            }
        }
    }
    // The fstab: copied into the clone whatever its location (LXC).
    if let Some(f) = origin
        .config
        .mount_fstab
        .as_deref()
        .filter(|f| !f.is_empty())
    {
        let src = origin.dir.join(f);
        let base = src
            .file_name()
            .context("lxc.mount.fstab has no file name")?;
        let dst = new_dir.join(base);
        crate::fsutil::copy_small(&src, &dst).context("error copying fstab")?;
        let text =
            std::fs::read_to_string(&dst).with_context(|| format!("reading {}", dst.display()))?;
        for line in text.lines() {
            if let Some(src) = line
                .split_whitespace()
                .next()
                .filter(|s| s.starts_with('/'))
            {
                if let Some(rel) = under(Path::new(src)) {
                    files.insert(rel);
                }
            }
        }
        let (t, _) = replace_all_paths(&text, &old_s, &new_s);
        crate::fsutil::rewrite(&dst, t.as_bytes(), 0o644)?;
        fstab_rel = Some(dst);
    }
    for rel in &files {
        let (src, dst) = (old_dir.join(rel), new_dir.join(rel));
        if dst.exists() || std::fs::symlink_metadata(&src).is_err() {
            continue;
        }
        if let Some(p) = dst.parent() {
            storage::make::mkdir_p(p)?;
        }
        let md = std::fs::symlink_metadata(&src)
            .with_context(|| format!("inspecting {}", src.display()))?;
        if md.is_dir() {
            storage::make::mkdir_p(&dst)?;
            storage::copy::copy_dir(&src, &dst, Some(super::interrupted()))
                .with_context(|| format!("copying {}", src.display()))?;
        } else if md.is_file() {
            let is_conf = conf.values("lxc.include").any(|v| Path::new(v) == src);
            if is_conf {
                let mut inc = ConfText::read(&src)?;
                inc.rewrite_paths(path_key, &old_s, &new_s);
                if renew_macs {
                    inc.renew_hwaddrs();
                }
                let mode = md_mode(&md);
                crate::fsutil::write_atomic(&dst, inc.text().as_bytes(), mode)?;
            } else {
                crate::fsutil::copy_small(&src, &dst)
                    .with_context(|| format!("copying {}", src.display()))?;
            }
        }
    }
    conf.rewrite_paths(path_key, &old_s, &new_s);
    if let Some(dst) = fstab_rel {
        conf.clear("lxc.mount.fstab");
        conf.clear("lxc.mount");
        conf.append("lxc.mount.fstab", &dst.to_string_lossy());
    }
    Ok(())
}

fn md_mode(md: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    md.permissions().mode() & 0o7777
}

/// OLD → NEW at path starts in free text (an fstab).
fn replace_all_paths(text: &str, old: &str, new: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut n = 0;
    for l in text.lines() {
        let (t, k) = super::conftext::replace_path_prefix(l, old, new);
        out.push_str(&t);
        out.push('\n');
        n += k;
    }
    (out, n)
}

/// LXC's clone_update_rootfs: run the clone hooks with the new rootfs
/// mounted, then give the rootfs's /etc/hostname the new name.
fn update_rootfs(
    origin: &Container,
    clone: &Container,
    rootfs: &Rootfs,
    opts: &CloneOptions,
) -> Result<()> {
    let cfg: &Config = &clone.config;
    let has_hooks = cfg.hooks_of("clone").next().is_some();
    if !has_hooks && opts.keep_name {
        return Ok(());
    }
    let mp = clone.dir.join("rootfs");
    if has_hooks {
        let (dir, _m) = storage::mount::as_directory(rootfs, &mp, false)?;
        let mut env = super::destroy::hook_env(clone, Some(&dir.to_string_lossy()));
        env.extra_env
            .push(("LXC_SRC_NAME".into(), origin.name.clone()));
        crate::start::hooks::run_hooks(cfg, "clone", &env, &opts.hook_args)
            .with_context(|| format!("Error executing clone hook for {}", clone.name))?;
        if !opts.keep_name {
            super::hostname::set_hostname(&dir, &clone.name)?;
        }
        return Ok(());
    }
    match rootfs.plain_dir() {
        Some(d) => super::hostname::set_hostname(d, &clone.name),
        None => {
            let tree = storage::mount::detached(rootfs, "")?;
            super::hostname::set_hostname_in(tree.fd.as_fd(), &mp, &clone.name)
        }
    }
}
