//! lxc-config: query the global LXC configuration (/etc/lxc/lxc.conf).

use std::path::Path;

use argh::FromArgs;
use lxcbox::paths::{GlobalConfig, GLOBAL_KEYS};

use crate::common;

/// Query LXC system configuration. With --rcfile, read that file instead of
/// /etc/lxc/lxc.conf.
#[derive(FromArgs)]
struct Args {
    /// list all available configuration items
    #[argh(switch, short = 'l')]
    list: bool,
    /// print the whole configuration as JSON
    #[argh(switch)]
    json: bool,
    /// the configuration item to print
    #[argh(positional)]
    item: Option<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    // -l is lxc-config's own "list", not the common --logpriority.
    let args: Vec<_> = args
        .into_iter()
        .map(|a| if a == "-l" { "--list".into() } else { a })
        .collect();
    let (c, a) = match common::parse::<Args>("lxc-config", "", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let g = GlobalConfig::load(c.rcfile.as_deref().map(Path::new))?;
        if a.list {
            for (k, _) in GLOBAL_KEYS {
                println!("{k}");
            }
            return Ok(0);
        }
        if a.json {
            let map: serde_json::Map<String, serde_json::Value> = GLOBAL_KEYS
                .iter()
                .map(|(k, _)| {
                    (
                        k.to_string(),
                        g.get(k).map_or(serde_json::Value::Null, Into::into),
                    )
                })
                .collect();
            println!("{}", serde_json::Value::Object(map));
            return Ok(0);
        }
        let Some(item) = a.item else {
            println!("Usage: lxc-config -l: list all available configuration items");
            println!("       lxc-config item: print configuration item");
            return Ok(0);
        };
        if !GLOBAL_KEYS.iter().any(|(k, _)| *k == item) {
            eprintln!("Unknown configuration item: {item}");
            return Ok(1);
        }
        match g.get(&item) {
            Some(v) => println!("{v}"),
            None => println!("{item} is not set."),
        }
        Ok(0)
    })
}
