//! Console and ttys: pty pairs, the terminal proxy used by `lxc-console` and
//! `lxc-start -F`, escape handling, the console ring buffer and log, and the
//! monitor-side [`ConsoleHub`] that owns the pty masters of a running
//! container.
//!
//! See docs/console.md for the design (why the console goes through a relay
//! while ttyN masters are handed out directly).

mod client;
mod escape;
mod fdpass;
mod hub;
mod layout;
mod logfile;
mod proxy;
mod pty;
mod pump;
mod raw;
mod ring;
mod winch;

pub use client::{attach, banner, recv_grant, send_grant};
pub use escape::{parse_escape, Escape, DEFAULT_ESCAPE};
pub use fdpass::{recv_fds, send_fds};
pub use hub::{ConsoleHub, Grant, HubConfig};
pub use layout::{devpts_options, tty_nodes, TtyNode};
pub use logfile::ConsoleLog;
pub use proxy::{
    decode_winsize, encode_winsize, proxy, proxy_logged, OnSession, ProxyEnd, WINSIZE_MSG_LEN,
};
pub use pty::{get_winsize, set_controlling_tty, set_winsize, PtyPair};
pub use pump::{read_some, write_all};
pub use raw::RawGuard;
pub use ring::{RingBuffer, DEFAULT_BUFFER_SIZE};
