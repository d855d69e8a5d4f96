//! lxc-update-config: rewrite a container config's legacy keys to modern
//! ones in place, saving FILE.backup first.
//applet: lxc-update-config main update a container configuration to the current key names

use argh::{ArgsInfo, FromArgs};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-update-config").name_optional();

/// lxc-update-config rewrites the legacy keys of a container configuration
/// file to the current key names; the original is kept as FILE.backup
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// the container configuration file to update
    #[argh(option, short = 'c')]
    config: Option<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let no_args = args.is_empty();
    common::main(&SPEC, args, |_c, a: Args| {
        let Some(config) = a.config else {
            // LXC's script: without arguments, the usage and success;
            // with arguments but no -c (e.g. `-n x`), there is no file to
            // update and it fails (exit 1).
            if no_args {
                println!("lxc-update-config -h|--help [-c|--config]");
                println!("config: the container configuration to update");
                return Ok(0);
            }
            anyhow::bail!("no configuration file given (-c FILE)");
        };
        lxcbox::config::update_file(std::path::Path::new(&config))?;
        Ok(0)
    })
}
