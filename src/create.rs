//! lxc-create and lxc-destroy: define a container (config and rootfs
//! directory) and remove it again.
//!
//! Templates, copies and snapshots come later: they plug in at
//! [`CreateOptions::template`] (today only "none" is accepted).

use std::ffi::CStr;
use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rustix::fs::{AtFlags, Mode, OFlags};

use crate::config::Config;
use crate::container::{validate_name, Container};
use crate::monitor::client;
use crate::monitor::proto::Request;

/// What lxc-create was asked for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// `-t`: `None` or "none" creates a config-only container.
    pub template: Option<String>,
    /// `-f`: base configuration; default: the global lxc.default_config.
    pub config: Option<PathBuf>,
    /// `--dir`: rootfs directory; default LXCPATH/NAME/rootfs.
    pub rootfs_dir: Option<PathBuf>,
}

/// Create LXCPATH/NAME with its config and an empty rootfs directory.
/// Returns the config path. Nothing is left behind on failure.
pub fn create(lxcpath: &str, name: &str, opts: &CreateOptions) -> Result<PathBuf> {
    validate_name(name)?;
    if let Some(t) = opts.template.as_deref().filter(|t| *t != "none") {
        bail!("template \"{t}\" is not supported (only \"none\")");
    }
    let base = base_config(opts)?;
    let dir = Path::new(lxcpath).join(name);
    if Container::is_defined(lxcpath, name) || dir.exists() {
        bail!("Container already exists");
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(lxcpath)
        .with_context(|| format!("creating lxcpath {lxcpath}"))?;
    // Not recursive: EEXIST here means another lxc-create won the race.
    DirBuilder::new()
        .mode(0o770)
        .create(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    // LXC's mode regardless of the umask.
    let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o770));
    let r = populate(&dir, name, &base, opts);
    if r.is_err() {
        let _ = remove_tree(&dir);
    }
    r
}

/// The base configuration text: -f FILE, else lxc.default_config when it exists.
fn base_config(opts: &CreateOptions) -> Result<(String, Config)> {
    let path = match &opts.config {
        Some(p) => p.clone(),
        None => {
            let p = crate::config::global::current()?.default_config();
            if !p.exists() {
                return Ok((String::new(), Config::default()));
            }
            p
        }
    };
    // Parse it now so a broken base config is refused before anything is made.
    let cfg = Config::load(&path)?;
    // As LXC: a rootfs the base names must exist (there is no template to
    // fill one).
    if let Some(r) = cfg.rootfs.path.as_deref().filter(|r| !r.is_empty()) {
        if !Path::new(r).exists() {
            bail!("The rootfs \"{r}\" does not exist");
        }
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok((text, cfg))
}

/// `-t none`: what LXC 5.0.2 writes, i.e. the base config's lines as they
/// are (blank lines dropped), then, if the base names a rootfs, that path
/// again with its `dir:` prefix. No rootfs directory and no hostname.
fn none_config_text(base: &str, cfg: &Config) -> String {
    let mut out = String::new();
    for l in base.lines().filter(|l| !l.trim().is_empty()) {
        out.push_str(l);
        out.push('\n');
    }
    if let Some(r) = cfg.rootfs.path.as_deref().filter(|r| !r.is_empty()) {
        let backend = cfg.rootfs.backend.as_deref().unwrap_or("dir");
        out.push_str(&format!("lxc.rootfs.path = {backend}:{r}\n"));
    }
    out
}

fn populate(
    dir: &Path,
    name: &str,
    base: &(String, Config),
    opts: &CreateOptions,
) -> Result<PathBuf> {
    let text = if opts.template.is_none() {
        none_config_text(&base.0, &base.1)
    } else {
        let rootfs = opts
            .rootfs_dir
            .clone()
            .unwrap_or_else(|| dir.join("rootfs"));
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&rootfs)
            .with_context(|| format!("creating rootfs {}", rootfs.display()))?;
        config_text(&base.0, name, &rootfs.to_string_lossy())
    };
    let path = dir.join("config");
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The base config followed by the keys LXC writes for a new container
/// (rootfs path with its backend prefix, hostname) unless the base sets them.
pub fn config_text(base: &str, name: &str, rootfs: &str) -> String {
    let sets = |keys: &[&str]| {
        base.lines().any(|l| {
            l.split_once('=')
                .is_some_and(|(k, _)| keys.contains(&k.trim()))
        })
    };
    let mut out = String::from(base);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !sets(&["lxc.rootfs.path", "lxc.rootfs"]) {
        out.push_str(&format!("lxc.rootfs.path = dir:{rootfs}\n"));
    }
    if !sets(&["lxc.uts.name", "lxc.utsname"]) {
        out.push_str(&format!("lxc.uts.name = {name}\n"));
    }
    out
}

/// Destroy LXCPATH/NAME (and a dir-backed rootfs kept elsewhere). A running
/// container is refused unless `force`, which kills it first.
pub fn destroy(lxcpath: &str, name: &str, force: bool) -> Result<()> {
    validate_name(name)?;
    // Never under a real LXC's feet: not while it runs the container, not
    // while it works on it.
    crate::coexist::refuse_if_run_by_lxc(lxcpath, name)?;
    let _lxc_lock = crate::coexist::lock::try_lock(lxcpath, name)?;
    let running = client::Client::connect(lxcpath, name)?.is_some();
    if !running && !Container::is_defined(lxcpath, name) {
        bail!("Container is not defined");
    }
    if running {
        if !force {
            bail!("Container is running");
        }
        stop_now(lxcpath, name)?;
    }
    let dir = Path::new(lxcpath).join(name);
    let outside_rootfs = Container::load(lxcpath, name, None)
        .ok()
        .and_then(|c| {
            let dir_backed = matches!(c.config.rootfs.backend.as_deref(), None | Some("dir"));
            // lxc.rootfs.managed = 0: the storage is not ours to remove.
            let managed = c.config.rootfs.managed != Some(false);
            c.rootfs_path().filter(|_| dir_backed && managed)
        })
        .filter(|r| !r.starts_with(&dir));
    if let Some(r) = outside_rootfs {
        if std::fs::symlink_metadata(&r).is_ok() {
            remove_tree(&r)?;
        }
    }
    remove_tree(&dir)
}

/// SIGKILL init through the monitor and wait for the monitor to go away.
fn stop_now(lxcpath: &str, name: &str) -> Result<()> {
    let _ = client::call(
        lxcpath,
        name,
        Request::Signal {
            signal: libc::SIGKILL,
        },
    )?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while client::Client::connect(lxcpath, name)?.is_some() {
        if Instant::now() > deadline {
            bail!("the container did not stop within 10 seconds");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Remove `path` and everything under it without following symlinks (a
/// symlink in an untrusted rootfs is unlinked, never entered) and without
/// crossing into other filesystems (a leftover bind mount inside the rootfs
/// must not take host data with it: that is an error instead).
pub fn remove_tree(path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let Some(last) = path.file_name() else {
        bail!("refusing to remove {}", path.display());
    };
    let pfd = rustix::fs::open(
        parent,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", parent.display()))?;
    remove_at(pfd.as_fd(), Path::new(last), path, None)
}

fn remove_at(dirfd: BorrowedFd<'_>, name: &Path, full: &Path, dev: Option<u64>) -> Result<()> {
    let st = rustix::fs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)
        .with_context(|| format!("inspecting {}", full.display()))?;
    let is_dir = rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory;
    if !is_dir {
        return rustix::fs::unlinkat(dirfd, name, AtFlags::empty())
            .with_context(|| format!("removing {}", full.display()));
    }
    if dev.is_some_and(|d| d != st.st_dev) {
        bail!(
            "refusing to remove {}: another filesystem is mounted there",
            full.display()
        );
    }
    let fd = rustix::fs::openat(
        dirfd,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("opening {}", full.display()))?;
    let mut children = Vec::new();
    let rd =
        rustix::fs::Dir::read_from(&fd).with_context(|| format!("reading {}", full.display()))?;
    for e in rd {
        let e = e.with_context(|| format!("reading {}", full.display()))?;
        let n: &CStr = e.file_name();
        if n != c"." && n != c".." {
            children.push(n.to_owned());
        }
    }
    for c in children {
        let p = Path::new(std::ffi::OsStr::from_bytes(c.to_bytes()));
        remove_at(fd.as_fd(), p, &full.join(p), Some(st.st_dev))?;
    }
    rustix::fs::unlinkat(dirfd, name, AtFlags::REMOVEDIR)
        .with_context(|| format!("removing {}", full.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_text_appends_missing_keys() {
        assert_eq!(
            config_text("lxc.tty.max = 1", "c1", "/p/c1/rootfs"),
            "lxc.tty.max = 1\nlxc.rootfs.path = dir:/p/c1/rootfs\nlxc.uts.name = c1\n"
        );
        assert_eq!(
            config_text("lxc.utsname = x\nlxc.rootfs.path = /r\n", "c1", "/p"),
            "lxc.utsname = x\nlxc.rootfs.path = /r\n"
        );
    }

    #[test]
    fn remove_tree_does_not_follow_symlinks() {
        let base = std::env::temp_dir().join(format!("lxcbox-rmtree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let victim = base.join("victim");
        let tree = base.join("tree");
        std::fs::create_dir_all(&victim).unwrap();
        std::fs::write(victim.join("keep"), "x").unwrap();
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/f"), "x").unwrap();
        std::os::unix::fs::symlink(&victim, tree.join("a/link")).unwrap();
        let r = remove_tree(&tree);
        let kept = victim.join("keep").exists();
        let gone = !tree.exists();
        let _ = std::fs::remove_dir_all(&base);
        r.unwrap();
        assert!(kept, "the symlink target survived");
        assert!(gone);
    }
}
