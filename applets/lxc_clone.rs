//! lxc-clone: the classic (LXC 1.x) spelling of lxc-copy.
//applet: lxc-clone main clone a container (classic tool, see lxc-copy)

use argh::{ArgsInfo, FromArgs};
use lxcbox::storage::{make::parse_size, Kind};
use lxcbox::store::clone::{self, CloneOptions};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-clone");

/// Clone container ORIG as NEW: lxc-clone -o ORIG -n NEW [-s] [-B TYPE] [-K] [-M] [-L SIZE] [-p LXCPATH] [-P NEWPATH] [-R] [-- HOOK-OPTIONS]
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// name of the original container
    #[argh(option, short = 'o', long = "orig")]
    orig: Option<String>,
    /// create a snapshot instead of a full copy
    #[argh(switch, short = 's', long = "snapshot")]
    snapshot: bool,
    /// backing store type of the clone
    #[argh(option, short = 'B', long = "backingstore")]
    backingstore: Option<String>,
    /// keep the hostname of the original container
    #[argh(switch, short = 'K', long = "keepname")]
    keepname: bool,
    /// keep the MAC addresses of the original container
    #[argh(switch, short = 'M', long = "keepmac")]
    keepmac: bool,
    /// size of a new loop image, SIZE[bkmgt]
    #[argh(option, short = 'L', long = "fssize")]
    fssize: Option<String>,
    /// lxcpath of the original container (-P is the new one's)
    #[argh(option, short = 'p', long = "orig-lxcpath")]
    orig_lxcpath: Option<String>,
    /// rename instead of copying
    #[argh(switch, short = 'R', long = "rename")]
    rename: bool,
    /// arguments for lxc.hook.clone
    #[argh(positional, greedy)]
    args: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    // Classic long spellings: --new is -n, --newpath is -P, --lxcpath is -p.
    let args: Vec<std::ffi::OsString> = args
        .into_iter()
        .map(|a| match a.to_str() {
            Some("--new") => "-n".into(),
            Some("--newpath") => "-P".into(),
            Some("--lxcpath") => "-p".into(),
            _ => a,
        })
        .collect();
    let (c, a) = match common::parse::<Args>(&SPEC, args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let new = c.name()?.to_string();
        let Some(orig) = a.orig.as_deref() else {
            anyhow::bail!("missing the original container, use -o ORIG");
        };
        let lxcpath = a.orig_lxcpath.clone().unwrap_or_else(|| {
            lxcbox::config::global::current()
                .map(|g| g.lxcpath())
                .unwrap_or_else(|_| lxcbox::config::global::DEFAULT_LXCPATH.into())
        });
        if a.rename {
            lxcbox::store::rename::rename(&lxcpath, orig, &new)?;
            return Ok(0);
        }
        let mut hook_args = a.args;
        if hook_args.first().is_some_and(|x| x == "--") {
            hook_args.remove(0);
        }
        let kind = match a.backingstore.as_deref() {
            None => None,
            Some(b) if "overlayfs".starts_with(b) && !b.is_empty() => Some(Kind::Overlay),
            Some(b) => Some(
                Kind::from_name(b)
                    .ok_or_else(|| anyhow::anyhow!("{b} is not a valid backing storage type"))?,
            ),
        };
        let opts = CloneOptions {
            new_name: Some(new.clone()),
            new_path: c.lxcpaths.first().cloned(),
            kind,
            snapshot: a.snapshot,
            keep_name: a.keepname,
            keep_mac: a.keepmac,
            new_size: a.fssize.as_deref().map(parse_size).transpose()?,
            hook_args,
            ..Default::default()
        };
        clone::clone(&lxcpath, orig, &opts)?;
        if !c.quiet {
            println!(
                "Created container {new} as {} of {orig}",
                if a.snapshot { "snapshot" } else { "copy" }
            );
        }
        Ok(0)
    })
}
