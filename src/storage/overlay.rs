//! overlay rootfs paths: `overlay:LOWER:UPPER`, with the work dir next to
//! the upper dir, as LXC lays them out (`NAME/overlay/delta`,
//! `NAME/overlay/work`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// The directory under the container dir holding upper and work dirs.
pub const PRIVATE_DIR: &str = "overlay";
pub const DELTA_DIR: &str = "delta";
pub const WORK_DIR: &str = "work";

/// Split `LOWER:UPPER` (the part after `overlay:`): the upper dir is what
/// follows the last `:/`, so LOWER may hold several `:`-separated layers.
pub fn split(spec: &str) -> Result<(&str, &str)> {
    match spec.rfind(":/") {
        Some(i) if i > 0 => Ok((&spec[..i], &spec[i + 1..])),
        _ => bail!("overlay rootfs \"{spec}\": expected LOWER:UPPER with absolute paths"),
    }
}

/// The work dir that belongs to `upper` (`work` beside it).
pub fn work_dir(upper: &Path) -> PathBuf {
    upper.parent().unwrap_or(Path::new("/")).join(WORK_DIR)
}

/// NAME/overlay/delta for a container directory.
pub fn delta_of(container_dir: &Path) -> PathBuf {
    container_dir.join(PRIVATE_DIR).join(DELTA_DIR)
}

/// The bottom-most layer: the directory the overlay was made from (for a
/// snapshot of a dir container, that container's rootfs).
pub fn bottom_lower(lower: &str) -> &str {
    lower.split(':').next_back().unwrap_or(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        assert_eq!(
            split("/a/rootfs:/b/overlay/delta").unwrap(),
            ("/a/rootfs", "/b/overlay/delta")
        );
        assert_eq!(split("/x:/y:/z").unwrap(), ("/x:/y", "/z"));
        assert!(split("/only").is_err());
        assert!(split(":/x").is_err());
        assert_eq!(
            work_dir(Path::new("/b/overlay/delta")),
            Path::new("/b/overlay/work")
        );
        assert_eq!(bottom_lower("/x:/y"), "/y");
    }
}
