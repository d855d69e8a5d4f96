//! The built-in `busybox` template: the same rootfs and config as LXC's
//! lxc-busybox script (lxc 5.0.2), made without a shell. Every path is
//! resolved beneath the rootfs without following symlinks, so a
//! pre-populated `--dir` cannot redirect a write onto the host.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::Invocation;

const FSTREE: &[&str] = &[
    "selinux",
    "dev",
    "home",
    "root",
    "etc",
    "etc/init.d",
    "bin",
    "usr/bin",
    "sbin",
    "usr/sbin",
    "proc",
    "sys",
    "mnt",
    "tmp",
    "var/log",
    "var/run",
    "dev/pts",
    "lib",
    "usr/lib",
    "lib64",
    "usr/lib64",
];

const RCS: &str = "#!/bin/sh\n/bin/syslogd\n/bin/mount -a\n/bin/udhcpc\n";
const INITTAB: &str = "::sysinit:/etc/init.d/rcS\ntty1::respawn:/bin/getty -L tty1 115200 vt100\nconsole::askfirst:/bin/sh\n";
const DHCP_SCRIPT: &str = r#"#!/bin/sh
case "$1" in
  deconfig)
    ip addr flush dev $interface
    ;;

  renew|bound)
    # flush all the routes
    if [ -n "$router" ]; then
      ip route del default 2> /dev/null
    fi

    # check broadcast
    if [ -n "$broadcast" ]; then
      broadcast="broadcast $broadcast"
    fi

    # add a new ip address
    ip addr add $ip/$mask $broadcast dev $interface

    if [ -n "$router" ]; then
      ip route add default via $router dev $interface
    fi

    [ -n "$domain" ] && echo search $domain > /etc/resolv.conf
    for i in $dns ; do
      grep "nameserver $i" /etc/resolv.conf > /dev/null 2>&1
      if [ $? -ne 0 ]; then
        echo nameserver $i >> /etc/resolv.conf
      fi
    done
    ;;
esac
exit 0
"#;

const CONFIG: &str = r#"lxc.signal.halt = SIGUSR1
lxc.signal.reboot = SIGTERM
lxc.uts.name = "NAME"
lxc.autodev = 1
lxc.tty.max = 5
lxc.pty.max = 1
lxc.cap.drop = sys_module mac_admin mac_override sys_time

# When using LXC with apparmor, uncomment the next line to run unconfined:
#lxc.apparmor.profile = unconfined

lxc.mount.auto = cgroup:mixed proc:mixed sys:ro
lxc.mount.entry = shm dev/shm tmpfs defaults,create=dir 0 0
lxc.mount.entry = mqueue dev/mqueue mqueue defaults,optional,create=dir 0 0
"#;

pub fn usage() -> String {
    let bb = find_busybox()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    format!(
        "LXC busybox image builder

Special arguments:

  [ -h | --help ]: Print this help message and exit.

LXC internal arguments:

  [ --name <name> ]: The container name
  [ --path <path> ]: The path to the container
  [ --rootfs <rootfs> ]: The path to the container's rootfs (default: config or <path>/rootfs)
  [ --mapped-uid <map> ]: A uid map (user namespaces)
  [ --mapped-gid <map> ]: A gid map (user namespaces)

BUSYBOX template specific arguments:

  [ --busybox-path <path> ]: busybox pathname (default: {bb})

"
    )
}

fn find_busybox() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|d| d.join("busybox"))
        .find(|p| p.is_file() && rustix::fs::access(p, rustix::fs::Access::EXEC_OK).is_ok())
}

/// The template's own options (what follows `--` on lxc-create's line).
fn busybox_path(args: &[String]) -> Result<Option<PathBuf>> {
    let mut it = args.iter();
    let mut bb = None;
    while let Some(a) = it.next() {
        match a.as_str() {
            "--busybox-path" => {
                let v = it.next().context("--busybox-path needs a pathname")?;
                bb = Some(PathBuf::from(v));
            }
            s if s.starts_with("--busybox-path=") => {
                bb = Some(PathBuf::from(&s["--busybox-path=".len()..]));
            }
            "--" => break,
            other => bail!("busybox template: unknown option \"{other}\"\n{}", usage()),
        }
    }
    Ok(bb)
}

/// The rootfs, every path resolved beneath it.
struct Tree {
    fd: OwnedFd,
    root: PathBuf,
}

impl Tree {
    fn show(&self, rel: &str) -> String {
        self.root.join(rel).display().to_string()
    }

    fn open(&self, rel: &str, flags: OFlags) -> Result<OwnedFd> {
        let rel = if rel.is_empty() { "." } else { rel };
        crate::sys::resolve::open_beneath(
            self.fd.as_fd(),
            Path::new(rel),
            flags | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("opening {}", self.show(rel)))
    }

    fn split(rel: &str) -> (&str, &str) {
        match rel.rsplit_once('/') {
            Some((d, n)) => (d, n),
            None => ("", rel),
        }
    }

    fn mkdir_p(&self, rel: &str) -> Result<()> {
        let mut cur = String::new();
        for comp in rel.split('/').filter(|c| !c.is_empty()) {
            let parent = self.open(&cur, OFlags::RDONLY | OFlags::DIRECTORY)?;
            match rustix::fs::mkdirat(parent.as_fd(), comp, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(e).with_context(|| format!("creating {}", self.show(rel))),
            }
            if !cur.is_empty() {
                cur.push('/');
            }
            cur.push_str(comp);
        }
        Ok(())
    }

    fn chmod(&self, rel: &str, mode: u32) -> Result<()> {
        let f = self.open(rel, OFlags::RDONLY)?;
        rustix::fs::fchmod(&f, Mode::from_raw_mode(mode))
            .with_context(|| format!("setting the mode of {}", self.show(rel)))
    }

    /// Append `data` (the script's `cat >>`): old content plus new, written
    /// to a temporary file and renamed into place.
    fn append(&self, rel: &str, data: &[u8], mode: u32) -> Result<()> {
        let mut all = match self.open(rel, OFlags::RDONLY) {
            Ok(f) => {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut std::fs::File::from(f), &mut v)
                    .with_context(|| format!("reading {}", self.show(rel)))?;
                v
            }
            Err(_) => Vec::new(),
        };
        all.extend_from_slice(data);
        self.write(rel, &all, mode)
    }

    fn write(&self, rel: &str, data: &[u8], mode: u32) -> Result<()> {
        let (dir, name) = Self::split(rel);
        let d = self.open(dir, OFlags::RDONLY | OFlags::DIRECTORY)?;
        crate::fsutil::write_at(
            d.as_fd(),
            name.as_ref(),
            data,
            crate::fsutil::Opts::volatile(mode),
        )
        .with_context(|| format!("writing {}", self.show(rel)))
    }

    fn symlink(&self, dir: &str, name: &str, target: &str) -> Result<()> {
        let d = self.open(dir, OFlags::RDONLY | OFlags::DIRECTORY)?;
        match rustix::fs::symlinkat(target, d.as_fd(), name) {
            // `ln -s` fails on an existing name; the script ignores that.
            Ok(()) | Err(Errno::EXIST) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("creating {}/{name}", self.show(dir))),
        }
    }

    fn link(&self, from: &str, to: &str) -> Result<()> {
        let (fd_, fname) = Self::split(from);
        let (td, tname) = Self::split(to);
        let a = self.open(fd_, OFlags::RDONLY | OFlags::DIRECTORY)?;
        let b = self.open(td, OFlags::RDONLY | OFlags::DIRECTORY)?;
        rustix::fs::linkat(
            a.as_fd(),
            fname,
            b.as_fd(),
            tname,
            rustix::fs::AtFlags::empty(),
        )
        .with_context(|| format!("linking {} to {}", self.show(to), self.show(from)))
    }
}

/// Where busybox's udhcpc looks for its script, from its help text, as the
/// shell template finds it (`-s PROG  Run PROG ... (default /etc/...)`).
fn dhcp_script_path(busybox: &Path) -> Option<String> {
    let out = Command::new(busybox)
        .args(["udhcpc", "--help"])
        .output()
        .ok()?;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("-s") && l.contains("Run PROG"))?;
    let after = line.split_once('/')?.1;
    let p = after.split(')').next()?.trim();
    (!p.is_empty()).then(|| p.to_string())
}

/// The applets busybox was built with (`busybox --list`).
fn applets(busybox: &Path) -> Result<Vec<String>> {
    let out = Command::new(busybox)
        .arg("--list")
        .output()
        .with_context(|| format!("running {} --list", busybox.display()))?;
    if !out.status.success() {
        bail!("{} --list failed ({})", busybox.display(), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && !a.contains("busybox") && !a.contains('/'))
        .map(str::to_string)
        .collect())
}

pub fn run(inv: &Invocation) -> Result<()> {
    if inv.args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{}", usage());
        return Ok(());
    }
    let busybox = match busybox_path(inv.args)? {
        Some(p) => p,
        None => find_busybox().context("busybox not found in PATH: pass --busybox-path")?,
    };
    if !(busybox.is_file() && rustix::fs::access(&busybox, rustix::fs::Access::EXEC_OK).is_ok()) {
        bail!("Failed to find busybox binary ({})", busybox.display());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .create(inv.rootfs)
        .with_context(|| format!("creating {}", inv.rootfs.display()))?;
    let t = Tree {
        fd: rustix::fs::open(
            inv.rootfs,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("opening {}", inv.rootfs.display()))?,
        root: inv.rootfs.to_path_buf(),
    };
    install(&t, &busybox).context("Failed to install rootfs")?;
    configure(&t, &busybox).context("Failed to configure busybox")?;
    copy_configuration(inv).context("Failed to write config file")
}

/// install_busybox: the directory tree, users, init scripts.
fn install(t: &Tree, busybox: &Path) -> Result<()> {
    for d in FSTREE {
        t.mkdir_p(d)?;
    }
    for d in FSTREE {
        t.chmod(d, 0o755)?;
    }
    t.chmod("tmp", 0o1777)?;
    t.append("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644)?;
    t.append("etc/group", b"root:x:0:root\n", 0o644)?;
    t.append("etc/init.d/rcS", RCS.as_bytes(), 0o744)?;
    t.append("etc/inittab", INITTAB.as_bytes(), 0o644)?;
    if let Some(script) = dhcp_script_path(busybox) {
        let dir = Path::new(&script)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !dir.is_empty() {
            t.mkdir_p(&dir)?;
            // As the shell template does (chmod 644 on the directory).
            t.chmod(&dir, 0o644)?;
        }
        t.append(&script, DHCP_SCRIPT.as_bytes(), 0o744)?;
    }
    Ok(())
}

/// configure_busybox: the binary, its applet links, /sbin/init.
fn configure(t: &Tree, busybox: &Path) -> Result<()> {
    let data = std::fs::read(busybox).with_context(|| format!("reading {}", busybox.display()))?;
    let mode = std::fs::metadata(busybox)?.permissions().mode() & 0o777 & !0o022;
    t.write("bin/busybox", &data, mode)?;
    let list = applets(busybox)?;
    for a in &list {
        t.symlink("bin", a, "busybox")?;
    }
    t.link("bin/busybox", "sbin/init")?;
    t.append("etc/fstab", b"", 0o644)?;
    // `chmod +s bin/passwd` follows the applet link to busybox itself.
    if list.iter().any(|a| a == "passwd") {
        t.chmod("bin/busybox", mode | 0o6000)?;
    }
    t.append("etc/shadow", b"", 0o644)?;
    Ok(())
}

/// copy_configuration: what the script appends to the container's config.
fn copy_configuration(inv: &Invocation) -> Result<()> {
    let path = inv.path.join("config");
    let mut cfg = std::fs::read_to_string(&path).unwrap_or_default();
    if !cfg.lines().any(|l| l.starts_with("lxc.rootfs.path")) {
        cfg.push_str(&format!("lxc.rootfs.path = {}\n", inv.rootfs.display()));
    }
    cfg.push_str(&CONFIG.replace("NAME", inv.name));
    for dir in ["lib", "usr/lib", "lib64", "usr/lib64"] {
        if Path::new("/").join(dir).is_dir() && inv.rootfs.join(dir).is_dir() {
            cfg.push_str(&format!(
                "lxc.mount.entry = /{dir} {dir} none ro,bind 0 0\n"
            ));
        }
    }
    cfg.push_str(
        "lxc.mount.entry = /sys/kernel/security sys/kernel/security none ro,bind,optional 0 0\n",
    );
    crate::fsutil::rewrite(&path, cfg.as_bytes(), 0o640)
}
