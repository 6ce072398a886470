//! Whose word about a caller is believed. A call from a trusted trunk (a carrier or PBX
//! named by its addresses) carries the identity its `P-Asserted-Identity` and its
//! carrier's verification (`verstat`, STIR/SHAKEN) assert; from any other source a
//! caller ID is only a claim. What such sources get is a policy: refused with `403`, or
//! answered as an unknown caller (no caller ID, no identity headers for the flow).

use crate::sdes::SrtpPolicy;
use crate::trunk_auth::TrunkCredentials;
use ipnet::IpNet;
use std::net::IpAddr;

/// Longest `verstat` value kept (the ATIS values are under 30 characters).
pub const MAX_VERSTAT_LEN: usize = 32;

/// A trusted source of calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trunk {
    pub name: String,
    /// Addresses and ranges the trunk sends from.
    pub networks: Vec<IpNet>,
    /// Whether its calls' media must, may or must not be encrypted.
    pub srtp: SrtpPolicy,
    /// Digest credentials its INVITEs must answer a challenge with (carriers that
    /// authenticate); `None`: identified by address only.
    pub credentials: Option<TrunkCredentials>,
}

/// What a call from a source that is no trunk gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Untrusted {
    /// `403 Forbidden`.
    #[default]
    Refuse,
    /// Answered, its caller ID treated as unknown (`anonymous`).
    Anonymous,
}

/// The trunks and the policy for everyone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustConfig {
    pub trunks: Vec<Trunk>,
    pub untrusted: Untrusted,
    /// The SRTP policy for calls from sources that are no trunk (when they are answered).
    pub untrusted_srtp: SrtpPolicy,
}

impl Default for TrustConfig {
    /// The host itself (loopback) is the one trunk; others are refused.
    fn default() -> Self {
        TrustConfig {
            trunks: vec![Trunk::loopback()],
            untrusted: Untrusted::Refuse,
            untrusted_srtp: SrtpPolicy::default(),
        }
    }
}

impl Trunk {
    /// `local`: 127.0.0.0/8 and ::1, the trunk of a server with none configured.
    pub fn loopback() -> Trunk {
        Trunk {
            name: "local".into(),
            networks: vec![
                "127.0.0.0/8".parse().expect("valid network"),
                "::1/128".parse().expect("valid network"),
            ],
            srtp: SrtpPolicy::default(),
            credentials: None,
        }
    }
}

impl TrustConfig {
    /// The trunk `ip` belongs to (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn trunk_of(&self, ip: IpAddr) -> Option<&Trunk> {
        let ip = crate::contact_hosts::canonical(ip);
        self.trunks
            .iter()
            .find(|t| t.networks.iter().any(|n| n.contains(&ip)))
    }
}

/// The carrier's verification of the caller's number (RFC 8224 / ATIS-1000074
/// `verstat` parameter of the `P-Asserted-Identity` or `From` URI), e.g.
/// `TN-Validation-Passed`. Only letters, digits and `-` are kept; `None` when absent or
/// malformed.
pub fn verstat<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<String> {
    headers.into_iter().find_map(|value| {
        let lower = value.to_ascii_lowercase();
        let at = lower.find(";verstat=")? + ";verstat=".len();
        let tail = &value[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(tail.len());
        let v = &tail[..end];
        (!v.is_empty() && v.len() <= MAX_VERSTAT_LEN).then(|| v.to_owned())
    })
}

/// Headers that assert who the caller is: dropped from an untrusted call's forwarded
/// headers, so a flow cannot believe them either.
pub const IDENTITY_HEADERS: &[&str] = &[
    "From",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Remote-Party-ID",
    "Identity",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_belong_to_the_trunk_whose_range_holds_them() {
        let config = TrustConfig {
            trunks: vec![
                Trunk {
                    name: "carrier".into(),
                    networks: vec!["203.0.113.0/24".parse().unwrap()],
                    srtp: SrtpPolicy::Required,
                    credentials: None,
                },
                Trunk {
                    name: "pbx".into(),
                    networks: vec![
                        "192.0.2.7/32".parse().unwrap(),
                        "2001:db8::/32".parse().unwrap(),
                    ],
                    srtp: SrtpPolicy::Off,
                    credentials: None,
                },
            ],
            untrusted: Untrusted::Refuse,
            untrusted_srtp: SrtpPolicy::Optional,
        };
        let name = |ip: &str| config.trunk_of(ip.parse().unwrap()).map(|t| t.name.clone());
        assert_eq!(name("203.0.113.200").as_deref(), Some("carrier"));
        assert_eq!(name("::ffff:203.0.113.9").as_deref(), Some("carrier"));
        assert_eq!(name("192.0.2.7").as_deref(), Some("pbx"));
        assert_eq!(name("2001:db8::5").as_deref(), Some("pbx"));
        assert_eq!(name("192.0.2.8"), None);
        assert_eq!(name("127.0.0.1"), None);
        let default = TrustConfig::default();
        assert_eq!(
            default.trunk_of("127.0.0.2".parse().unwrap()).unwrap().name,
            "local"
        );
        assert_eq!(
            default.trunk_of("::1".parse().unwrap()).unwrap().name,
            "local"
        );
        assert!(default.trunk_of("10.0.0.1".parse().unwrap()).is_none());
        assert_eq!(default.untrusted, Untrusted::Refuse);
    }

    #[test]
    fn verstat_is_read_from_the_identity_uri_and_bounded() {
        let pai = "<sip:+12125550107@carrier.example;user=phone;verstat=TN-Validation-Passed>";
        assert_eq!(verstat([pai]).as_deref(), Some("TN-Validation-Passed"));
        let tel = "<tel:+12125550107;VerStat=TN-Validation-Failed>;tag=1";
        assert_eq!(
            verstat(["<sip:x@y>", tel]).as_deref(),
            Some("TN-Validation-Failed")
        );
        assert_eq!(verstat(["<sip:+1212@x>"]), None);
        assert_eq!(verstat(["<sip:+1212@x;verstat=>"]), None);
        assert_eq!(
            verstat([format!("<sip:a@b;verstat={}>", "A".repeat(40)).as_str()]),
            None
        );
        assert_eq!(
            verstat(["<sip:a@b;verstat=Pass\r\nX: y>"]).as_deref(),
            Some("Pass")
        );
    }
}
