//! `[sip.tls]` (SIP over TLS: listen address, certificate and key files) and the SRTP
//! policies: `[sip] srtp` (the default), `[[trunks]] srtp` and `[[agents]] srtp` (each leg's
//! own). Decision 0014 says why SDES and why `optional` is the default.

use anyhow::{anyhow, bail, Context, Result};
use ringdesk_sip::{SrtpPolicy, TlsListen};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Largest certificate or key file read.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// `[sip.tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipTlsConfig {
    /// TLS listen address (SIPS; 5061 by convention).
    pub listen: SocketAddr,
    /// The certificate chain, PEM (a relative path is taken from the working directory,
    /// like `[store] path`).
    pub certificate: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1), readable by ringdesk's user only.
    pub key: PathBuf,
    /// The address written in Contact when it differs from `listen` (NAT, 0.0.0.0).
    #[serde(default)]
    pub external: Option<SocketAddr>,
}

impl SipTlsConfig {
    /// Reads and checks the certificate and key.
    pub fn load(&self) -> Result<TlsListen> {
        let cert_path = &self.certificate;
        let key_path = &self.key;
        let cert_pem = read_pem(cert_path, "certificate")?;
        let key_pem = read_pem(key_path, "key")?;
        ringdesk_sip::check_certificate(&cert_pem, &key_pem).with_context(|| {
            format!(
                "[sip.tls] certificate {} and key {}",
                cert_path.display(),
                key_path.display()
            )
        })?;
        Ok(TlsListen {
            bind: self.listen,
            external: self.external,
            cert_pem,
            key_pem,
        })
    }
}

fn read_pem(path: &Path, what: &str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("[sip.tls] {what} file {}", path.display()))?;
    if meta.len() > MAX_PEM_BYTES {
        bail!(
            "[sip.tls] {what} file {} is larger than {MAX_PEM_BYTES} bytes",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("[sip.tls] {what} file {}", path.display()))
}

/// Whether the key file can be read by other users than its owner (a warning at start).
pub fn key_readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

/// An SRTP policy in the configuration: `off`, `optional` or `required`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SrtpSetting {
    /// Plain RTP only.
    Off,
    /// SRTP when the other side offers or accepts keys.
    #[default]
    Optional,
    /// SRTP or no call.
    Required,
}

impl From<SrtpSetting> for SrtpPolicy {
    fn from(s: SrtpSetting) -> SrtpPolicy {
        match s {
            SrtpSetting::Off => SrtpPolicy::Off,
            SrtpSetting::Optional => SrtpPolicy::Optional,
            SrtpSetting::Required => SrtpPolicy::Required,
        }
    }
}

/// Each agent's SRTP policy (`[[agents]] srtp`, else `default`).
pub fn agent_srtp(
    agents: &[ringdesk_acd::AgentConfig],
    default: SrtpSetting,
) -> Result<HashMap<String, SrtpPolicy>> {
    agents
        .iter()
        .map(|a| {
            let policy = match a.srtp.as_deref() {
                None => default.into(),
                Some(word) => word.parse::<SrtpPolicy>().map_err(|()| {
                    anyhow!(
                        "[[agents]] agent {:?}: srtp = {word:?}: use \"off\", \"optional\" or \"required\"",
                        a.id
                    )
                })?,
            };
            Ok((a.id.clone(), policy))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_bad_certificate_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let tls = SipTlsConfig {
            listen: "127.0.0.1:5061".parse().unwrap(),
            certificate: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            external: None,
        };
        let e = format!("{:#}", tls.load().unwrap_err());
        assert!(e.contains("cert.pem"), "{e}");
        std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
        std::fs::write(
            dir.path().join("key.pem"),
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let e = format!("{:#}", tls.load().unwrap_err());
        assert!(
            e.contains("cert.pem") && e.contains("not PEM") || e.contains("no certificate"),
            "{e}"
        );
        assert!(!e.contains("AAAA"), "the key never shows: {e}");
    }

    #[test]
    fn agents_take_their_own_policy_or_the_default() {
        let agents: Vec<ringdesk_acd::AgentConfig> = toml::from_str::<toml::Table>(
            "[[a]]\nid = \"ana\"\nname = \"Ana\"\nqueues = []\nsrtp = \"required\"\n[[a]]\nid = \"bo\"\nname = \"Bo\"\nqueues = []\n",
        )
        .unwrap()["a"]
            .clone()
            .try_into()
            .unwrap();
        let map = agent_srtp(&agents, SrtpSetting::Off).unwrap();
        assert_eq!(map["ana"], SrtpPolicy::Required);
        assert_eq!(map["bo"], SrtpPolicy::Off);
        let mut bad = agents.clone();
        bad[0].srtp = Some("always".into());
        let e = agent_srtp(&bad, SrtpSetting::Off).unwrap_err().to_string();
        assert!(e.contains("ana") && e.contains("always"), "{e}");
    }
}
