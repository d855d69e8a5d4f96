//! fstab lines (lxc.mount.fstab files and lxc.mount.entry values) and the
//! mount option table LXC accepts.
//!
//! Parsing is pure (no syscalls) so it can be unit tested and done before
//! anything is mounted: a bad line fails the start before the first mount.

use anyhow::{bail, Result};
use rustix::mount::{MountFlags, MountPropagationFlags};

/// What `create=` asks for when the mount target is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Dir,
    File,
}

/// One parsed fstab line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub source: String,
    pub target: String,
    pub fstype: String,
    pub opts: Options,
}

/// The options field, split into what mount(2) gets and what LXC interprets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub flags: MountFlags,
    /// MS_SHARED/MS_SLAVE/... applied after the mount (mount(2) refuses
    /// mixing them with other flags).
    pub propagation: MountPropagationFlags,
    /// `bind` (false) or `rbind` (true); `None` for a filesystem mount.
    pub bind: Option<bool>,
    pub remount: bool,
    pub optional: bool,
    pub create: Option<Create>,
    /// `relative`: the source is a path inside the rootfs.
    pub relative: bool,
    /// Everything mount(2) does not know as a flag, comma joined, passed as data.
    pub data: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            flags: MountFlags::empty(),
            propagation: MountPropagationFlags::empty(),
            bind: None,
            remount: false,
            optional: false,
            create: None,
            relative: false,
            data: String::new(),
        }
    }
}

/// Flag options: (name, flags to set, flags to clear).
const FLAG_OPTS: &[(&str, MountFlags, MountFlags)] = &[
    ("defaults", MountFlags::empty(), MountFlags::empty()),
    ("ro", MountFlags::RDONLY, MountFlags::empty()),
    ("rw", MountFlags::empty(), MountFlags::RDONLY),
    ("nosuid", MountFlags::NOSUID, MountFlags::empty()),
    ("suid", MountFlags::empty(), MountFlags::NOSUID),
    ("nodev", MountFlags::NODEV, MountFlags::empty()),
    ("dev", MountFlags::empty(), MountFlags::NODEV),
    ("noexec", MountFlags::NOEXEC, MountFlags::empty()),
    ("exec", MountFlags::empty(), MountFlags::NOEXEC),
    ("sync", MountFlags::SYNCHRONOUS, MountFlags::empty()),
    ("async", MountFlags::empty(), MountFlags::SYNCHRONOUS),
    ("dirsync", MountFlags::DIRSYNC, MountFlags::empty()),
    (
        "mand",
        MountFlags::PERMIT_MANDATORY_FILE_LOCKING,
        MountFlags::empty(),
    ),
    (
        "nomand",
        MountFlags::empty(),
        MountFlags::PERMIT_MANDATORY_FILE_LOCKING,
    ),
    ("noatime", MountFlags::NOATIME, MountFlags::empty()),
    ("atime", MountFlags::empty(), MountFlags::NOATIME),
    ("nodiratime", MountFlags::NODIRATIME, MountFlags::empty()),
    ("diratime", MountFlags::empty(), MountFlags::NODIRATIME),
    ("relatime", MountFlags::RELATIME, MountFlags::empty()),
    ("norelatime", MountFlags::empty(), MountFlags::RELATIME),
    ("strictatime", MountFlags::STRICTATIME, MountFlags::empty()),
    (
        "nostrictatime",
        MountFlags::empty(),
        MountFlags::STRICTATIME,
    ),
    ("lazytime", MountFlags::LAZYTIME, MountFlags::empty()),
    ("nolazytime", MountFlags::empty(), MountFlags::LAZYTIME),
    ("silent", MountFlags::SILENT, MountFlags::empty()),
    ("loud", MountFlags::empty(), MountFlags::SILENT),
    ("nosymfollow", MountFlags::NOSYMFOLLOW, MountFlags::empty()),
];

const PROPAGATION_OPTS: &[(&str, MountPropagationFlags)] = &[
    ("shared", MountPropagationFlags::SHARED),
    ("private", MountPropagationFlags::PRIVATE),
    ("slave", MountPropagationFlags::DOWNSTREAM),
    ("unbindable", MountPropagationFlags::UNBINDABLE),
];

/// Options only mount(8) interprets; passing them to the kernel as data
/// would make filesystems like tmpfs refuse the mount, so they are dropped.
const USERSPACE_OPTS: &[&str] = &[
    "auto", "noauto", "user", "nouser", "users", "owner", "group", "nofail", "_netdev",
];

/// Parse a comma separated option list (fstab field 4, lxc.rootfs.options).
pub fn parse_options(opts: &str) -> Result<Options> {
    let mut o = Options::default();
    let mut data: Vec<&str> = Vec::new();
    for opt in opts.split(',').filter(|s| !s.is_empty()) {
        if let Some((_, set, clear)) = FLAG_OPTS.iter().find(|(n, _, _)| *n == opt) {
            o.flags.remove(*clear);
            o.flags.insert(*set);
            continue;
        }
        let (rec, base) = match opt.strip_prefix('r') {
            Some(b) if b != "o" && b != "w" && b != "elative" && b != "elatime" => (true, b),
            _ => (false, opt),
        };
        if let Some((_, p)) = PROPAGATION_OPTS.iter().find(|(n, _)| *n == base) {
            o.propagation = *p;
            if rec {
                o.propagation |= MountPropagationFlags::REC;
            }
            continue;
        }
        match opt {
            "bind" => o.bind = Some(o.bind.unwrap_or(false)),
            "rbind" => o.bind = Some(true),
            "remount" => o.remount = true,
            "optional" => o.optional = true,
            "relative" => o.relative = true,
            "create=dir" => o.create = Some(Create::Dir),
            "create=file" => o.create = Some(Create::File),
            _ if opt.starts_with("create=") => bail!("unknown mount option {opt:?}"),
            _ if opt.starts_with("x-") || USERSPACE_OPTS.contains(&opt) => {}
            _ => data.push(opt),
        }
    }
    o.data = data.join(",");
    Ok(o)
}

/// fstab's octal escapes (`\040` for a space, `\011` tab, `\134` backslash):
/// the same escaping as the kernel's /proc/self/mountinfo.
pub fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = (oct[0] - b'0') as u32 * 64
                    + (oct[1] - b'0') as u32 * 8
                    + (oct[2] - b'0') as u32;
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse one fstab line. `Ok(None)` for blank lines and comments.
pub fn parse_line(line: &str) -> Result<Option<Entry>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    if fields.len() < 3 || fields.len() > 6 {
        bail!(
            "malformed mount entry {line:?}: expected SOURCE TARGET TYPE [OPTIONS [DUMP [PASS]]]"
        );
    }
    let opts = parse_options(fields.get(3).copied().unwrap_or("defaults"))?;
    Ok(Some(Entry {
        source: unescape(fields[0]),
        target: unescape(fields[1]),
        fstype: unescape(fields[2]),
        opts,
    }))
}

/// Parse a whole fstab file; errors name the line (`FILE:LINE: ...`).
pub fn parse_file(text: &str, file: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_line(line) {
            Ok(Some(e)) => out.push(e),
            Ok(None) => {}
            Err(e) => bail!("{file}:{}: {e:#}", i + 1),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_ro_with_lxc_options() {
        let e = parse_line("/srv/data mnt/data none ro,bind,optional,create=dir 0 0")
            .unwrap()
            .unwrap();
        assert_eq!(e.source, "/srv/data");
        assert_eq!(e.target, "mnt/data");
        assert_eq!(e.opts.bind, Some(false));
        assert!(e.opts.flags.contains(MountFlags::RDONLY));
        assert!(e.opts.optional);
        assert_eq!(e.opts.create, Some(Create::Dir));
        assert_eq!(e.opts.data, "");
    }

    #[test]
    fn rbind_and_propagation() {
        let o = parse_options("rbind,rslave,relative,nosuid").unwrap();
        assert_eq!(o.bind, Some(true));
        assert!(o.relative);
        assert_eq!(
            o.propagation,
            MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC
        );
        assert!(o.flags.contains(MountFlags::NOSUID));
        // `bind` after `rbind` does not downgrade it.
        assert_eq!(parse_options("rbind,bind").unwrap().bind, Some(true));
    }

    #[test]
    fn data_and_flag_overrides() {
        let o = parse_options("defaults,ro,rw,size=10M,mode=755,nofail,x-systemd.foo,relatime")
            .unwrap();
        assert!(!o.flags.contains(MountFlags::RDONLY));
        assert!(o.flags.contains(MountFlags::RELATIME));
        assert_eq!(o.data, "size=10M,mode=755");
        assert_eq!(o.bind, None);
    }

    #[test]
    fn comments_escapes_and_errors() {
        assert_eq!(parse_line("  # comment").unwrap(), None);
        assert_eq!(parse_line("").unwrap(), None);
        let e = parse_line(r"/a\040b c\011d tmpfs").unwrap().unwrap();
        assert_eq!(e.source, "/a b");
        assert_eq!(e.target, "c\td");
        assert_eq!(e.opts, Options::default());
        assert!(parse_line("onlytwo fields").is_err());
        assert!(parse_options("create=pipe").is_err());
        let err = parse_file("proc proc proc\nbad\n", "/x/fstab").unwrap_err();
        assert!(format!("{err}").starts_with("/x/fstab:2: malformed mount entry"));
    }
}
