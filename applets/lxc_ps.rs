//! lxc-ps (classic): processes of one container (-n) or of all running
//! containers, with a CONTAINER column.
//applet: lxc-ps main list the processes of containers (classic tool)

use argh::{ArgsInfo, FromArgs};
use lxcbox::listing::{ls, ps};
use lxcbox::monitor::client;

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-ps").name_optional();

/// lxc-ps lists the processes of container NAME, or of all running containers
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// print the list as JSON
    #[argh(switch)]
    json: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let lxcpath = c.lxcpath();
        let names: Vec<String> = match &c.name {
            Some(n) => vec![n.clone()],
            None => ls::collect(&lxcpath).into_iter().map(|e| e.name).collect(),
        };
        let mut inits = Vec::new();
        for n in names {
            if let Some(pid) = client::init_pid(&lxcpath, &n)? {
                inits.push((n, pid));
            }
        }
        let procs = ps::processes(&inits);
        if a.json {
            println!("{}", serde_json::to_string_pretty(&procs)?);
        } else {
            print!("{}", ps::render(&procs));
        }
        Ok(0)
    })
}
