//! lxc-ls: list the containers of an lxcpath.

use argh::FromArgs;
use lxcbox::listing::ls::{self, Column, Filter, DEFAULT_COLUMNS};
use regex_lite::Regex;

use crate::common;

/// List containers: lxc-ls [-P PATH] [-1] [-f [-F COLUMNS]] [--active] [--running] [--frozen] [--stopped] [--defined] [-g GROUPS] [--filter REGEX] [REGEX]
#[derive(FromArgs)]
struct Args {
    /// one container per line
    #[argh(switch, short = '1', long = "line")]
    line: bool,
    /// fancy table with NAME STATE AUTOSTART GROUPS IPV4 IPV6 UNPRIVILEGED
    #[argh(switch, short = 'f')]
    fancy: bool,
    /// comma separated columns of the fancy table (NAME STATE PID RAM SWAP AUTOSTART GROUPS INTERFACE IPV4 IPV6 UNPRIVILEGED)
    #[argh(option, short = 'F', long = "fancy-format")]
    fancy_format: Option<String>,
    /// list only active containers
    #[argh(switch)]
    active: bool,
    /// list only running containers
    #[argh(switch)]
    running: bool,
    /// list only frozen containers
    #[argh(switch)]
    frozen: bool,
    /// list only stopped containers
    #[argh(switch)]
    stopped: bool,
    /// list only defined containers
    #[argh(switch)]
    defined: bool,
    /// comma separated groups a container must all be in
    #[argh(option, short = 'g', long = "groups")]
    groups: Option<String>,
    /// regular expression the names must match
    #[argh(option)]
    filter: Option<String>,
    /// print the list as JSON
    #[argh(switch)]
    json: bool,
    /// regular expression the names must match
    #[argh(positional)]
    regex: Option<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-ls", "Fg", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let regex = match a.filter.as_ref().or(a.regex.as_ref()) {
            Some(r) => {
                Some(Regex::new(r).map_err(|e| anyhow::anyhow!("invalid regex {r:?}: {e}"))?)
            }
            None => None,
        };
        let filter = Filter {
            active: a.active,
            running: a.running,
            frozen: a.frozen,
            stopped: a.stopped,
            defined: a.defined,
            groups: a
                .groups
                .iter()
                .flat_map(|g| g.split(','))
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect(),
            regex,
        };
        let columns = if a.fancy || a.fancy_format.is_some() {
            let spec = a.fancy_format.as_deref().unwrap_or(DEFAULT_COLUMNS);
            match Column::parse_list(spec) {
                Ok(cols) => Some(cols),
                Err(bad) => {
                    // LXC reports this and still exits 0.
                    eprintln!("Invalid key: {bad}");
                    return Ok(0);
                }
            }
        } else {
            None
        };
        let mut entries = Vec::new();
        for p in lxcpaths(&c) {
            entries.extend(ls::collect(&p).into_iter().filter(|e| filter.matches(e)));
        }
        if a.json {
            println!("{}", serde_json::to_string_pretty(&entries)?);
        } else if let Some(cols) = columns {
            print!("{}", ls::render_table(&entries, &cols));
        } else {
            let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
            print!("{}", ls::render_names(&names, ls::terminal_width(), a.line));
        }
        Ok(0)
    })
}

/// Every -P given (LXC lists them all), else the default lxcpath.
fn lxcpaths(c: &common::Common) -> Vec<String> {
    if c.lxcpaths.is_empty() {
        vec![c.lxcpath()]
    } else {
        c.lxcpaths.clone()
    }
}
