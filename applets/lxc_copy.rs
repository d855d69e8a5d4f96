//! lxc-copy: copy, snapshot, rename, or make an ephemeral copy of a container.
//applet: lxc-copy main copy, snapshot, rename or make an ephemeral copy of a container

use std::path::PathBuf;

use argh::{ArgsInfo, FromArgs};
use lxcbox::storage::{make::parse_size, Kind};
use lxcbox::store::clone::{self, CloneOptions};
use lxcbox::store::ephemeral::{self, EphemeralOptions};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-copy");

/// Copy container NAME: lxc-copy -n NAME -N NEWNAME [-p NEWPATH] [-B TYPE] [-s] [-K] [-M] [-L SIZE] [-- HOOK-OPTIONS]; lxc-copy -n NAME [-N NEWNAME] -e [-d|-F] [-D] [-t] [-m bind=SRC[:DEST][:ro],overlay=SRC[:DEST]] [-- COMMAND]; lxc-copy -n NAME -N NEWNAME -R
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// name of the new container
    #[argh(option, short = 'N', long = "newname", arg_name = "NEWNAME")]
    newname: Option<String>,
    /// lxcpath of the new container
    #[argh(option, short = 'p', long = "newpath", arg_name = "NEWPATH")]
    newpath: Option<String>,
    /// rename the container
    #[argh(switch, short = 'R', long = "rename")]
    rename: bool,
    /// create a snapshot instead of a full copy
    #[argh(switch, short = 's', long = "snapshot")]
    snapshot: bool,
    /// allow copying a running container
    #[argh(switch, short = 'a', long = "allowrunning")]
    allowrunning: bool,
    /// start the ephemeral container with the current tty as its console
    #[argh(switch, short = 'F', long = "foreground")]
    foreground: bool,
    /// start the ephemeral container in the background (the default)
    #[argh(switch, short = 'd', long = "daemon")]
    daemon: bool,
    /// make an ephemeral copy and start it (destroyed when it stops)
    #[argh(switch, short = 'e', long = "ephemeral")]
    ephemeral: bool,
    /// with -e: mount into the container, {bind,overlay}=/src[:/dest] (bind also :ro or :rw)
    #[argh(option, short = 'm', long = "mount", arg_name = "MNT")]
    mount: Vec<String>,
    /// backing store type of the copy (dir, overlay, btrfs, loop)
    #[argh(option, short = 'B', long = "backingstorage", arg_name = "TYPE")]
    backingstorage: Option<String>,
    /// size of a new loop image, SIZE[bkmgt]
    #[argh(option, short = 'L', long = "fssize", arg_name = "SIZE")]
    fssize: Option<String>,
    /// with -e: keep the copy after it stops
    #[argh(switch, short = 'D', long = "keepdata")]
    keepdata: bool,
    /// keep the hostname of the original container
    #[argh(switch, short = 'K', long = "keepname")]
    keepname: bool,
    /// keep the MAC addresses of the original container
    #[argh(switch, short = 'M', long = "keepmac")]
    keepmac: bool,
    /// with -e: put the copy's changes on a tmpfs (lost at reboot)
    #[argh(switch, short = 't', long = "tmpfs")]
    tmpfs: bool,
    /// arguments for lxc.hook.clone (with -e: the command to run)
    #[argh(positional, greedy, arg_name = "hook options")]
    args: Vec<String>,
}

/// `-B` as lxc-copy takes it: any prefix of "overlay" means overlay.
fn kind(b: &str) -> anyhow::Result<Kind> {
    if !b.is_empty() && "overlay".starts_with(b) {
        return Ok(Kind::Overlay);
    }
    Kind::from_name(b).ok_or_else(|| anyhow::anyhow!("{b} is not a valid backing storage type"))
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>(&SPEC, args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let name = c.name()?;
        let lxcpath = c.lxcpath();
        let mut hook_args = a.args;
        if hook_args.first().is_some_and(|x| x == "--") {
            hook_args.remove(0);
        }
        if a.newname.is_none() && !a.ephemeral {
            anyhow::bail!("You must provide a NEWNAME for the clone");
        }
        if a.rename {
            let new = a.newname.as_deref().unwrap_or_default();
            lxcbox::store::rename::rename(&lxcpath, name, new)
                .map_err(|e| e.context(format!("Renaming container {name} to {new} failed")))?;
            return Ok(0);
        }
        let opts = CloneOptions {
            new_name: a.newname,
            new_path: a.newpath,
            kind: a.backingstorage.as_deref().map(kind).transpose()?,
            snapshot: a.snapshot || a.ephemeral,
            allow_running: a.allowrunning,
            keep_name: a.keepname,
            keep_mac: a.keepmac,
            new_size: a.fssize.as_deref().map(parse_size).transpose()?,
            hook_args: hook_args.clone(),
            rcfile: c.rcfile.as_ref().map(PathBuf::from),
            ..Default::default()
        };
        if a.ephemeral {
            let eo = EphemeralOptions {
                clone: opts,
                keep_data: a.keepdata,
                tmpfs: a.tmpfs,
                mounts: ephemeral::parse_mounts(&a.mount)?,
                foreground: a.foreground && !a.daemon,
                command: hook_args,
                user: None,
                quiet: c.quiet,
            };
            return ephemeral::run(&lxcpath, name, &eo);
        }
        clone::clone(&lxcpath, name, &opts).map_err(|e| e.context("Failed to clone"))?;
        Ok(0)
    })
}
