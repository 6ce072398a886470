//! SIP over TLS (SIPS): checks the configured certificate and key at start (a bad file is
//! an error then, not a failed handshake later) and adds rsipstack's rustls listener to the
//! transport layer. The listener asks the flood guard about each connection, like TCP,
//! and gives a handshake a bounded time (`vendor/rsipstack/PATCHES.md`).

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::transport::tls::TlsConfig;
use rsipstack::transport::{TlsListenerConnection, TransportLayer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsListen;
use crate::error::SipError;

/// Checks the certificate chain and key: PEM that parses, at least one certificate, a key
/// rustls can sign with that belongs to the first certificate.
pub fn check_certificate(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), SipError> {
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SipError::Tls(format!("the certificate file is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(SipError::Tls(
            "the certificate file holds no certificate".into(),
        ));
    }
    // The error of a key parser could quote the key's bytes: only its kind is reported.
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| {
        SipError::Tls("the key file holds no PKCS#8, PKCS#1 or SEC1 private key".into())
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SipError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| SipError::Tls(format!("the key does not fit the certificate: {e}")))?;
    Ok(())
}

/// Adds the TLS listener to `transport`; returns the address it binds (with its real
/// port) and the one written in Contact (the external one if set, else the bound one).
pub(crate) async fn listen(
    transport: &TransportLayer,
    tls: &TlsListen,
) -> Result<(SocketAddr, SocketAddr), SipError> {
    check_certificate(&tls.cert_pem, &tls.key_pem)?;
    // The library binds in its serve task: bind here first, so that a taken address is an
    // error now and port 0 becomes a real port.
    let bound = std::net::TcpListener::bind(tls.bind)
        .and_then(|probe| probe.local_addr())
        .map_err(|source| SipError::Bind {
            transport: "tls",
            addr: tls.bind,
            source,
        })?;
    let config = TlsConfig {
        cert: Some(tls.cert_pem.clone()),
        key: Some(tls.key_pem.clone()),
        ..TlsConfig::default()
    };
    let listener = TlsListenerConnection::new(bound, tls.external, config)
        .await
        .map_err(|e| SipError::Tls(e.to_string()))?;
    transport.add_transport(listener.into());
    Ok((bound, tls.external.unwrap_or(bound)))
}

/// Waits (bounded) until the library's serve task listens on `bind`, so that the server
/// is reachable over TLS once `bind` returns: the address can no longer be bound.
pub(crate) async fn wait_listening(bind: SocketAddr) -> Result<(), SipError> {
    for _ in 0..200 {
        if std::net::TcpListener::bind(bind).is_err() {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Err(SipError::Tls(format!(
        "the TLS listener on {bind} did not start"
    )))
}
