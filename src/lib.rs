//! lxcbox runtime library: everything the applets share.
//!
//! No argument parsing and no `process::exit` here: applets (in `applets/`)
//! parse their command line and call into this library. All `unsafe` lives in
//! [`sys`].

pub mod attach;
pub mod autostart;
pub mod cgroup;
pub mod checkconfig;
pub mod coexist;
pub mod config;
pub mod confine;
pub mod console;
pub mod container;
pub mod dhcp;
pub mod environ;
pub mod fsutil;
pub mod init;
pub mod lifecycle;
pub mod listing;
pub mod log;
pub mod lsm;
pub mod lxcnet;
pub mod monitor;
pub mod mount;
pub mod namespace;
pub mod net;
pub mod paths;
pub mod sealed;
pub mod seccomp;
pub mod shvars;
pub mod start;
pub mod storage;
pub mod store;
pub mod sys;
pub mod template;
pub mod usernic;
pub mod userns;

/// Version reported by `--version` and `lxc-version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The LXC release whose behaviour lxcbox follows.
pub const LXC_COMPAT_VERSION: &str = "5.0.2";
