//! lxc-backup: the classic rootfs backup tool (lxc-restore undoes it).
//applet: lxc-backup main back up container root filesystems as rootfs.backup.N (classic tool)

use argh::{ArgsInfo, FromArgs};
use lxcbox::store::backup;

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-backup").name_optional();

/// Back up the rootfs of CONTAINER (every container without one) as LXCPATH/NAME/rootfs.backup.N: lxc-backup [CONTAINER [N]]
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// the container and optionally the backup number
    #[argh(positional, greedy)]
    args: Vec<String>,
}

/// The container (positional or -n) and the number.
pub fn target(c: &common::Common, a: &[String]) -> anyhow::Result<(Option<String>, Option<u64>)> {
    let mut it = a.iter().filter(|x| *x != "--");
    let name = c.name.clone().or_else(|| it.next().cloned());
    let num = it
        .next()
        .map(|n| {
            n.parse::<u64>()
                .map_err(|_| anyhow::anyhow!("invalid backup number \"{n}\""))
        })
        .transpose()?;
    if it.next().is_some() {
        anyhow::bail!("Too many arguments");
    }
    Ok((name, num))
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>(&SPEC, args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let lxcpath = c.lxcpath();
        let (name, num) = target(&c, &a.args)?;
        let names = match name {
            Some(n) => vec![n],
            None => backup::all_containers(&lxcpath),
        };
        let mut failed = false;
        for n in names {
            match backup::backup(&lxcpath, &n, num) {
                Ok(p) if !c.quiet => println!("{n}: backed up to {}", p.display()),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("lxc-backup: {n}: {e:#}");
                    failed = true;
                }
            }
        }
        Ok(i32::from(failed))
    })
}
