//! lxc-netstat (classic): the sockets of a running container, as netstat
//! shows them. With netstat options and a host `netstat` or `ss`, that tool
//! runs inside the container's network namespace; otherwise the built-in
//! formatter reads /proc/INITPID/net (options -t -u -x -a -l -n only).
//applet: lxc-netstat main show the network sockets of a running container (classic)

use lxcbox::monitor::client;
use lxcbox::net::{NetstatOpts, Show};

use crate::common::{self, Common};

const USAGE: &str = "\
Usage: lxc-netstat -n NAME [-P PATH] [--] [netstat options]

Show the network sockets of container NAME. Options after the name go to
the host's netstat (or ss) run inside the container's network namespace;
without options, or without such a tool, a built-in netstat -n prints
TCP, UDP and UNIX sockets (understands -t -u -x -a -l -n).";

/// The command line. `-n NAME` (the first one), `-P`/`--lxcpath` and the
/// long common options are ours anywhere; the short `-o`/`-l` only before
/// the name (after it they are netstat's "timers" and "listening"); a
/// second `-n` is netstat's "numeric", so `lxc-netstat -n c1 -tln` works.
fn split(args: Vec<String>) -> Result<(Common, Vec<String>), String> {
    let mut c = Common {
        applet: "lxc-netstat",
        ..Default::default()
    };
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let before_name = c.name.is_none();
        let mut value = |o: &str| {
            it.next()
                .ok_or(format!("option '{o}' requires an argument"))
        };
        match a.as_str() {
            "--" => {
                rest.extend(it);
                break;
            }
            "-h" | "--help" | "-?" | "--usage" if before_name => return Err(String::new()),
            "-n" | "--name" if before_name => c.name = Some(value(&a)?),
            "-P" | "--lxcpath" => c.lxcpaths.push(value(&a)?),
            "--logfile" => c.logfile = Some(value(&a)?),
            "--logpriority" => c.logpriority = Some(value(&a)?),
            "-o" if before_name => c.logfile = Some(value(&a)?),
            "-l" if before_name => c.logpriority = Some(value(&a)?),
            "-q" | "--quiet" => c.quiet = true,
            _ => {
                if let Some(v) = a.strip_prefix("--name=").filter(|_| before_name) {
                    c.name = Some(v.to_string());
                } else if let Some(v) = a.strip_prefix("--lxcpath=") {
                    c.lxcpaths.push(v.to_string());
                } else {
                    rest.push(a);
                }
            }
        }
    }
    Ok((c, rest))
}

/// The built-in formatter's options; `None` when one is not understood.
fn builtin_opts(args: &[String]) -> Option<NetstatOpts> {
    let mut o = NetstatOpts::default();
    let mut show = None;
    for a in args {
        let flags = a
            .strip_prefix('-')
            .filter(|f| !f.is_empty() && !f.starts_with('-'))?;
        for f in flags.chars() {
            match f {
                't' => o.tcp = true,
                'u' => o.udp = true,
                'x' => o.unix = true,
                'a' => show = Some(Show::All),
                'l' => show = Some(Show::Listening),
                'n' => {}
                _ => return None,
            }
        }
    }
    o.show = match (args.is_empty(), show) {
        (_, Some(s)) => s,
        // Bare `lxc-netstat -n NAME`: everything, as netstat -an.
        (true, None) => Show::All,
        (false, None) => Show::Connected,
    };
    Some(o)
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let args = match common::utf8_args("lxc-netstat", args) {
        Ok(a) => a,
        Err(m) => {
            eprintln!("{m}");
            return 1;
        }
    };
    let (c, rest) = match split(args) {
        Ok(v) => v,
        Err(m) if m.is_empty() => {
            println!("{USAGE}");
            return 0;
        }
        Err(m) => {
            eprintln!("lxc-netstat: {m}\n{USAGE}");
            return 1;
        }
    };
    common::run(&c, || {
        let name = c.name()?;
        let pid = client::init_pid(&c.lxcpath(), name)?;
        let Some(pid) = pid else {
            anyhow::bail!("{name} is not running");
        };
        if !rest.is_empty() {
            if let Some(tool) = lxcbox::net::host_netstat_tool() {
                lxcbox::net::exec_in_netns(pid, &tool, &rest)?;
            }
        }
        let Some(o) = builtin_opts(&rest) else {
            anyhow::bail!(
                "no netstat or ss on this host; the built-in netstat understands -t -u -x -a -l -n, not: {}",
                rest.join(" ")
            );
        };
        print!("{}", lxcbox::net::netstat_with(pid, &o)?);
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn second_dash_n_belongs_to_netstat() {
        let (c, rest) = split(s(&["-n", "c1", "-P", "/p", "-tn", "-l"])).unwrap();
        assert_eq!(c.name.as_deref(), Some("c1"));
        assert_eq!(c.lxcpaths, ["/p"]);
        assert_eq!(rest, ["-tn", "-l"]);
        let (c, rest) = split(s(&["--name=c2", "--", "-n", "-l"])).unwrap();
        assert_eq!(c.name.as_deref(), Some("c2"));
        assert_eq!(rest, ["-n", "-l"]);
        assert!(split(s(&["-n"])).is_err());
    }

    #[test]
    fn builtin_understands_the_common_flags_only() {
        let o = builtin_opts(&s(&["-tln"])).unwrap();
        assert!(o.tcp && !o.udp && !o.unix);
        assert_eq!(o.show, Show::Listening);
        assert_eq!(builtin_opts(&[]).unwrap().show, Show::All);
        assert_eq!(builtin_opts(&s(&["-x"])).unwrap().show, Show::Connected);
        assert!(builtin_opts(&s(&["-p"])).is_none());
        assert!(builtin_opts(&s(&["--route"])).is_none());
    }
}
