//! lxc-snapshot: create, list, restore and destroy container snapshots.
//applet: lxc-snapshot main snapshot a container, list, restore or destroy its snapshots

use std::path::Path;

use argh::{ArgsInfo, FromArgs};
use lxcbox::store::snapshot;

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-snapshot");

/// Snapshot container NAME: lxc-snapshot -n NAME [-c COMMENTFILE] | -L [-C] | -r SNAP [-N NEWNAME] | -d SNAP|ALL
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// list all snapshots
    #[argh(switch, short = 'L', long = "list")]
    list: bool,
    /// restore snapshot NAME, e.g. snap0
    #[argh(option, short = 'r', long = "restore", arg_name = "NAME")]
    restore: Option<String>,
    /// NEWNAME for the restored container
    #[argh(option, short = 'N', long = "newname", arg_name = "NEWNAME")]
    newname: Option<String>,
    /// destroy snapshot NAME, or ALL of them
    #[argh(option, short = 'd', long = "destroy", arg_name = "NAME")]
    destroy: Option<String>,
    /// add FILE as the snapshot's comment
    #[argh(option, short = 'c', long = "comment", arg_name = "FILE")]
    comment: Option<String>,
    /// show snapshot comments (with -L)
    #[argh(switch, short = 'C', long = "showcomments")]
    showcomments: bool,
    /// print the listing as JSON (with -L)
    #[argh(switch)]
    json: bool,
    /// with -r: the new name (instead of -N)
    #[argh(positional, greedy, arg_name = "NEWNAME")]
    rest: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>(&SPEC, args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let name = c.name()?;
        let lxcpath = c.lxcpath();
        let rc = c.rcfile.as_deref().map(Path::new);
        if a.list {
            let snaps = snapshot::list(&lxcpath, name, rc)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&snaps)?);
                return Ok(0);
            }
            if snaps.is_empty() {
                println!("No snapshots");
                return Ok(0);
            }
            for s in snaps {
                // LXC prints a missing timestamp with printf's "(null)".
                println!(
                    "{} ({}) {}",
                    s.name,
                    s.lxcpath,
                    s.timestamp.as_deref().unwrap_or("(null)")
                );
                if a.showcomments {
                    if let Ok(t) = std::fs::read_to_string(&s.comment_path) {
                        print!("{t}");
                    }
                }
            }
            return Ok(0);
        }
        if let Some(snap) = &a.restore {
            let rest: Vec<&String> = a.rest.iter().filter(|r| *r != "--").collect();
            let new = match (&a.newname, rest.as_slice()) {
                (Some(n), _) => Some(n.as_str()),
                (None, []) => None,
                (None, [n]) => Some(n.as_str()),
                (None, _) => anyhow::bail!("Too many arguments"),
            };
            snapshot::restore(&lxcpath, name, snap, new, rc)?;
            return Ok(0);
        }
        if let Some(snap) = &a.destroy {
            snapshot::destroy(&lxcpath, name, snap, rc)
                .map_err(|e| e.context(format!("Error destroying snapshot {snap}")))?;
            return Ok(0);
        }
        snapshot::create(&lxcpath, name, a.comment.as_deref().map(Path::new), rc)
            .map_err(|e| e.context("Error creating a snapshot"))?;
        Ok(0)
    })
}
