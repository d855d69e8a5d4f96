//! lxc-destroy: remove a container's directory and rootfs.
//applet: lxc-destroy main destroy a container

use std::path::Path;

use argh::{ArgsInfo, FromArgs};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-destroy");

/// lxc-destroy destroys a container with the identifier NAME
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// stop and destroy the container if it's still running
    #[argh(switch, short = 'f', long = "force")]
    force: bool,
    /// destroy including all snapshots
    #[argh(switch, short = 's', long = "snapshots")]
    snapshots: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let name = c.name()?;
        let lxcpath = c.lxcpath();
        let dir = Path::new(&lxcpath).join(name);
        // As LXC: a container that others were cloned from, or that has
        // snapshots, is not destroyed by accident.
        if dir.join("lxc_snapshots").exists() {
            anyhow::bail!("Destroying {name} failed: {name} has clones");
        }
        let has_snaps = std::fs::read_dir(dir.join("snaps")).is_ok_and(|mut d| d.next().is_some());
        if has_snaps {
            if !a.snapshots {
                anyhow::bail!("Destroying {name} failed: {name} has snapshots");
            }
            anyhow::bail!(
                "Destroying {name} failed: destroy its snapshots first (lxc-snapshot -d); \
                 lxcbox does not remove them together with the container"
            );
        }
        lxcbox::create::destroy(&lxcpath, name, a.force)?;
        Ok(0)
    })
}
