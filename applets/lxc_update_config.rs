//! lxc-update-config: rewrite a container config's legacy keys to modern
//! ones in place, saving FILE.backup first.

use argh::FromArgs;

use crate::common;

/// Update a legacy container configuration file to the current key names.
/// The original is kept as FILE.backup.
#[derive(FromArgs)]
struct Args {
    /// the container configuration file to update
    #[argh(option, short = 'c')]
    config: Option<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-update-config", "c", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        // Like LXC's script: without a file, print the usage and succeed.
        let Some(config) = a.config else {
            println!("lxc-update-config -h|--help [-c|--config]");
            println!("config: the container configuration to update");
            return Ok(0);
        };
        lxcbox::config::update_file(std::path::Path::new(&config))?;
        Ok(0)
    })
}
