//! TLS to PostgreSQL (decision 0017): which connections use it, and the rustls client.
//!
//! - A server on another machine: TLS required (`sslmode=require` is forced), unless the
//!   settings ask for plaintext over the network (`plaintext_network`), and then only when
//!   the URL says `sslmode=disable` or the server offers no TLS.
//! - A server on this machine (loopback or a Unix socket): plaintext, unless the URL asks
//!   for `sslmode=require` (Debian's PostgreSQL offers TLS with a self-signed "snakeoil"
//!   certificate no client can verify, so trying it by default would fail).
//! - The certificate is always verified, and its name checked against the host: against
//!   Mozilla's roots (`webpki-roots`), or the certificates of `ca_file`. rustls on ring, the
//!   workspace's one crypto provider.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StoreError;

/// Sets `config`'s TLS mode from where its hosts are and what the URL says.
pub(crate) fn choose_mode(
    config: &mut tokio_postgres::Config,
    url: &str,
    plaintext_network: bool,
) -> Result<(), StoreError> {
    let said = said_mode(url);
    let remote: Vec<String> = config
        .get_hosts()
        .iter()
        .filter_map(|h| match h {
            Host::Tcp(name) if !is_local(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    let mode = match (remote.first(), said) {
        (None, Some(SslMode::Require)) => SslMode::Require,
        (None, _) => SslMode::Disable,
        (Some(_), Some(SslMode::Disable)) | (Some(_), Some(SslMode::Prefer))
            if plaintext_network =>
        {
            said.unwrap_or(SslMode::Prefer)
        }
        (Some(_), None) if plaintext_network => SslMode::Prefer,
        (Some(host), Some(SslMode::Disable)) => {
            return Err(StoreError::Settings(format!(
                "sslmode=disable for {host}, a server on another machine: call records would \
                 cross the network unencrypted; remove it (TLS is used), or set [store] \
                 plaintext_network = true to accept that"
            )))
        }
        (Some(_), _) => SslMode::Require,
    };
    config.ssl_mode(mode);
    Ok(())
}

/// The `sslmode` the URL gives, if any (`disable`, `prefer`, `require`).
fn said_mode(url: &str) -> Option<SslMode> {
    let lower = url.to_ascii_lowercase();
    let at = lower.find("sslmode=")? + "sslmode=".len();
    let value: String = lower[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    match value.as_str() {
        "disable" => Some(SslMode::Disable),
        "prefer" | "allow" => Some(SslMode::Prefer),
        _ => Some(SslMode::Require),
    }
}

/// The rustls client: `ca_file`'s certificates, or Mozilla's roots.
pub(crate) fn connector(ca_file: Option<&Path>) -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| StoreError::Settings(format!("ca_file {}: {e}", path.display())))?
                .collect::<Result<_, _>>()
                .map_err(|e| StoreError::Settings(format!("ca_file {}: {e}", path.display())))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(StoreError::Settings(format!(
                    "ca_file {} holds no usable PEM certificate",
                    path.display()
                )));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Settings(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

pub(crate) fn is_local(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str, plaintext: bool) -> Result<SslMode, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().unwrap();
        choose_mode(&mut config, url, plaintext).map(|()| config.get_ssl_mode())
    }

    #[test]
    fn a_remote_server_gets_tls_unless_plaintext_is_asked_for() {
        assert_eq!(
            mode("postgres://u@db.example/r", false).unwrap(),
            SslMode::Require
        );
        assert_eq!(
            mode("postgres://u@db.example/r?sslmode=prefer", false).unwrap(),
            SslMode::Require
        );
        let err = mode("postgres://u:secret@db.example/r?sslmode=disable", false).unwrap_err();
        assert!(err.to_string().contains("db.example"), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        assert_eq!(
            mode("postgres://u@db.example/r?sslmode=disable", true).unwrap(),
            SslMode::Disable
        );
        assert_eq!(
            mode("postgres://u@db.example/r", true).unwrap(),
            SslMode::Prefer
        );
    }

    #[test]
    fn a_local_server_is_plaintext_unless_the_url_requires_tls() {
        assert_eq!(
            mode("postgres://u@127.0.0.1:5432/r", false).unwrap(),
            SslMode::Disable
        );
        assert_eq!(
            mode("postgres://u@localhost/r", false).unwrap(),
            SslMode::Disable
        );
        assert_eq!(
            mode("postgres://u@[::1]:5433/r", false).unwrap(),
            SslMode::Disable
        );
        assert_eq!(
            mode("host=/run/postgresql user=u", false).unwrap(),
            SslMode::Disable
        );
        assert_eq!(
            mode("postgres://u@localhost/r?sslmode=require", false).unwrap(),
            SslMode::Require
        );
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let err = connector(Some(&path)).err().expect("refused");
        assert!(err.to_string().contains("ca.pem"), "{err}");
        assert!(connector(None).is_ok());
    }
}
