//! The data directory is private to the server's user: created 0700, and at every
//! start the directory is tightened to 0700 and everything in it (store files, the
//! outbox file, `admin-token`, `seal.key`) to 0600 / 0700, so a data directory made
//! by an older version or a loose umask does not stay readable by other users.

use std::path::Path;

use anyhow::Context;

/// Mode of the data directory and the directories inside it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file in the data directory.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (mode 0700) if it is missing, and makes an existing one 0700.
pub fn create(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir).with_context(|| format!("creating {}", dir.display()))?;
    set_mode(dir, DIR_MODE)
}

/// Makes every directory under `dir` (and `dir`) 0700 and every file 0600. A file
/// the store removes while this runs (sled's snapshots come and go) is skipped.
pub fn tighten(dir: &Path) -> anyhow::Result<()> {
    set_mode(dir, DIR_MODE)?;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        let done = if kind.is_dir() {
            tighten(&path)
        } else if kind.is_file() {
            set_mode(&path, FILE_MODE)
        } else {
            Ok(())
        };
        if let Err(e) = done
            && path.exists()
        {
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current =
        std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.permissions().mode() & 0o777;
    if current != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", path.display()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn o_an_existing_loose_data_dir_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir_all(dir.join("store/blobs")).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("store/db"), b"x").unwrap();
        std::fs::set_permissions(dir.join("store/db"), std::fs::Permissions::from_mode(0o644)).unwrap();
        create(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        tighten(&dir).unwrap();
        assert_eq!(mode(&dir.join("store")), 0o700);
        assert_eq!(mode(&dir.join("store/blobs")), 0o700);
        assert_eq!(mode(&dir.join("store/db")), 0o600);
    }
}
