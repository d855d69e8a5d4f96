//! lxc.console.logfile with lxc.console.size and lxc.console.rotate.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The console log file. With a size limit, a regular file never grows past
/// it: when rotation is on, a full file is renamed to FILE.1 (replacing the
/// previous one) and a fresh FILE is started; otherwise further output is
/// dropped, as LXC does. Without a limit the file just grows.
#[derive(Debug)]
pub struct ConsoleLog {
    path: PathBuf,
    file: File,
    limit: Option<u64>,
    rotate: bool,
    /// Bytes in the current file (tracked, not fstat'ed per write).
    size: u64,
    regular: bool,
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
        .with_context(|| format!("opening console log {}", path.display()))
}

impl ConsoleLog {
    /// Open (append) `path`. `limit` is lxc.console.size (sizes below a page
    /// become one page, like LXC; 0 means no limit).
    pub fn open(path: impl Into<PathBuf>, limit: Option<u64>, rotate: bool) -> Result<Self> {
        let path = path.into();
        let file = open(&path)?;
        let meta = file
            .metadata()
            .with_context(|| format!("stat of console log {}", path.display()))?;
        Ok(Self {
            limit: limit.filter(|&l| l > 0).map(|l| l.max(4096)),
            rotate,
            size: meta.len(),
            regular: meta.file_type().is_file(),
            path,
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append console output, honouring the size limit.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        let limit = match self.limit {
            Some(l) if self.regular => l,
            // Devices and FIFOs have no size to limit.
            _ => return self.append(data),
        };
        let space = limit.saturating_sub(self.size) as usize;
        if data.len() <= space {
            return self.append(data);
        }
        self.append(&data[..space])?;
        if !self.rotate {
            return Ok(());
        }
        self.rotate()?;
        let rest = &data[space..];
        // More than a whole file's worth left: keep only the newest part.
        let keep = rest.len().min(limit as usize);
        self.append(&rest[rest.len() - keep..])
    }

    /// Rename the log to FILE.1 and start a new one (also LXC's explicit
    /// "rotate console log" request).
    pub fn rotate(&mut self) -> Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, &old).with_context(|| {
            format!(
                "rotating console log {} to {}",
                self.path.display(),
                Path::new(&old).display()
            )
        })?;
        self.file = open(&self.path)?;
        self.size = 0;
        Ok(())
    }

    fn append(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(data)
            .with_context(|| format!("writing console log {}", self.path.display()))?;
        self.size += data.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lxcbox-clog-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn unlimited_appends() {
        let d = tmpdir("unl");
        let p = d.join("log");
        std::fs::write(&p, b"old").unwrap();
        let mut l = ConsoleLog::open(&p, None, false).unwrap();
        l.write(b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"oldnew");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn limit_without_rotate_truncates_output() {
        let d = tmpdir("lim");
        let p = d.join("log");
        let mut l = ConsoleLog::open(&p, Some(4096), false).unwrap();
        l.write(&[b'a'; 4000]).unwrap();
        l.write(&[b'b'; 200]).unwrap();
        l.write(b"more").unwrap();
        let got = std::fs::read(&p).unwrap();
        assert_eq!(got.len(), 4096);
        assert_eq!(&got[4000..], &[b'b'; 96][..]);
        assert!(!d.join("log.1").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn limit_with_rotate() {
        let d = tmpdir("rot");
        let p = d.join("log");
        let mut l = ConsoleLog::open(&p, Some(10), true).unwrap(); // → 4096
        l.write(&[b'a'; 4090]).unwrap();
        l.write(b"0123456789").unwrap();
        let one = std::fs::read(d.join("log.1")).unwrap();
        assert_eq!(one.len(), 4096);
        assert!(one.ends_with(b"012345"));
        assert_eq!(std::fs::read(&p).unwrap(), b"6789");
        l.rotate().unwrap();
        assert_eq!(std::fs::read(d.join("log.1")).unwrap(), b"6789");
        assert_eq!(std::fs::read(&p).unwrap(), b"");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
