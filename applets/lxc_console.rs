//! lxc-console: attach the terminal to a tty (or the console) of a running
//! container; <Ctrl+a q> detaches and leaves the session running.
//applet: lxc-console main attach to a container's console or tty

use argh::{ArgsInfo, FromArgs};
use lxcbox::console::{self, Grant, ProxyEnd};
use lxcbox::monitor::client::Client;

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-console");

/// lxc-console logs on the container with the identifier NAME
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// console tty number (0 = the console; default: the first free tty)
    #[argh(option, short = 't', arg_name = "NUMBER")]
    tty: Option<i64>,
    /// prefix for escape command: ^x or x for Ctrl-x (default ^a); -1 disables it
    #[argh(option, short = 'e', arg_name = "PREFIX")]
    escape: Option<String>,
    /// print the console ring buffer (output kept by the monitor) and exit
    #[argh(switch)]
    buffer: bool,
    /// with --buffer: empty the buffer after printing it
    #[argh(switch)]
    clear: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let name = c.name()?;
        let Some(mut client) = Client::connect(&c.lxcpath(), name)? else {
            anyhow::bail!("{name} is not running");
        };
        if a.buffer {
            let data = client.console_log(a.clear)?;
            use std::io::Write;
            std::io::stdout().write_all(&data)?;
            return Ok(0);
        }
        let escape = console::parse_escape(a.escape.as_deref().unwrap_or("^a"))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let tty = match a.tty {
            None | Some(-1) => None,
            Some(n) if n >= 0 => Some(n as u32),
            Some(n) => anyhow::bail!("invalid tty number {n}"),
        };
        let (tty, fds) = client.console(tty)?;
        let [peer, session]: [_; 2] = fds
            .try_into()
            .map_err(|_| anyhow::anyhow!("the monitor sent no tty"))?;
        let grant = Grant { tty, peer, session };
        drop(client);
        match console::attach(&grant, escape)? {
            ProxyEnd::Detached | ProxyEnd::PeerClosed => Ok(0),
        }
    })
}
