//! Talking to a container's monitor over its command socket.

use std::os::fd::OwnedFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};

use anyhow::{bail, Context, Result};

use super::proto::{recv_json, send_json, Envelope, Request, Response, PROTO_VERSION};
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
        if let Some(e) = resp.error {
            return Err(MonitorError(e).into());
        }
        Ok((resp, fds))
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

/// The container's state; STOPPED when no monitor answers.
///
/// A monitor whose init has exited leaves its serve loop and drops the
/// connections it has not answered, but keeps its (abstract) command
/// socket bound while it tears down (network, cgroups). A connection lost
/// that way means the container is STOPPING: reporting an error instead
/// made a concurrent lxc-stop or lxc-wait fail with EPIPE/ECONNRESET.
pub fn state(lxcpath: &str, name: &str) -> Result<State> {
    match call(lxcpath, name, Request::State) {
        Ok(r) => Ok(r.and_then(|r| r.state).unwrap_or(State::Stopped)),
        Err(e) if e.downcast_ref::<MonitorError>().is_none() => Ok(State::Stopping),
        Err(e) => Err(e),
    }
}
