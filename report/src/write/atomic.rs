//! Atomic file writes: a reader never sees a half-written report file.

use std::io::{self, Write};
use std::path::Path;

/// Write `bytes` to `dir/name` atomically: same-directory temp file (rename is atomic only
/// within one file system), synced before the rename. The file gets a report's usual
/// permissions (`rw-r--r--`), not the private ones of a temporary file.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    // On error the temp file is dropped, hence deleted.
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    Ok(())
}
