//! lxc-create: define a new container from a template (or none).
//applet: lxc-create main create a container

use std::path::PathBuf;

use argh::{ArgsInfo, FromArgs};
use lxcbox::create::{self, CreateOptions};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-create");

/// lxc-create creates a container
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// backing store type to use (dir; "none" means dir)
    #[argh(option, short = 'B', long = "bdev", arg_name = "BDEV")]
    bdev: Option<String>,
    /// initial configuration file (default: lxc.default_config)
    #[argh(option, short = 'f', long = "config", arg_name = "CONFIG")]
    config: Option<String>,
    /// template to use to setup container ("none": a container without a rootfs)
    #[argh(option, short = 't', long = "template", arg_name = "TEMPLATE")]
    template: Option<String>,
    /// use LVM lv name LVNAME (with -B lvm)
    #[argh(option, short = '0', arg_name = "LVNAME")]
    lvname: Option<String>,
    /// use LVM vg called VG (with -B lvm)
    #[argh(option, short = '1', arg_name = "VG")]
    vgname: Option<String>,
    /// use LVM thin pool called TP (with -B lvm)
    #[argh(option, short = '2', arg_name = "TP")]
    thinpool: Option<String>,
    /// create fstype TYPE (with -B lvm, loop or rbd)
    #[argh(option, short = '3', arg_name = "TYPE")]
    fstype: Option<String>,
    /// create filesystem of size SIZE * unit U (bBkKmMgGtT; with -B lvm, loop or rbd)
    #[argh(option, short = '4', arg_name = "SIZE[U]")]
    fssize: Option<String>,
    /// create zfs under given zfsroot (with -B zfs)
    #[argh(option, short = '5', arg_name = "PATH")]
    zfsroot: Option<String>,
    /// place rootfs directory under DIR
    #[argh(option, short = '6', long = "dir", arg_name = "DIR")]
    dir: Option<String>,
    /// use Ceph RBD name RBDNAME (with -B rbd)
    #[argh(option, short = '7', arg_name = "RBDNAME")]
    rbdname: Option<String>,
    /// use Ceph RBD pool name POOL (with -B rbd)
    #[argh(option, short = '8', arg_name = "POOL")]
    rbdpool: Option<String>,
    /// options passed to the template
    #[argh(positional, greedy, arg_name = "template-options")]
    template_args: Vec<String>,
}

/// LXC compares option values as prefixes (`strncmp(arg, word, strlen(arg))`).
fn is(arg: &str, word: &str) -> bool {
    word.starts_with(arg)
}

/// LXC's validate_bdev_args: options that only make sense with one
/// backing store are refused with any other.
fn check_bdev_options(a: &Args, bdev: &str) -> anyhow::Result<()> {
    if is(bdev, "best") {
        return Ok(());
    }
    if (a.fstype.is_some() || a.fssize.is_some())
        && !(is(bdev, "lvm") || is(bdev, "loop") || is(bdev, "rbd"))
    {
        anyhow::bail!("Filesystem type and size are only valid with block devices");
    }
    if !is(bdev, "lvm") && (a.lvname.is_some() || a.vgname.is_some() || a.thinpool.is_some()) {
        anyhow::bail!("--lvname, --vgname and --thinpool are only valid with -B lvm");
    }
    if !is(bdev, "rbd") && (a.rbdname.is_some() || a.rbdpool.is_some()) {
        anyhow::bail!("--rbdname and --rbdpool are only valid with -B rbd");
    }
    if !is(bdev, "zfs") && a.zfsroot.is_some() {
        anyhow::bail!("zfsroot is only valid with -B zfs");
    }
    Ok(())
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let name = c.name()?;
        let Some(template) = a.template.as_deref() else {
            // LXC's two error lines.
            if !c.quiet {
                eprintln!("lxc-create: {name}: A template must be specified");
            }
            anyhow::bail!("Use \"none\" if you really want a container without a rootfs");
        };
        if a.dir.as_deref().is_some_and(|d| !d.starts_with('/')) {
            anyhow::bail!("--dir should use absolute path");
        }
        let bdev = a.bdev.as_deref().unwrap_or("_unset");
        check_bdev_options(&a, bdev)?;
        if !(is(bdev, "_unset") || is(bdev, "none") || is(bdev, "dir")) {
            anyhow::bail!("backing store \"{bdev}\" is not supported (only \"dir\")");
        }
        let template = (!is(template, "none")).then(|| template.to_string());
        if template.is_none() && !a.template_args.is_empty() {
            anyhow::bail!(
                "template options given without a template: {}",
                a.template_args.join(" ")
            );
        }
        let opts = CreateOptions {
            template,
            config: a.config.map(PathBuf::from),
            rootfs_dir: a.dir.map(PathBuf::from),
        };
        create::create(&c.lxcpath(), name, &opts)?;
        Ok(0)
    })
}
