//! lxcbox runtime library: everything the applets share.
//!
//! No argument parsing and no `process::exit` here: applets (in `applets/`)
//! parse their command line and call into this library. All `unsafe` lives in
//! [`sys`].

pub mod config;
pub mod console;
pub mod log;
pub mod paths;
pub mod sys;

/// Version reported by `--version` and `lxc-version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The LXC release whose behaviour lxcbox follows.
pub const LXC_COMPAT_VERSION: &str = "5.0.2";
