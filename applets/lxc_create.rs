//! lxc-create: define a new container (config-only with `-t none`).

use std::path::PathBuf;

use argh::FromArgs;
use lxcbox::create::{self, CreateOptions};

use crate::common;

/// Create container NAME: lxc-create -n NAME [-t none] [-f CONFIG] [--dir DIR] [-B dir]
#[derive(FromArgs)]
struct Args {
    /// template to use ("none", or omitted: config only)
    #[argh(option, short = 't', long = "template")]
    template: Option<String>,
    /// initial configuration file (default: lxc.default_config)
    #[argh(option, short = 'f', long = "config")]
    config: Option<String>,
    /// backing store type (only "dir")
    #[argh(option, short = 'B', long = "bdev")]
    bdev: Option<String>,
    /// place the rootfs directory under DIR
    #[argh(option, long = "dir")]
    dir: Option<String>,
    /// arguments for the template
    #[argh(positional, greedy)]
    _template_args: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-create", "tfB", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let name = c.name()?;
        if let Some(b) = a.bdev.as_deref().filter(|b| *b != "dir") {
            anyhow::bail!("backing store \"{b}\" is not supported (only \"dir\")");
        }
        let opts = CreateOptions {
            template: a.template,
            config: a.config.map(PathBuf::from),
            rootfs_dir: a.dir.map(PathBuf::from),
        };
        create::create(&c.lxcpath(), name, &opts)?;
        Ok(0)
    })
}
