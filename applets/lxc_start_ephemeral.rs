//! lxc-start-ephemeral: the classic tool, over lxc-copy -e.
//applet: lxc-start-ephemeral main start an ephemeral copy of a container (classic tool)

use argh::{ArgsInfo, FromArgs};
use lxcbox::store::clone::CloneOptions;
use lxcbox::store::ephemeral::{self, EphemeralOptions, MountSpec};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-start-ephemeral").name_optional();

/// Start an ephemeral copy of ORIG: lxc-start-ephemeral -o ORIG [-n NAME] [-b DIR[:DEST]]... [-u USER] [-k] [-d] [-- COMMAND]
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// name of the original container
    #[argh(option, short = 'o', long = "orig")]
    orig: Option<String>,
    /// bind mount a host directory, /src or /src:/dest (repeatable)
    #[argh(option, short = 'b', long = "bdir")]
    bdir: Vec<String>,
    /// run COMMAND as this user of the container
    #[argh(option, short = 'u', long = "user")]
    user: Option<String>,
    /// keep the copy after it stops
    #[argh(switch, short = 'k', long = "keep-data")]
    keep: bool,
    /// run in the background
    #[argh(switch, short = 'd', long = "daemon")]
    daemon: bool,
    /// the command to run in the copy (it is stopped afterwards)
    #[argh(positional, greedy)]
    command: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>(&SPEC, args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let Some(orig) = a.orig.as_deref() else {
            anyhow::bail!("missing the original container, use -o ORIG");
        };
        let mut command = a.command;
        if command.first().is_some_and(|x| x == "--") {
            command.remove(0);
        }
        let mounts = a
            .bdir
            .iter()
            .map(|b| {
                let (src, dest) = b.split_once(':').unwrap_or((b, b));
                ephemeral::parse_mounts(&[format!("bind={src}:{dest}")])
            })
            .collect::<anyhow::Result<Vec<Vec<MountSpec>>>>()?
            .concat();
        let eo = EphemeralOptions {
            clone: CloneOptions {
                new_name: c.name.clone(),
                ..Default::default()
            },
            keep_data: a.keep,
            tmpfs: false,
            mounts,
            foreground: !a.daemon && command.is_empty(),
            command,
            user: a.user,
            quiet: c.quiet,
        };
        ephemeral::run(&c.lxcpath(), orig, &eo)
    })
}
