//! lxc-usernsexec: run a command as root of a new user namespace whose id
//! maps come from `-m` (or the caller's /etc/subuid and /etc/subgid).
//applet: lxc-usernsexec main run a command as root in a new user namespace

use std::io::Write;

use crate::common::getopt::{self, HasArg, Opt, Target};
use crate::common::utf8_args;
use lxcbox::userns::nsexec;

const APPLET: &str = "lxc-usernsexec";

/// LXC's usage text, word for word (it is not an lxc_arguments tool: a
/// plain getopt("m:hs") with its own usage()).
fn usage() -> String {
    format!(
        "usage: {APPLET} [-h] [-m <uid-maps>] [-s] -- [command [arg ..]]\n\
         \n  -h            this message\n\
         \n  -m <uid-maps> uid maps to use\n\
         \n  -s:           map self\n\
         \x20 uid-maps: [u|g|b]:ns_id:host_id:range\n\
         \x20           [u|g|b]: map user id, group id, or both\n\
         \x20           ns_id: the base id in the new namespace\n\
         \x20           host_id: the base id in the parent namespace\n\
         \x20           range: how many ids to map\n\
         \x20 Note: This program uses newuidmap(2) and newgidmap(2).\n\
         \x20       As such, /etc/subuid and /etc/subgid must grant the\n\
         \x20       calling user permission to use the mapped ranges\n"
    )
}

const fn opt(c: char, has_arg: HasArg, spelling: &'static str) -> Opt {
    Opt {
        short: Some(c),
        long: None,
        has_arg,
        target: Target::Applet {
            spelling,
            repeating: true,
        },
    }
}

const TABLE: &[Opt] = &[
    opt('m', HasArg::Required, "-m"),
    opt('h', HasArg::No, "-h"),
    opt('s', HasArg::No, "-s"),
];

/// A usage error: the reason, then LXC's usage text (on stderr, where a
/// script sees it; LXC prints it to stdout and loses it when that is not
/// a terminal, its printf buffer dropped by _exit).
fn usage_error(why: &str) -> i32 {
    eprintln!("{APPLET}: {why}");
    eprint!("{}", usage());
    1
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let args = match utf8_args(APPLET, args) {
        Ok(a) => a,
        Err(msg) => return usage_error(&msg),
    };
    let parsed = match getopt::parse(TABLE, &args, |f| f.opt.short == Some('h')) {
        Ok(p) => p,
        Err(mistake) => return usage_error(&mistake.to_string()),
    };
    let mut maps = Vec::new();
    let mut map_self = false;
    for f in &parsed.options {
        match f.opt.short {
            Some('m') => match nsexec::parse_map(f.value.as_deref().unwrap_or_default()) {
                Ok(m) => maps.extend(m),
                Err(e) => return usage_error(&format!("{e:#}")),
            },
            Some('h') => {
                print!("{}", usage());
                let _ = std::io::stdout().flush();
                return 0;
            }
            _ => map_self = true,
        }
    }
    if maps.is_empty() {
        match nsexec::default_maps() {
            Ok(m) => maps = m,
            Err(e) => {
                eprintln!("{APPLET}: {e:#}");
                return 1;
            }
        }
    }
    // As LXC: -s adds to the given (or default) maps.
    if map_self {
        nsexec::add_self(&mut maps);
    }
    let mut command = parsed.operands;
    if command.is_empty() {
        command = vec!["/bin/sh".to_string()];
    }
    match nsexec::run(&maps, &command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{APPLET}: {e:#}");
            1
        }
    }
}
