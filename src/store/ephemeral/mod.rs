//! Ephemeral containers (`lxc.ephemeral = 1`, `lxc-copy -e`): destroyed
//! when they stop.
//!
//! The monitor destroys the container at its teardown ([`on_stop`]),
//! before it announces STOPPED, so whoever waits for STOPPED finds it
//! gone. A monitor that is killed cannot do that; for that case every
//! ephemeral container gets a sentinel ([`watch`]): a small process,
//! outside the container's cgroups and session, that holds the read end
//! of a pipe only the monitor can write to. When the monitor dies, however
//! it dies, the pipe reports EOF; the sentinel then waits for the
//! container's start lock, clears what the monitor left (its cgroups) and
//! destroys the container if it is still there.

mod sentinel;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use sentinel::{on_stop, watch, Sentinel};

use anyhow::{bail, Context, Result};

use super::clone::{self, CloneOptions};
use super::destroy::remove_container;
use crate::container::Container;
use crate::storage::{overlay, Kind};
use crate::sys::process;

/// One `-m` mount of lxc-copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSpec {
    /// bind=SRC[:DEST][:ro|rw]
    Bind {
        src: String,
        dest: String,
        opts: String,
    },
    /// overlay=SRC[:DEST]
    Overlay { src: String, dest: String },
}

/// lxc-copy's path cleanup: `.` and `..` resolved; absolute (`as_prefix`)
/// or relative to the container root.
fn normalize(path: &str, as_prefix: bool) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if c == ".." {
            parts.pop();
        } else {
            parts.push(c);
        }
    }
    let j = parts.join("/");
    if as_prefix {
        format!("/{j}")
    } else {
        j
    }
}

/// Parse `-m bind=/src:/dest:ro,overlay=/src2` (several `-m` may be given).
pub fn parse_mounts(specs: &[String]) -> Result<Vec<MountSpec>> {
    let mut out = Vec::new();
    for s in specs {
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let Some((kind, val)) = part.split_once('=') else {
                bail!("invalid mount \"{part}\": expected bind=... or overlay=...");
            };
            let f: Vec<&str> = val.split(':').collect();
            if f.is_empty() || f[0].is_empty() {
                bail!("invalid mount \"{part}\": no source");
            }
            let src = normalize(f[0], true);
            match kind {
                "bind" => {
                    let (dest, opts) = match f.len() {
                        1 => (f[0], "rw"),
                        2 if matches!(f[1], "ro" | "rw") => (f[0], f[1]),
                        2 => (f[1], "rw"),
                        3 => (f[1], f[2]),
                        _ => bail!("invalid mount \"{part}\": excess elements"),
                    };
                    if !matches!(opts, "ro" | "rw") {
                        bail!("invalid mount \"{part}\": option must be ro or rw");
                    }
                    out.push(MountSpec::Bind {
                        src,
                        dest: normalize(dest, false),
                        opts: opts.to_string(),
                    });
                }
                "overlay" => {
                    let dest = match f.len() {
                        1 => f[0],
                        2 => f[1],
                        _ => bail!("invalid mount \"{part}\": excess elements"),
                    };
                    out.push(MountSpec::Overlay {
                        src,
                        dest: normalize(dest, false),
                    });
                }
                k => bail!("invalid mount type \"{k}\" (expected bind or overlay)"),
            }
        }
    }
    Ok(out)
}

/// A fresh directory NAME#XXXXXX / NAME_XXXXXX (mkdtemp's letters).
fn mkdtemp(base: &Path, prefix: &str, sep: char, mode: u32) -> Result<PathBuf> {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for _ in 0..100 {
        let r = super::conftext::random_bytes(6);
        let suffix: String = r
            .iter()
            .map(|b| CHARS[*b as usize % CHARS.len()] as char)
            .collect();
        let p = base.join(format!("{prefix}{sep}{suffix}"));
        match std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), mode)
            .create(&p)
        {
            Ok(()) => {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))?;
                return Ok(p);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", p.display())),
        }
    }
    bail!("no free name for {prefix}{sep}XXXXXX in {}", base.display())
}

/// lxc-copy -e.
#[derive(Debug, Clone, Default)]
pub struct EphemeralOptions {
    pub clone: CloneOptions,
    /// -D: keep the container after it stops.
    pub keep_data: bool,
    /// -t: the overlay's upper and work dirs on a tmpfs.
    pub tmpfs: bool,
    pub mounts: Vec<MountSpec>,
    /// -F (else -d, the default).
    pub foreground: bool,
    /// After `--`: run this in the container, then shut it down.
    pub command: Vec<String>,
    /// Run the command as this user of the container (lxc-start-ephemeral -u).
    pub user: Option<String>,
    pub quiet: bool,
}

/// Make an ephemeral copy of `name` and start it. Returns the exit code.
pub fn run(lxcpath: &str, name: &str, o: &EphemeralOptions) -> Result<i32> {
    let lxcpath = crate::monitor::canonical_lxcpath(lxcpath);
    let mut co = o.clone.clone();
    co.snapshot = true;
    if o.tmpfs {
        if o.keep_data {
            bail!("A container can only be placed on a tmpfs when the overlay storage driver is used (and not with -D)");
        }
        match co.kind {
            None => co.kind = Some(Kind::Overlay),
            Some(Kind::Overlay) => {}
            Some(_) => bail!(
                "A container can only be placed on a tmpfs when the overlay storage driver is used"
            ),
        }
    }
    let new_path = co.new_path.clone().unwrap_or_else(|| lxcpath.clone());
    crate::storage::make::mkdir_p(Path::new(&new_path))?;
    if co.new_name.is_none() {
        let d = mkdtemp(Path::new(&new_path), name, '_', 0o770)?;
        co.new_name = Some(
            d.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        );
        co.made = Some(Vec::new());
    }
    co.hook_args = o.command.clone();
    let new_name = co.new_name.clone().unwrap_or_default();
    let cloned = clone::clone(&lxcpath, name, &co)?;
    let c = cloned.container;
    // From here a failure destroys the copy (unless -D keeps it, as LXC).
    let destroy = |c: &Container| {
        if !o.keep_data {
            if let Err(e) = remove_container(c, false) {
                log::error!("removing {}: {e:#}", c.name);
            }
        }
    };
    let r = prepare(&c, o, &new_name);
    let c = match r {
        Ok(c) => c,
        Err(e) => {
            destroy(&c);
            return Err(e);
        }
    };
    if !o.quiet {
        println!("Created {new_name} as clone of {name}");
        if o.tmpfs {
            println!("Container is placed on tmpfs.\nRebooting will cause all changes made to it to be lost!");
        }
    }
    let daemon = !o.foreground || !o.command.is_empty();
    let spec = crate::start::StartSpec {
        container: c.clone(),
        command: Vec::new(),
        execute: false,
        share: Vec::new(),
        uid: None,
        gid: None,
        daemon,
        foreground: !daemon,
        pidfile: None,
    };
    if let Err(e) = crate::start::start(spec) {
        if Container::is_defined(&c.lxcpath, &c.name) {
            destroy(&c);
        }
        return Err(e);
    }
    if daemon && !o.command.is_empty() {
        let (uid, gid) = match &o.user {
            Some(u) => {
                let (uid, gid) = user_ids(&c, u)?;
                (Some(uid), Some(gid))
            }
            None => (None, None),
        };
        let ao = crate::attach::AttachOptions {
            command: o.command.clone(),
            uid,
            gid,
            env: crate::attach::EnvPolicy {
                clear: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let r = attach_in_child(&c, &ao);
        let stop = crate::lifecycle::stop(
            &c.lxcpath,
            &c.name,
            crate::lifecycle::StopOptions {
                kill: false,
                timeout: Some(Duration::from_secs(30)),
                nowait: false,
                nokill: false,
            },
        );
        r.context("running the command in the ephemeral container")?;
        stop.context("shutting the ephemeral container down")?;
    }
    Ok(0)
}

/// The ephemeral settings: tmpfs, lxc.ephemeral, the -m mounts.
fn prepare(c: &Container, o: &EphemeralOptions, new_name: &str) -> Result<Container> {
    let cfg_path = c.dir.join("config");
    let mut conf = super::conftext::ConfText::read(&cfg_path)?;
    if o.tmpfs {
        mount_tmpfs(&c.dir, new_name, o.clone.keep_name)?;
    }
    if !o.keep_data {
        conf.append("lxc.ephemeral", "1");
    }
    for m in &o.mounts {
        let entry = match m {
            MountSpec::Overlay { src, dest } => {
                let upper = mkdtemp(&c.dir, "delta", '#', 0o700)?;
                let work = mkdtemp(&c.dir, "work", '#', 0o700)?;
                format!(
                    "{src} {dest} overlay lowerdir={src},upperdir={},workdir={},create=dir",
                    upper.display(),
                    work.display()
                )
            }
            MountSpec::Bind { src, dest, opts } => {
                let create = if Path::new(src).is_dir() {
                    "create=dir"
                } else {
                    "create=file"
                };
                format!("{src} {dest} none bind,optional,{opts},{create} 0 0")
            }
        };
        conf.append("lxc.mount.entry", &entry);
    }
    crate::fsutil::rewrite(&cfg_path, conf.text().as_bytes(), 0o640)?;
    Container::load(&c.lxcpath, &c.name, None)
}

/// lxc-copy -t: a tmpfs on the container's overlay/ directory, holding the
/// upper and work dirs (and the new /etc/hostname, which the tmpfs hides).
/// LXC mounts it from a pre-mount hook shell script; lxcbox mounts it here,
/// and destroying the container unmounts it.
fn mount_tmpfs(dir: &Path, new_name: &str, keep_name: bool) -> Result<()> {
    let ovl = dir.join(overlay::PRIVATE_DIR);
    crate::storage::make::mkdir_p(&ovl)?;
    let t = rustix::fs::open(
        &ovl,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .with_context(|| format!("opening {}", ovl.display()))?;
    // Seen by the host at once: mount(2) on the fd, on every kernel.
    crate::mount::mount_fs_on(std::os::fd::AsFd::as_fd(&t), "tmpfs", "mode=0755")
        .with_context(|| format!("mounting a tmpfs on {}", ovl.display()))?;
    let delta = overlay::delta_of(dir);
    crate::storage::make::mkdir_p(&delta)?;
    crate::storage::make::mkdir_p(&overlay::work_dir(&delta))?;
    if !keep_name {
        crate::storage::make::mkdir_p(&delta.join("etc"))?;
        crate::fsutil::write_atomic(
            &delta.join("etc/hostname"),
            format!("{new_name}\n").as_bytes(),
            0o644,
        )?;
    }
    Ok(())
}

/// A user's uid and gid from the container's /etc/passwd (read beneath
/// the rootfs, never through a symlink).
fn user_ids(c: &Container, user: &str) -> Result<(u32, u32)> {
    let rootfs =
        crate::storage::Rootfs::of(&c.config, &c.dir)?.context("the container has no rootfs")?;
    let tree = crate::storage::mount::detached(&rootfs, "")?;
    let f = crate::sys::resolve::open_beneath(
        std::os::fd::AsFd::as_fd(&tree.fd),
        Path::new("etc/passwd"),
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .context("opening the container's /etc/passwd")?;
    let mut text = String::new();
    std::fs::File::from(f)
        .read_to_string(&mut text)
        .context("reading the container's /etc/passwd")?;
    for l in text.lines() {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() >= 4 && f[0] == user {
            if let (Ok(u), Ok(g)) = (f[2].parse(), f[3].parse()) {
                return Ok((u, g));
            }
        }
    }
    if let Ok(u) = user.parse::<u32>() {
        return Ok((u, u));
    }
    bail!("no user \"{user}\" in the container's /etc/passwd")
}

/// lxc-attach joins the container's namespaces in the calling process:
/// do it in a child, so this process stays on the host to stop the copy.
fn attach_in_child(c: &Container, ao: &crate::attach::AttachOptions) -> Result<i32> {
    match process::fork().context("forking for the attach")? {
        None => {
            let code = match crate::attach::attach(&c.lxcpath, &c.name, ao) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("lxc-attach: {}: {e:#}", c.name);
                    1
                }
            };
            process::exit_now(code)
        }
        Some(pid) => match process::waitpid(pid, false)? {
            Some((_, st)) => Ok(st.code()),
            None => Ok(1),
        },
    }
}
