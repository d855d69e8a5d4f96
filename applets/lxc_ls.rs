//! lxc-ls: list the containers of an lxcpath.
//applet: lxc-ls main list the existing containers

use argh::{ArgsInfo, FromArgs};
use lxcbox::listing::ls::{self, Column, Filter, DEFAULT_COLUMNS};
use lxcbox::listing::nested;
use regex_lite::Regex;

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-ls").name_optional().many_lxcpaths();

/// lxc-ls list containers
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// one container per line
    #[argh(switch, short = '1', long = "line")]
    line: bool,
    /// use a fancy, column-based output
    #[argh(switch, short = 'f')]
    fancy: bool,
    /// comma separated list of columns to show in the fancy output: NAME,
    /// STATE, PID, RAM, SWAP, AUTOSTART, GROUPS, INTERFACE, IPV4, IPV6,
    /// UNPRIVILEGED
    #[argh(option, short = 'F', long = "fancy-format", arg_name = "COLUMNS")]
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
    /// list nested containers up to NUM (default is 5) levels of nesting
    #[argh(option, arg_name = "[NUM]")]
    nesting: Option<String>,
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
    common::main(&SPEC, args, |c, a: Args| {
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
        // As LXC: -F only shapes the table that -f asks for.
        let columns = if a.fancy {
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
        // LXC: --nesting alone (or with a value it cannot read) means 5
        // levels, --nesting=0 none.
        let depth = a.nesting.as_deref().map(|n| {
            n.parse::<u32>()
                .ok()
                .filter(|_| !n.starts_with('-'))
                .unwrap_or(nested::DEFAULT_DEPTH)
        });
        let mut entries = Vec::new();
        for p in c.all_lxcpaths() {
            match depth {
                Some(d) if d > 0 => entries.extend(nested::collect(&p, &filter, d)),
                _ => entries.extend(ls::collect(&p).into_iter().filter(|e| filter.matches(e))),
            }
        }
        if a.json {
            println!("{}", serde_json::to_string_pretty(&entries)?);
        } else if let Some(cols) = columns {
            print!("{}", ls::render_table(&entries, &cols));
        } else {
            print!(
                "{}",
                ls::render_names(&entries, ls::terminal_width(), a.line)
            );
        }
        Ok(0)
    })
}
