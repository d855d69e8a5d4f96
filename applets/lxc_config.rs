//! lxc-config: query the global LXC configuration (/etc/lxc/lxc.conf).
//!
//! LXC's lxc-config is not a getopt tool: it looks at its first argument
//! only, matching it as a prefix (`-h`, `--help`, `-l`, or an item name).
//! This applet keeps that, and adds `--rcfile FILE` (read FILE instead of
//! the global config) and `--json` before it.
//applet: lxc-config main query LXC system configuration

use std::ffi::OsString;
use std::path::Path;

use lxcbox::config::global::{GlobalConfig, GlobalKey, Scope};

use crate::common::{self, Common};

fn usage() -> i32 {
    println!("Usage: lxc-config -l: list all available configuration items");
    println!("       lxc-config item: print configuration item");
    0
}

/// LXC's test: `arg` is a prefix of `word` (`strncmp(arg, word, strlen(arg))`).
fn prefix_of(arg: &str, word: &str) -> bool {
    word.starts_with(arg)
}

pub fn main(args: Vec<OsString>) -> i32 {
    let mut args = match common::utf8_args("lxc-config", args) {
        Ok(a) => a.into_iter(),
        Err(m) => {
            eprintln!("{m}");
            return 1;
        }
    };
    let c = Common {
        applet: "lxc-config",
        ..Default::default()
    };
    let mut rcfile = None;
    let mut json = false;
    let mut first = None;
    while let Some(a) = args.next() {
        if a == "--json" {
            json = true;
        } else if a == "--rcfile" {
            match args.next() {
                Some(f) => rcfile = Some(f),
                None => {
                    eprintln!("lxc-config: option '--rcfile' requires an argument");
                    return 1;
                }
            }
        } else if let Some(f) = a.strip_prefix("--rcfile=") {
            rcfile = Some(f.to_string());
        } else {
            first = Some(a);
            break;
        }
    }
    common::run(&c, || {
        let g = GlobalConfig::load(rcfile.as_deref().map(Path::new), Scope::of_process())?;
        if json {
            let map: serde_json::Map<String, serde_json::Value> = GlobalKey::LISTED
                .into_iter()
                .map(|k| {
                    let v = g.get(k).map_or(serde_json::Value::Null, Into::into);
                    (k.name().to_string(), v)
                })
                .collect();
            println!("{}", serde_json::Value::Object(map));
            return Ok(0);
        }
        let Some(item) = first else {
            return Ok(usage());
        };
        if prefix_of(&item, "-h") || prefix_of(&item, "--help") {
            return Ok(usage());
        }
        if prefix_of(&item, "-l") {
            for k in GlobalKey::LISTED {
                println!("{}", k.name());
            }
            return Ok(0);
        }
        // The first item the argument is a prefix of, as LXC matches.
        let Some(key) = GlobalKey::LISTED
            .into_iter()
            .find(|k| prefix_of(&item, k.name()))
        else {
            println!("Unknown configuration item: {item}");
            return Ok(1);
        };
        match g.get(key) {
            Some(v) => println!("{v}"),
            None => println!("{item} is not set."),
        }
        Ok(0)
    })
}
