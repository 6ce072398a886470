//! The admin token `serve` makes when none is configured (loopback only, so the demo
//! stays one command): 256 random bits, written to a file only its owner can read, which
//! `ringdesk agent` and other clients read back. A new token at every start.

use anyhow::{bail, Context, Result};
use ringdesk_secret::Secret;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// The environment variable clients read a token from first.
pub const TOKEN_ENV: &str = "RINGDESK_ADMIN_TOKEN";
/// Longest token file read back.
const MAX_FILE: u64 = 4096;

/// A fresh random token (64 hex digits).
pub fn generate() -> Secret {
    let bytes: [u8; 32] = rand::random();
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Writes `token` to `path`, readable and writable by its owner only: written beside it
/// first (mode 0600 from creation) and renamed over it, so a reader never sees half a
/// token and a file left with wider permissions is replaced, not reused.
pub fn write(path: &Path, token: &Secret) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create the admin token file {}", tmp.display()))?;
    file.write_all(format!("{}\n", token.expose()).as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write the admin token file {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move the admin token file to {}", path.display()))?;
    Ok(())
}

/// Reads a token file; refuses one that others can read (someone else may have it).
pub fn read(path: &Path) -> Result<Secret> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("no admin token at {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "the admin token file {} is readable by others (chmod 600 it, or let `ringdesk serve` write a new one)",
            path.display()
        );
    }
    if meta.len() > MAX_FILE {
        bail!(
            "the admin token file {} is too large to be a token",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the admin token file {}", path.display()))?;
    let token = text.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        bail!("the admin token file {} holds no token", path.display());
    }
    Ok(Secret::new(token))
}

/// The token a client uses: `RINGDESK_ADMIN_TOKEN`, else the file.
pub fn for_client(file: &Path) -> Result<Secret> {
    match std::env::var(TOKEN_ENV) {
        Ok(t) if !t.trim().is_empty() => Ok(Secret::new(t.trim())),
        _ => read(file).with_context(|| {
            format!("set {TOKEN_ENV}, or pass --token-file (is ringdesk serve running with this config?)")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_file_is_its_owners_alone_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite.admin-token");
        // A file left behind with wider permissions is replaced, not reused.
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read(&path).is_err());
        let token = generate();
        assert_eq!(token.expose().len(), 64);
        assert_ne!(token, generate());
        write(&path, &token).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read(&path).unwrap(), token);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("readable by others"), "{err}");
        assert!(!err.contains(token.expose()));
    }
}
