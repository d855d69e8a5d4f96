//! lxc-console: attach the terminal to a tty (or the console) of a running
//! container; <Ctrl+a q> detaches and leaves the session running.

use argh::FromArgs;
use lxcbox::console::{self, Grant, ProxyEnd};
use lxcbox::monitor::client::Client;

use crate::common;

/// Attach to a container's tty: lxc-console -n NAME [-t TTYNUM] [-e ESCAPE] [--buffer [--clear]]
#[derive(FromArgs)]
struct Args {
    /// tty number to connect to (0 = the console; default: the first free tty)
    #[argh(option, short = 't')]
    tty: Option<i64>,
    /// escape prefix: ^x or x for Ctrl-x (default ^a); -1 disables it
    #[argh(option, short = 'e')]
    escape: Option<String>,
    /// print the console ring buffer (output kept by the monitor) and exit
    #[argh(switch)]
    buffer: bool,
    /// with --buffer: empty the buffer after printing it
    #[argh(switch)]
    clear: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-console", "te", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
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
