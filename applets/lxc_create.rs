//! lxc-create: create a container from a template on a backing store.
//applet: lxc-create main create a container

use std::path::PathBuf;

use argh::{ArgsInfo, FromArgs};
use lxcbox::storage::make::{parse_size, Specs};
use lxcbox::store::create::{self, CreateOptions};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-create");

/// lxc-create creates a container
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// backing store type to use: dir, overlay, btrfs, loop, best (lvm, zfs and rbd are refused: this host has no device-mapper, zfs or Ceph)
    #[argh(option, short = 'B', long = "bdev", arg_name = "BDEV")]
    bdev: Option<String>,
    /// initial configuration file (default: lxc.default_config)
    #[argh(option, short = 'f', long = "config", arg_name = "CONFIG")]
    config: Option<String>,
    /// template to use to setup container: a name (TEMPLATEDIR/lxc-NAME, else built in: busybox), /abs/path, or "none"
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
    /// create fstype TYPE (with -B loop; default ext4)
    #[argh(option, short = '3', arg_name = "TYPE")]
    fstype: Option<String>,
    /// create filesystem of size SIZE * unit U (bBkKmMgGtT; with -B loop; default 1G, unit M)
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
    // `-t NAME -h`: lxc-create's help, then the template's own.
    if let Some(code) = template_help(&args) {
        return code;
    }
    common::main(&SPEC, args, |c, a: Args| {
        let name = c.name()?;
        if a.template.is_none() {
            // LXC's two error lines.
            if !c.quiet {
                eprintln!("lxc-create: {name}: A template must be specified");
            }
            anyhow::bail!("Use \"none\" if you really want a container without a rootfs");
        }
        if a.dir.as_deref().is_some_and(|d| !d.starts_with('/')) {
            anyhow::bail!("--dir should use absolute path");
        }
        let bdev = a.bdev.as_deref().unwrap_or("_unset");
        check_bdev_options(&a, bdev)?;
        // LXC's "none" (any prefix of it) is dir.
        let bdev = match a.bdev.as_deref() {
            Some(b) if !b.is_empty() && is(b, "none") => Some("dir".to_string()),
            b => b.map(str::to_string),
        };
        let mut template_args = a.template_args;
        if template_args.first().is_some_and(|x| x == "--") {
            template_args.remove(0);
        }
        let opts = CreateOptions {
            template: a.template,
            template_args,
            config: a.config.map(PathBuf::from),
            bdev,
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

/// `lxc-create -t T -h` (before `--`): LXC prints its help on stderr, then
/// runs `TEMPLATE -h` (stdout), and exits 0.
fn template_help(args: &[std::ffi::OsString]) -> Option<i32> {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let head: Vec<&String> = args.iter().take_while(|a| *a != "--").collect();
    if !head.iter().any(|a| matches!(a.as_str(), "-h" | "--help")) {
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
    let _ = common::parse::<Args>(&SPEC, vec!["--help".into()]);
    match create::resolve_template(Some(&t)) {
        Ok(Some(tpl)) => Some(lxcbox::template::help(&tpl).unwrap_or(1)),
        Ok(None) => Some(0),
        Err(e) => {
            eprintln!("lxc-create: {e:#}");
            Some(1)
        }
    }
}
