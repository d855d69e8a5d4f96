//! lxc-ps (classic): the processes of one container (-n) or of every
//! running container (--lxc, or no -n), with a CONTAINER column, in the ps
//! layouts the classic tool passed through (`lxc-ps -n NAME -- -ef`).
//applet: lxc-ps main list the processes of containers (classic tool)

use argh::{ArgsInfo, FromArgs};
use lxcbox::listing::{ls, ps};
use lxcbox::monitor::client;

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-ps").name_optional();

/// lxc-ps lists the processes of container NAME, or of all running containers
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// show processes in all containers (the default without -n)
    #[argh(switch)]
    lxc: bool,
    /// print the list as JSON
    #[argh(switch)]
    json: bool,
    /// ps options after `--`: -e, -A, -f (-ef), BSD a x u (aux)
    #[argh(positional, greedy, arg_name = "ps options")]
    ps_options: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let format = ps::parse_options(&a.ps_options)?;
        let lxcpath = c.lxcpath();
        let names: Vec<String> = match (&c.name, a.lxc) {
            (Some(n), false) => vec![n.clone()],
            _ => ls::collect(&lxcpath).into_iter().map(|e| e.name).collect(),
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
            let clock = ps::Clock::now();
            print!("{}", ps::render(&procs, format, &clock, &ps::user_names()));
        }
        Ok(0)
    })
}
