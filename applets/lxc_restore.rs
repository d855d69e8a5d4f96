//! lxc-restore: put a rootfs backup made by lxc-backup back in place.
//applet: lxc-restore main restore a container's rootfs from a backup (classic tool)

use argh::{ArgsInfo, FromArgs};
use lxcbox::store::backup;

use crate::common::{self, Spec};
use crate::lxc_backup;

const SPEC: Spec = Spec::new("lxc-restore").name_optional();

/// Restore the rootfs of CONTAINER from backup N (default: the newest): lxc-restore CONTAINER [N]
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// the container and optionally the backup number
    #[argh(positional, greedy)]
    args: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>(&SPEC, args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let (name, num) = lxc_backup::target(&c, &a.args)?;
        let Some(name) = name else {
            anyhow::bail!("missing container name, use --name option");
        };
        let n = backup::restore(&c.lxcpath(), &name, num)?;
        if !c.quiet {
            println!("{name}: restored from rootfs.backup.{n}");
        }
        Ok(0)
    })
}
