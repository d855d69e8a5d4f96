//! The only home of `unsafe` in lxcbox.
//!
//! Everything here wraps a kernel interface that rustix does not cover (or
//! covers only partly), together with the probes of what this kernel offers
//! beyond lxcbox's floor of Linux 4.19 and the fallbacks for what it lacks
//! (`kernel`, `spawn`, `resolve`). Each `unsafe` block carries a
//! `// SAFETY:` comment saying why the call is sound.
#![allow(unsafe_code)]

pub mod attach;
pub mod bpf;
pub mod btrfs;
pub mod cgroup;
pub mod kernel;
pub mod keyring;
pub mod landlock;
pub mod loopdev;
pub mod mount;
pub mod net;
pub mod oldkernel;
pub mod privilege;
pub mod process;
pub mod pty;
pub mod resolve;
pub mod seccomp;
pub mod spawn;
pub mod time;
