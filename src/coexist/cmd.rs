//! The client side of LXC's command protocol (LXC 5.0.2 commands.c), enough
//! to ask a container a real LXC runs for its state, init pid and config
//! items.
//!
//! The monitor listens on the abstract unix socket `@LXCPATH/NAME/command`;
//! when `LXCPATH/NAME/command` does not fit in sun_path (108 bytes, less the
//! leading NUL and a terminating one LXC keeps), the name is
//! `lxc/<fnv-1a-64 of "LXCPATH/NAME", 16 hex digits>/command`
//! (lxc_make_abstract_socket_name). One request per connection:
//!
//! ```text
//! request:  struct lxc_cmd_req { int cmd; int datalen; void *data; }   16 bytes
//!           then datalen bytes of data
//! response: struct lxc_cmd_rsp { int ret; int datalen; void *data; }   16 bytes
//!           then datalen bytes of data
//! ```
//!
//! on x86_64 and the other 64-bit targets (native endianness; the pointer
//! field of the request is ignored by the server). Small answers (state,
//! pid) travel in the response's pointer field itself, with datalen 0.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};

use crate::monitor::State;

/// lxc_cmd_t values used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Command {
    GetState = 3,
    GetInitPid = 4,
    GetConfigItem = 7,
}

/// LXC's lxc_state_t, in order.
const STATES: [&str; 8] = [
    "STOPPED", "STARTING", "RUNNING", "STOPPING", "ABORTING", "FREEZING", "FROZEN", "THAWED",
];

/// The size of `struct lxc_cmd_req` / `struct lxc_cmd_rsp`: two ints and a
/// pointer.
const HEADER: usize = 8 + std::mem::size_of::<usize>();

/// LXC refuses answers larger than this (LXC_CMD_DATA_MAX).
const DATA_MAX: usize = 4096;

/// How long a monitor gets to answer (a stuck one must not hang lxc-ls).
const TIMEOUT: Duration = Duration::from_secs(2);

/// FNV-1a 64 (LXC's fnv_64a_buf from FNV1A_64_INIT).
fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The abstract name (without the leading NUL) of LXC's socket `suffix`
/// for container `name` of `lxcpath`, as LXC forms it.
pub fn socket_name(lxcpath: &str, name: &str, suffix: &str) -> String {
    // sun_path is 108 bytes; LXC keeps one for the leading NUL and one for
    // a terminating NUL of its own.
    let room = 108 - 2;
    let plain = format!("{lxcpath}/{name}/{suffix}");
    if plain.len() < room {
        return plain;
    }
    let hash = fnv1a64(format!("{lxcpath}/{name}").as_bytes());
    format!("lxc/{hash:016x}/{suffix}")
}

/// The lxcpath as LXC's tools use it: as given, trailing slashes dropped.
fn lxc_lxcpath(lxcpath: &str) -> &str {
    let t = lxcpath.trim_end_matches('/');
    if t.is_empty() {
        "/"
    } else {
        t
    }
}

fn command_name(lxcpath: &str, name: &str) -> String {
    socket_name(lxc_lxcpath(lxcpath), name, "command")
}

/// Connect to LXC's monitor of the container; `None` if nobody listens
/// (LXC: the container is stopped).
fn connect(lxcpath: &str, name: &str) -> Result<Option<UnixStream>> {
    let addr = SocketAddr::from_abstract_name(command_name(lxcpath, name).as_bytes())
        .context("forming LXC's command socket address")?;
    match UnixStream::connect_addr(&addr) {
        Ok(s) => {
            s.set_read_timeout(Some(TIMEOUT))?;
            s.set_write_timeout(Some(TIMEOUT))?;
            Ok(Some(s))
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).context("connecting to LXC's command socket"),
    }
}

/// One answer of LXC's monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub ret: i32,
    /// The response's pointer field (small answers travel in it).
    pub value: u64,
    pub data: Vec<u8>,
}

/// Send `cmd` with `data` and read the answer; `None` when no LXC monitor
/// listens, or it closed the connection without answering (it stopped).
pub fn call(lxcpath: &str, name: &str, cmd: Command, data: &[u8]) -> Result<Option<Answer>> {
    let Some(mut s) = connect(lxcpath, name)? else {
        return Ok(None);
    };
    let mut req = Vec::with_capacity(HEADER + data.len());
    req.extend_from_slice(&(cmd as i32).to_ne_bytes());
    req.extend_from_slice(&(data.len() as i32).to_ne_bytes());
    req.extend_from_slice(&[0u8; std::mem::size_of::<usize>()]);
    req.extend_from_slice(data);
    s.write_all(&req).context("sending to LXC's monitor")?;
    let mut head = [0u8; HEADER];
    match s.read_exact(&mut head) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e).context("reading LXC's monitor's answer"),
    }
    let ret = i32::from_ne_bytes(head[0..4].try_into().unwrap_or_default());
    let len = i32::from_ne_bytes(head[4..8].try_into().unwrap_or_default());
    let mut ptr = [0u8; 8];
    let psize = std::mem::size_of::<usize>();
    ptr[..psize].copy_from_slice(&head[8..8 + psize]);
    let value = u64::from_ne_bytes(ptr);
    if len < 0 || len as usize > DATA_MAX {
        bail!("LXC's monitor sent a {len}-byte answer");
    }
    let mut data = vec![0u8; len as usize];
    s.read_exact(&mut data)
        .context("reading LXC's monitor's answer")?;
    Ok(Some(Answer { ret, value, data }))
}

/// LXC_CMD_GET_STATE: `None` when no LXC monitor runs the container.
pub fn get_state(lxcpath: &str, name: &str) -> Result<Option<State>> {
    let Some(a) = call(lxcpath, name, Command::GetState, &[])? else {
        return Ok(None);
    };
    let idx = a.value as i32;
    match STATES.get(idx as usize).filter(|_| idx >= 0) {
        Some(s) => Ok(State::parse(s)),
        None => bail!("LXC's monitor answered an unknown state {idx}"),
    }
}

/// LXC_CMD_GET_INIT_PID.
pub fn get_init_pid(lxcpath: &str, name: &str) -> Result<Option<i32>> {
    let Some(a) = call(lxcpath, name, Command::GetInitPid, &[])? else {
        return Ok(None);
    };
    let pid = a.value as i64 as i32;
    Ok((pid > 0).then_some(pid))
}

/// LXC_CMD_GET_CONFIG_ITEM: the running config's value of `key`.
pub fn get_config_item(lxcpath: &str, name: &str, key: &str) -> Result<Option<String>> {
    let mut k = key.as_bytes().to_vec();
    k.push(0);
    let Some(a) = call(lxcpath, name, Command::GetConfigItem, &k)? else {
        return Ok(None);
    };
    if a.ret != 0 {
        return Ok(None);
    }
    let end = a.data.iter().position(|&b| b == 0).unwrap_or(a.data.len());
    Ok(Some(String::from_utf8_lossy(&a.data[..end]).into_owned()))
}

/// Bind (without listening) LXC's command socket name of the container:
/// while the fd lives, LXC cannot bind it, so it cannot start the
/// container, and its clients see a refused connection (stopped).
pub fn bind_name(lxcpath: &str, name: &str) -> rustix::io::Result<OwnedFd> {
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    let addr = SocketAddrUnix::new_abstract_name(command_name(lxcpath, name).as_bytes())?;
    rustix::net::bind(fd.as_fd(), &addr)?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_lxc_forms_them() {
        assert_eq!(
            socket_name("/var/lib/lxc", "c1", "command"),
            "/var/lib/lxc/c1/command"
        );
        assert_eq!(
            command_name("/var/lib/lxc//", "c1"),
            "/var/lib/lxc/c1/command"
        );
        // 106 bytes or more: hashed. FNV-1a 64 of "a" is af63dc4c8601ec8c.
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let long = format!("/{}", "x".repeat(100));
        let n = socket_name(&long, "c", "command");
        assert_eq!(
            n,
            format!(
                "lxc/{:016x}/command",
                fnv1a64(format!("{long}/c").as_bytes())
            )
        );
        // The longest plain name: 105 bytes.
        let p = format!("/{}", "y".repeat(105 - "/c/command".len() - 1));
        assert_eq!(socket_name(&p, "c", "command").len(), 105);
    }

    #[test]
    fn a_stopped_container_answers_nothing() {
        let lp = format!("/nonexistent-{}", std::process::id());
        assert_eq!(get_state(&lp, "c").unwrap(), None);
        assert_eq!(get_init_pid(&lp, "c").unwrap(), None);
        // A bound, not listening, name refuses connections: "stopped".
        let held = bind_name(&lp, "c").unwrap();
        assert_eq!(get_state(&lp, "c").unwrap(), None);
        assert_eq!(
            bind_name(&lp, "c").unwrap_err(),
            rustix::io::Errno::ADDRINUSE
        );
        drop(held);
        bind_name(&lp, "c").unwrap();
    }
}
