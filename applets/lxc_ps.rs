//! lxc-ps (classic): processes of one container (-n) or of all running
//! containers, with a CONTAINER column.

use argh::FromArgs;
use lxcbox::listing::{ls, ps};
use lxcbox::monitor::client;

use crate::common;

/// List the processes of container NAME, or of all running containers: lxc-ps [-n NAME] [--json]
#[derive(FromArgs)]
struct Args {
    /// print the list as JSON
    #[argh(switch)]
    json: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-ps", "", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
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
