//! The only home of `unsafe` in lxcbox.
//!
//! Everything here wraps a kernel interface that rustix does not cover (or
//! covers only partly). Each `unsafe` block carries a `// SAFETY:` comment
//! saying why the call is sound.
#![allow(unsafe_code)]

pub mod attach;
pub mod bpf;
pub mod btrfs;
pub mod cgroup;
pub mod keyring;
pub mod landlock;
pub mod loopdev;
pub mod mount;
pub mod net;
pub mod process;
pub mod pty;
pub mod seccomp;
pub mod time;
