//! Reading config files: line by line through the lexer into the key
//! table, following lxc.include (files and directories) with loop detection.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::legacy::NetState;
use super::lexer::{self, Line};
use super::types::Config;

/// Deeper nesting than this is surely a mistake (LXC has no limit, but an
/// include loop through symlinked directories must end somewhere).
const MAX_DEPTH: usize = 32;

/// State of one load: the canonical paths of the files currently being
/// read (outermost first, for loop detection) and the legacy network state.
#[derive(Default)]
pub struct Ctx {
    pub stack: Vec<PathBuf>,
    pub net: NetState,
}

/// Read `path` into `cfg`.
pub fn load_file(cfg: &mut Config, path: &Path, ctx: &mut Ctx) -> Result<()> {
    let canon = path
        .canonicalize()
        .with_context(|| format!("reading {}", path.display()))?;
    if ctx.stack.contains(&canon) {
        let chain: Vec<String> = ctx
            .stack
            .iter()
            .chain(std::iter::once(&canon))
            .map(|p| p.display().to_string())
            .collect();
        bail!("include loop: {}", chain.join(" -> "));
    }
    if ctx.stack.len() >= MAX_DEPTH {
        bail!(
            "{}: includes nested deeper than {MAX_DEPTH}",
            path.display()
        );
    }
    let text = read_text(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    ctx.stack.push(canon);
    let r = parse_into(cfg, &text, &path.display().to_string(), base, ctx);
    ctx.stack.pop();
    r
}

/// A config file's text, read with [`crate::fsutil::read_capped`]
/// (regular files only, at most [`crate::fsutil::CONFIG_MAX`] bytes: never
/// a FIFO that blocks or /dev/zero that never ends). Invalid UTF-8 is
/// tolerated where LXC would ignore the line anyway (comments, lines that
/// do not start with `lxc.`, shown with U+FFFD), and an error naming
/// FILE:LINE and the key anywhere else.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = crate::fsutil::read_capped(path, crate::fsutil::CONFIG_MAX)?;
    decode(bytes, &path.display().to_string())
}

/// [`read_text`]'s decoding of bytes read from `origin`.
pub fn decode(bytes: Vec<u8>, origin: &str) -> Result<String> {
    let bytes = match String::from_utf8(bytes) {
        Ok(s) => return Ok(s),
        Err(e) => e.into_bytes(),
    };
    let mut out = String::with_capacity(bytes.len());
    for (i, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        match std::str::from_utf8(line) {
            Ok(s) => out.push_str(s),
            Err(_) => out.push_str(&tolerated(line, origin, i + 1)?),
        }
    }
    Ok(out)
}

/// A line that is not UTF-8, shown lossily, when LXC would ignore it (a
/// comment, a line not starting with `lxc.`); else the FILE:LINE error.
pub(super) fn tolerated(line: &[u8], origin: &str, lineno: usize) -> Result<String> {
    let lossy = String::from_utf8_lossy(line).into_owned();
    match lexer::line(lossy.trim_end_matches('\n')) {
        Ok(Line::Pair { key, .. }) => {
            bail!("{origin}:{lineno}: {key}: the line is not valid UTF-8")
        }
        _ => Ok(lossy),
    }
}

/// Parse `text` into `cfg` (later lines override earlier ones).
pub fn parse_into(
    cfg: &mut Config,
    text: &str,
    origin: &str,
    base: &Path,
    ctx: &mut Ctx,
) -> Result<()> {
    for (i, raw) in text.lines().enumerate() {
        let at = |msg: String| anyhow!("{origin}:{}: {msg}", i + 1);
        let (key, value) = match lexer::line(raw).map_err(at)? {
            Line::Skip => continue,
            Line::Pair { key, value } => (key, value),
        };
        if key == "lxc.include" {
            // An empty lxc.include only clears LXC's record of included
            // files; there is nothing to undo here.
            if !value.is_empty() {
                include(cfg, value, base, ctx).map_err(|e| at(format!("lxc.include: {e:#}")))?;
            }
            continue;
        }
        cfg.apply(key, value, &mut ctx.net).map_err(at)?;
    }
    Ok(())
}

pub fn include(cfg: &mut Config, value: &str, base: &Path, ctx: &mut Ctx) -> Result<()> {
    let p = base.join(value);
    if value.ends_with('/') || p.is_dir() {
        let rd = match std::fs::read_dir(&p) {
            Ok(rd) => rd,
            // LXC's do_includedir ignores a missing directory: Debian's
            // userns.conf includes userns.conf.d/, which nothing ships.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                log::debug!("lxc.include: {} does not exist, skipped", p.display());
                return Ok(());
            }
            Err(e) => return Err(e).with_context(|| format!("reading directory {}", p.display())),
        };
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|f| f.extension().is_some_and(|x| x == "conf") && !f.is_dir())
            .collect();
        files.sort();
        for f in files {
            load_file(cfg, &f, ctx)?;
        }
        return Ok(());
    }
    load_file(cfg, &p, ctx)
}
