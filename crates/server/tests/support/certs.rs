//! A throw-away TLS certificate for the tests: self-signed for `localhost` and 127.0.0.1
//! (rcgen), written as PEM files, the key readable by its owner only. Peers trust it by
//! taking the certificate file as their CA file.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The certificate and key files written by [`self_signed`].
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Writes `sip.crt` and `sip.key` into `dir` (created).
pub fn self_signed(dir: &Path) -> CertFiles {
    std::fs::create_dir_all(dir).expect("certificate directory");
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("generate a self-signed certificate");
    let cert = dir.join("sip.crt");
    let key = dir.join("sip.key");
    std::fs::write(&cert, generated.cert.pem()).expect("write the certificate");
    std::fs::write(&key, generated.signing_key.serialize_pem()).expect("write the key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod the key");
    CertFiles { cert, key }
}
