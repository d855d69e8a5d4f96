//! Talking to a container's monitor over its command socket.

use std::os::fd::OwnedFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};

use anyhow::{bail, Context, Result};

use super::proto::{recv_json, send_json, Envelope, Info, Request, Response, PROTO_VERSION};
use super::{canonical_lxcpath, fnv64, State};

/// The abstract socket name of a container's command socket. Abstract
/// sockets vanish with their process, so a killed monitor leaves nothing
/// to clean up, and binding is atomic: two monitors cannot both own one.
pub fn command_name(lxcpath: &str, name: &str) -> Vec<u8> {
    let lp = canonical_lxcpath(lxcpath);
    let n = if name.len() > 64 {
        format!("{:016x}", fnv64(name.as_bytes()))
    } else {
        name.to_string()
    };
    format!("lxcbox/{:016x}/{n}/command", fnv64(lp.as_bytes())).into_bytes()
}

pub fn command_addr(lxcpath: &str, name: &str) -> Result<SocketAddr> {
    SocketAddr::from_abstract_name(command_name(lxcpath, name))
        .context("building command socket address")
}

/// An error the monitor answered with (as opposed to the connection
/// failing on the way), so callers can tell the two apart.
#[derive(Debug)]
pub struct MonitorError(pub String);

impl std::fmt::Display for MonitorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MonitorError {}

/// A connection to a running container's monitor.
pub struct Client {
    stream: UnixStream,
}

impl Client {
    /// Connect; `Ok(None)` when no monitor runs for this container.
    pub fn connect(lxcpath: &str, name: &str) -> Result<Option<Client>> {
        let addr = command_addr(lxcpath, name)?;
        match UnixStream::connect_addr(&addr) {
            Ok(stream) => Ok(Some(Client { stream })),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ECONNREFUSED) | Some(libc::ENOENT)
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e).context("connecting to the container's monitor"),
        }
    }

    /// Send a request and wait for the answer (and any fds with it).
    /// A monitor error becomes `Err`.
    pub fn call(&mut self, req: Request) -> Result<(Response, Vec<OwnedFd>)> {
        send_json(
            &self.stream,
            &Envelope {
                v: PROTO_VERSION,
                body: req,
            },
            &[],
        )?;
        let Some((resp, fds)) = recv_json::<Response>(&self.stream)? else {
            bail!("the container's monitor closed the connection");
        };
        if let Response::Error { error } = resp {
            return Err(MonitorError(error).into());
        }
        Ok((resp, fds))
    }

    /// A tty's pty master (or the console relay) and the session socket:
    /// (tty number, fds). `None`: the first free tty.
    pub fn console(&mut self, tty: Option<u32>) -> Result<(u32, Vec<OwnedFd>)> {
        match self.call(Request::Console { tty })? {
            (Response::Console { tty }, fds) => Ok((tty, fds)),
            (r, _) => Err(unexpected(&r)),
        }
    }

    /// The console ring buffer (cleared afterwards with `clear`).
    pub fn console_log(&mut self, clear: bool) -> Result<Vec<u8>> {
        match self.call(Request::ConsoleLog { clear })?.0 {
            Response::ConsoleLog { data } => Ok(data),
            r => Err(unexpected(&r)),
        }
    }

    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }
}

/// One request to a container, `Ok(None)` if it is not running.
pub fn call(lxcpath: &str, name: &str, req: Request) -> Result<Option<Response>> {
    match Client::connect(lxcpath, name)? {
        None => Ok(None),
        Some(mut c) => match c.call(req) {
            Ok((r, _)) => Ok(Some(r)),
            // The monitor went away between connect and answer: stopped.
            Err(_) if Client::connect(lxcpath, name)?.is_none() => Ok(None),
            Err(e) => Err(e),
        },
    }
}

fn unexpected(r: &Response) -> anyhow::Error {
    anyhow::anyhow!(
        "the container's monitor sent an unexpected answer ({})",
        r.kind()
    )
}

/// One request whose answer is `Done`; `Ok(false)`: not running.
pub fn call_done(lxcpath: &str, name: &str, req: Request) -> Result<bool> {
    match call(lxcpath, name, req)? {
        None => Ok(false),
        Some(Response::Done) => Ok(true),
        Some(r) => Err(unexpected(&r)),
    }
}

/// The pid of a running container's init (`None`: not running).
pub fn init_pid(lxcpath: &str, name: &str) -> Result<Option<i32>> {
    match call(lxcpath, name, Request::InitPid)? {
        None => Ok(None),
        Some(Response::InitPid { pid }) => Ok(Some(pid)),
        Some(r) => Err(unexpected(&r)),
    }
}

/// State, init pid, host interfaces and namespaces (`None`: not running).
pub fn info(lxcpath: &str, name: &str) -> Result<Option<Info>> {
    match call(lxcpath, name, Request::Info)? {
        None => Ok(None),
        Some(Response::Info(i)) => Ok(Some(i)),
        Some(r) => Err(unexpected(&r)),
    }
}

/// A config value as the running container has it (`None`: not running).
pub fn config_item(lxcpath: &str, name: &str, key: &str) -> Result<Option<String>> {
    let req = Request::ConfigItem {
        key: key.to_string(),
    };
    match call(lxcpath, name, req)? {
        None => Ok(None),
        Some(Response::ConfigItem { value }) => Ok(Some(value)),
        Some(r) => Err(unexpected(&r)),
    }
}

/// The cgroups of a running container (`None`: not running).
pub fn cgroups(lxcpath: &str, name: &str) -> Result<Option<crate::cgroup::CgroupSet>> {
    match call(lxcpath, name, Request::CgroupPaths)? {
        None => Ok(None),
        Some(Response::Cgroups { cgroups }) => Ok(Some(cgroups)),
        Some(r) => Err(unexpected(&r)),
    }
}

/// The container's state; STOPPED when no monitor answers.
///
/// A monitor whose init has exited leaves its serve loop and drops the
/// connections it has not answered, but keeps its (abstract) command
/// socket bound while it tears down (network, cgroups). A connection lost
/// that way means the container is STOPPING: reporting an error instead
/// made a concurrent lxc-stop or lxc-wait fail with EPIPE/ECONNRESET.
pub fn state(lxcpath: &str, name: &str) -> Result<State> {
    match call(lxcpath, name, Request::State) {
        Ok(None) => Ok(State::Stopped),
        Ok(Some(Response::State { state })) => Ok(state),
        Ok(Some(r)) => Err(unexpected(&r)),
        Err(e) if e.downcast_ref::<MonitorError>().is_none() => Ok(State::Stopping),
        Err(e) => Err(e),
    }
}
