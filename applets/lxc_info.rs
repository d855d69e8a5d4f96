//! lxc-info: state, init pid, addresses, usage stats and config items of
//! one container.
//applet: lxc-info main query information about a container

use std::path::Path;

use argh::{ArgsInfo, FromArgs};
use lxcbox::listing::info::{self, InfoRequest};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-info");

/// lxc-info display some information about a container with the identifier NAME
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// show configuration variable KEY from running container (repeatable)
    #[argh(option, short = 'c', long = "config", arg_name = "KEY")]
    config: Vec<String>,
    /// shows the IP addresses
    #[argh(switch, short = 'i')]
    ips: bool,
    /// shows the state of the container
    #[argh(switch, short = 's')]
    state: bool,
    /// shows the process id of the init container
    #[argh(switch, short = 'p')]
    pid: bool,
    /// shows usage stats
    #[argh(switch, short = 'S')]
    stats: bool,
    /// shows stats as raw numbers, not humanized
    #[argh(switch, short = 'H', long = "no-humanize")]
    no_humanize: bool,
    /// print the information as JSON
    #[argh(switch)]
    json: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let name = c.name()?;
        let req = InfoRequest {
            state: a.state,
            pid: a.pid,
            ips: a.ips,
            stats: a.stats,
            humanize: !a.no_humanize,
            keys: a.config,
        };
        let lxcpath = c.lxcpath();
        let Some(info) = info::gather(&lxcpath, name, c.rcfile.as_deref().map(Path::new), &req)?
        else {
            eprintln!("{name} doesn't exist");
            return Ok(1);
        };
        if a.json {
            println!("{}", serde_json::to_string_pretty(&info)?);
            return Ok(0);
        }
        let (out, err) = info::render(&info, &req);
        print!("{out}");
        eprint!("{err}");
        Ok(0)
    })
}
