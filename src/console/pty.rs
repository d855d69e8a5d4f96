//! Pseudo-terminal pairs from the host's /dev/ptmx.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use anyhow::{Context, Result};
use rustix::fs::{Mode, OFlags};
use rustix::pty::{grantpt, ioctl_tiocgptpeer, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcgetwinsize, tcsetwinsize, Winsize};

/// A master/slave pty pair. Both ends are close-on-exec and neither becomes
/// anybody's controlling terminal by being opened (O_NOCTTY).
#[derive(Debug)]
pub struct PtyPair {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// /dev/pts/N on the host: what gets bind-mounted over the container's
    /// /dev/console or /dev/ttyN.
    pub slave_path: PathBuf,
}

impl PtyPair {
    /// Allocate a pair from the host's /dev/ptmx, optionally with an initial
    /// window size (the kernel starts every pty at 0x0, which makes full-screen
    /// programs misbehave; LXC copies the user's terminal size when it has one).
    pub fn open(winsize: Option<Winsize>) -> Result<Self> {
        let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
        let master = openpt(flags).context("opening /dev/ptmx")?;
        grantpt(&master).context("grantpt on /dev/ptmx")?;
        unlockpt(&master).context("unlockpt on /dev/ptmx")?;
        let name = ptsname(&master, Vec::new()).context("ptsname on /dev/ptmx")?;
        let slave_path = PathBuf::from(name.to_string_lossy().into_owned());
        // TIOCGPTPEER opens the slave through the master, so no path lookup can
        // be raced (a devpts mounted over /dev/pts would otherwise hand us
        // someone else's pty). Kernels before 4.13 lack it: fall back to the path.
        let slave = match ioctl_tiocgptpeer(&master, flags) {
            Ok(fd) => fd,
            Err(_) => rustix::fs::open(
                &slave_path,
                OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .with_context(|| format!("opening {}", slave_path.display()))?,
        };
        if let Some(ws) = winsize {
            set_winsize(&master, ws)?;
        }
        Ok(Self {
            master,
            slave,
            slave_path,
        })
    }
}

/// The window size of a terminal, or `None` when `fd` is not a terminal.
pub fn get_winsize(fd: impl AsFd) -> Option<Winsize> {
    tcgetwinsize(fd).ok()
}

/// Set a terminal's window size (on a pty master this resizes the slave and
/// sends SIGWINCH to the slave's foreground process group).
pub fn set_winsize(fd: impl AsFd, ws: Winsize) -> Result<()> {
    tcsetwinsize(fd, ws).with_context(|| format!("setting window size {}x{}", ws.ws_col, ws.ws_row))
}

/// Start a new session and make `slave` its controlling terminal (what
/// lxc-attach gives its command's pty). Not for the container's init: see
/// src/start/console.rs for why the console is only its stdio.
pub fn set_controlling_tty(slave: impl AsFd) -> Result<()> {
    rustix::process::setsid().context("setsid for the terminal")?;
    rustix::process::ioctl_tiocsctty(&slave).context("making the pty the controlling tty")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(rows: u16, cols: u16) -> Winsize {
        Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }
    }

    #[test]
    fn pair_is_connected_and_sized() {
        let p = PtyPair::open(Some(ws(33, 111))).unwrap();
        assert!(p.slave_path.starts_with("/dev/pts/"));
        let s = get_winsize(&p.slave).unwrap();
        assert_eq!((s.ws_row, s.ws_col), (33, 111));
        // the slave we got is the one named by slave_path
        let by_path = std::fs::metadata(&p.slave_path).unwrap();
        let st = rustix::fs::fstat(&p.slave).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(by_path.rdev(), st.st_rdev);
        // bytes written to the master come out of the slave (line discipline on)
        rustix::io::write(&p.master, b"ping\n").unwrap();
        let mut buf = [0u8; 16];
        let n = rustix::io::read(&p.slave, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping\n");
    }

    #[test]
    fn winsize_of_non_tty_is_none() {
        let (r, _w) = rustix::pipe::pipe().unwrap();
        assert!(get_winsize(&r).is_none());
    }
}
