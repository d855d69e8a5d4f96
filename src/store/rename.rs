//! lxc-copy -R / lxc-clone -R: renaming a container.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::clone::path_key;
use super::conftext::ConfText;
use super::hostname::{set_hostname, set_hostname_in};
use super::rdeps::{self, Ref};
use crate::container::{validate_name, Container};
use crate::storage::{self, Rootfs};

/// lxc-copy -R: rename a stopped container without snapshots or clones.
/// Unlike LXC (a copy followed by a destroy) the directory is renamed in
/// place (one rename(2): O(1), and an existing NEWNAME is never
/// overwritten); paths under the old directory, the uts name, the rootfs's
/// /etc/hostname and the dependency records follow.
pub fn rename(lxcpath: &str, name: &str, new_name: &str) -> Result<()> {
    validate_name(name)?;
    validate_name(new_name)?;
    let lxcpath = crate::monitor::canonical_lxcpath(lxcpath);
    if !Container::is_defined(&lxcpath, name) {
        bail!("Container {name} is not defined");
    }
    if super::is_running(&lxcpath, name)? {
        bail!("{name} is running");
    }
    let old_dir = Path::new(&lxcpath).join(name);
    let new_dir = Path::new(&lxcpath).join(new_name);
    let snaps = super::destroy::snaps_dir(&lxcpath, name);
    let has_snaps = std::fs::read_dir(&snaps).is_ok_and(|mut d| d.next().is_some());
    if rdeps::has_clones(&old_dir) || has_snaps {
        bail!("Renaming a container with snapshots is not supported");
    }
    if std::fs::symlink_metadata(&new_dir).is_ok() {
        bail!("error: clone: {} exists", new_dir.join("config").display());
    }
    // renameat2(RENAME_NOREPLACE): a NEWNAME made meanwhile is never replaced.
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        &old_dir,
        rustix::fs::CWD,
        &new_dir,
        rustix::fs::RenameFlags::NOREPLACE,
    )
    .with_context(|| format!("renaming {} to {}", old_dir.display(), new_dir.display()))?;
    let r = (|| -> Result<()> {
        let cfg_path = new_dir.join("config");
        let mut conf = ConfText::read(&cfg_path)?;
        let (o, n) = (old_dir.to_string_lossy(), new_dir.to_string_lossy());
        conf.rewrite_paths(
            |k| path_key(k) || matches!(k, "lxc.rootfs.path" | "lxc.rootfs" | "lxc.mount.fstab"),
            &o,
            &n,
        );
        conf.clear("lxc.utsname");
        conf.clear("lxc.uts.name");
        conf.append("lxc.uts.name", new_name);
        crate::fsutil::rewrite(&cfg_path, conf.text().as_bytes(), 0o640)?;
        let c = Container::load(&lxcpath, new_name, None)?;
        if let Some(r) = Rootfs::of(&c.config, &c.dir)? {
            match r.plain_dir() {
                Some(d) => set_hostname(d, new_name)?,
                None => {
                    let t = storage::mount::detached(&r, "")?;
                    set_hostname_in(t.fd.as_fd(), &c.dir.join("rootfs"), new_name)?;
                }
            }
        }
        let old = Ref {
            lxcpath: lxcpath.clone(),
            name: name.to_string(),
        };
        let me = Ref {
            lxcpath: lxcpath.clone(),
            name: new_name.to_string(),
        };
        for o in rdeps::rdepends_of(&new_dir) {
            let od = Path::new(&o.lxcpath).join(&o.name);
            rdeps::remove_snapshot(&od, &old)?;
            rdeps::add_snapshot(&od, &me)?;
        }
        Ok(())
    })();
    if r.is_err() {
        let _ = std::fs::rename(&new_dir, &old_dir);
    }
    r
}
