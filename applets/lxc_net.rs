//! lxc-net: the container bridge with NAT and DHCP (LXC's lxc-net service,
//! built in). Exit: 0 done; 1 failure, or already running / not running
//! (LXC's messages); 2 usage; status: 0 running, 1 dead, 3 stopped.
//applet: lxc-net main set up the container bridge with NAT and DHCP (LXC's lxc-net)

use std::path::Path;

use argh::{ArgsInfo, FromArgs};
use lxcbox::lxcnet::{self, conf, Done};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-net").name_optional().warnings_on_stderr();

/// lxc-net sets up, tears down or shows the container bridge with NAT and DHCP
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// read FILE instead of /etc/default/lxc-net
    #[argh(option, short = 'f', arg_name = "FILE")]
    file: Option<String>,
    /// status as JSON
    #[argh(switch)]
    json: bool,
    /// start, stop, restart (reload, force-reload) or status
    #[argh(positional, arg_name = "COMMAND")]
    command: Option<String>,
}

const USAGE: &str = "Usage: lxc-net {start|stop|restart|reload|force-reload|status}";

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>(&SPEC, args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let cmd = a.command.clone().unwrap_or_default();
    if !matches!(
        cmd.as_str(),
        "start" | "stop" | "restart" | "reload" | "force-reload" | "status"
    ) {
        eprintln!("{USAGE}");
        return 2;
    }
    common::run(&c, || {
        let net = conf::load(a.file.as_deref().map(Path::new))?;
        let report = |d: Done| match d {
            Done::AlreadyRunning => {
                println!("lxc-net is already running");
                1
            }
            Done::NotRunning => {
                println!("lxc-net isn't running");
                1
            }
            Done::Ok | Done::Disabled => 0,
        };
        Ok(match cmd.as_str() {
            "start" => report(lxcnet::start(&net)?),
            "stop" => report(lxcnet::stop(&net)?),
            "status" => {
                let s = lxcnet::status(&net)?;
                if a.json {
                    println!("{}", serde_json::to_string_pretty(&s)?);
                } else {
                    print!("{}", s.render());
                }
                s.exit_code()
            }
            _ => {
                // As LXC's script: stop (not running is fine), then start.
                lxcnet::stop(&net)?;
                report(lxcnet::start(&net)?)
            }
        })
    })
}
