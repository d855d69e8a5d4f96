//! lxc-create: create a container from a template on a backing store.

use std::path::PathBuf;

use argh::FromArgs;
use lxcbox::storage::make::{parse_size, Specs};
use lxcbox::store::create::{self, CreateOptions};

use crate::common;

/// Create container NAME: lxc-create -n NAME -t TEMPLATE [-f CONFIG] [-B BDEV] [--dir DIR] [--fstype TYPE] [--fssize SIZE] [-- TEMPLATE-OPTIONS]
#[derive(FromArgs)]
struct Args {
    /// template to use: a name (TEMPLATEDIR/lxc-NAME or built-in), /abs/path, or "none"
    #[argh(option, short = 't', long = "template")]
    template: Option<String>,
    /// initial configuration file (default: lxc.default_config)
    #[argh(option, short = 'f', long = "config")]
    config: Option<String>,
    /// backing store type: dir, overlay, btrfs, loop, best (lvm, zfs, rbd: not on this host)
    #[argh(option, short = 'B', long = "bdev")]
    bdev: Option<String>,
    /// place the rootfs directory under DIR
    #[argh(option, long = "dir")]
    dir: Option<String>,
    /// filesystem type of a loop image (default ext4)
    #[argh(option, long = "fstype")]
    fstype: Option<String>,
    /// size of a loop image, SIZE[bkmgt] (default 1G, unit M)
    #[argh(option, long = "fssize")]
    fssize: Option<String>,
    /// lvm: logical volume name (refused: no lvm on this host)
    #[argh(option, long = "lvname")]
    lvname: Option<String>,
    /// lvm: volume group (refused)
    #[argh(option, long = "vgname")]
    vgname: Option<String>,
    /// lvm: thin pool (refused)
    #[argh(option, long = "thinpool")]
    thinpool: Option<String>,
    /// zfs: root dataset (refused)
    #[argh(option, long = "zfsroot")]
    zfsroot: Option<String>,
    /// rbd: image name (refused)
    #[argh(option, long = "rbdname")]
    rbdname: Option<String>,
    /// rbd: pool (refused)
    #[argh(option, long = "rbdpool")]
    rbdpool: Option<String>,
    /// rbd: user (refused)
    #[argh(option, long = "rbduser")]
    rbduser: Option<String>,
    /// options for the template (after --)
    #[argh(positional, greedy)]
    template_args: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    // `-t NAME -h`: the template's own help, as LXC shows it.
    if let Some(code) = template_help(&args) {
        return code;
    }
    let (c, a) = match common::parse::<Args>("lxc-create", "tfB", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let name = c.name()?;
        let bdev = a.bdev.as_deref().unwrap_or("_unset");
        let block = ["lvm", "loop", "rbd", "best"]
            .iter()
            .any(|k| k.starts_with(bdev) && !bdev.is_empty());
        if (a.fstype.is_some() || a.fssize.is_some()) && a.bdev.is_some() && !block {
            anyhow::bail!("Filesystem type and size are only valid with block devices");
        }
        for (set, what) in [
            (
                a.lvname.is_some() || a.vgname.is_some() || a.thinpool.is_some(),
                "lvm",
            ),
            (a.zfsroot.is_some(), "zfs"),
            (
                a.rbdname.is_some() || a.rbdpool.is_some() || a.rbduser.is_some(),
                "rbd",
            ),
        ] {
            if set {
                let kind = lxcbox::storage::Kind::from_name(what).expect("a known type");
                kind.check_supported()?;
            }
        }
        let opts = CreateOptions {
            template: a.template,
            template_args: strip_dashdash(a.template_args),
            config: a.config.map(PathBuf::from),
            bdev: a.bdev,
            specs: Specs {
                dir: a.dir.map(PathBuf::from),
                fstype: a.fstype,
                fssize: a.fssize.as_deref().map(parse_size).transpose()?,
            },
            quiet: c.quiet,
        };
        create::create(&c.lxcpath(), name, &opts)?;
        Ok(0)
    })
}

fn strip_dashdash(mut v: Vec<String>) -> Vec<String> {
    if v.first().is_some_and(|a| a == "--") {
        v.remove(0);
    }
    v
}

/// `lxc-create -t T -h` (before `--`): run the template's help.
fn template_help(args: &[std::ffi::OsString]) -> Option<i32> {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let head: Vec<&String> = args.iter().take_while(|a| *a != "--").collect();
    if !head
        .iter()
        .any(|a| matches!(a.as_str(), "-h" | "--help" | "-?" | "--usage"))
    {
        return None;
    }
    let mut t = None;
    let mut it = head.iter();
    while let Some(a) = it.next() {
        if a.as_str() == "-t" || a.as_str() == "--template" {
            t = it.next().map(|s| s.to_string());
        } else if let Some(v) = a.strip_prefix("--template=") {
            t = Some(v.to_string());
        } else if let Some(v) = a.strip_prefix("-t").filter(|v| !v.is_empty()) {
            t = Some(v.to_string());
        }
    }
    let t = t?;
    // lxc-create's own help first, then the template's.
    let _ = common::parse::<Args>("lxc-create", "tfB", vec!["--help".into()]);
    match lxcbox::store::create::resolve_template(Some(&t)) {
        Ok(Some(tpl)) => {
            println!();
            Some(lxcbox::template::help(&tpl).unwrap_or(1))
        }
        Ok(None) => Some(0),
        Err(e) => {
            eprintln!("lxc-create: {e:#}");
            Some(1)
        }
    }
}
