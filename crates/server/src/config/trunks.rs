//! `[[trunks]]` and `[sip] untrusted`: which sources' word about a caller is believed
//! (their `P-Asserted-Identity` and verification), and what calls from any other source
//! get. With no trunk configured, the host itself (loopback) is the one trunk, `local`.
//! Decision 0012 says why other sources are refused by default.

use anyhow::{bail, Result};
use ringdesk_sip::{Trunk, TrunkCredentials, TrustConfig, Untrusted};
use serde::Deserialize;

/// Most trunks, and most addresses per trunk.
const MAX_TRUNKS: usize = 256;
const MAX_ADDRESSES: usize = 256;

/// `[[trunks]]`: a carrier or PBX that delivers calls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    pub name: String,
    /// Source addresses (`203.0.113.7`) or ranges (`203.0.113.0/24`, `2001:db8::/32`).
    pub addresses: Vec<String>,
    /// When the default flow may speak a caller's name and ticket details.
    #[serde(default)]
    pub personal_data: PersonalData,
    /// Whether its calls' media must, may or must not be encrypted (absent: `[sip] srtp`).
    #[serde(default)]
    pub srtp: Option<super::SrtpSetting>,
    /// Digest username its INVITEs must authenticate with (carriers that authenticate);
    /// with it, exactly one of `password` and `password_env`.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<ringdesk_secret::Secret>,
    #[serde(default)]
    pub password_env: Option<String>,
}

/// Longest trunk password accepted.
const MAX_PASSWORD: usize = 256;

/// A trunk's digest credentials, when it has a username (`env` reads `password_env`).
fn credentials(
    t: &TrunkConfig,
    at: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<TrunkCredentials>> {
    let Some(username) = &t.username else {
        if t.password.is_some() || t.password_env.is_some() {
            bail!("{at}: a password needs a username");
        }
        return Ok(None);
    };
    if username.is_empty()
        || username.len() > 64
        || !username
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\'))
    {
        bail!("{at}: username must be 1-64 printable characters, no quotes or backslashes");
    }
    let password = ringdesk_secret::from_config(
        t.password.as_ref(),
        t.password_env.as_deref(),
        env,
        MAX_PASSWORD,
    )
    .map_err(|e| anyhow::anyhow!("{at}: password: {e}"))?;
    Ok(Some(TrunkCredentials {
        username: username.clone(),
        password,
    }))
}

/// When personal data may be spoken to a trunk's caller (`[[trunks]] personal_data`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonalData {
    /// Always: the trunk is a PBX whose callers are who they say (the implicit `local`).
    Always,
    /// Only when the carrier verified the number (`verstat=TN-Validation-Passed`).
    Verified,
    /// When verified, or once the caller keyed in a check (the ticket number). The
    /// default for a configured trunk: carriers pass on spoofed numbers.
    #[default]
    Check,
}

/// How far a call's caller ID is believed: the flow's `caller_identity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerIdentity {
    /// Personal data may be spoken.
    Verified,
    /// The caller must key in a check first.
    Check,
    /// Nothing personal is said.
    Unverified,
}

impl CallerIdentity {
    pub fn as_str(self) -> &'static str {
        match self {
            CallerIdentity::Verified => "verified",
            CallerIdentity::Check => "check",
            CallerIdentity::Unverified => "unverified",
        }
    }
}

/// The start variable that tells a flow how far the caller ID is believed.
pub const CALLER_IDENTITY_VARIABLE: &str = "caller_identity";

/// The verification result that counts as a verified number (ATIS-1000074).
pub const VERSTAT_PASSED: &str = "TN-Validation-Passed";

/// The identity of a call from a trunk with `policy` (`None`: no trunk) whose carrier
/// reported `verstat`.
pub fn caller_identity(policy: Option<PersonalData>, verstat: Option<&str>) -> CallerIdentity {
    let verified = verstat == Some(VERSTAT_PASSED);
    match policy {
        None => CallerIdentity::Unverified,
        Some(PersonalData::Always) => CallerIdentity::Verified,
        Some(_) if verified => CallerIdentity::Verified,
        Some(PersonalData::Verified) => CallerIdentity::Unverified,
        Some(PersonalData::Check) => CallerIdentity::Check,
    }
}

/// Each trunk's `personal_data` by name (`local`: always).
pub fn personal_data(trunks: &[TrunkConfig]) -> std::collections::HashMap<String, PersonalData> {
    let mut out: std::collections::HashMap<String, PersonalData> = trunks
        .iter()
        .map(|t| (t.name.clone(), t.personal_data))
        .collect();
    if out.is_empty() {
        out.insert(Trunk::loopback().name, PersonalData::Always);
    }
    out
}

/// `[sip] untrusted`: what a call from a source that is no trunk gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UntrustedCalls {
    /// `403 Forbidden`, logged with the source (fail2ban).
    #[default]
    Refuse,
    /// Answered as an unknown caller: no caller ID, no lookup, no personal data.
    Anonymous,
}

/// The SIP server's trust table; `origin` names the file in errors.
pub fn trust(
    trunks: &[TrunkConfig],
    untrusted: UntrustedCalls,
    srtp: super::SrtpSetting,
    origin: &str,
) -> Result<TrustConfig> {
    trust_with_env(
        trunks,
        untrusted,
        srtp,
        origin,
        &ringdesk_secret::process_env,
    )
}

/// [`trust`], reading `password_env` variables through `env`.
pub fn trust_with_env(
    trunks: &[TrunkConfig],
    untrusted: UntrustedCalls,
    srtp: super::SrtpSetting,
    origin: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<TrustConfig> {
    if trunks.len() > MAX_TRUNKS {
        bail!("{origin}: at most {MAX_TRUNKS} [[trunks]]");
    }
    let mut out: Vec<Trunk> = Vec::new();
    for (i, t) in trunks.iter().enumerate() {
        let at = format!("{origin}: [[trunks]] #{} ({:?})", i + 1, t.name);
        if t.name.is_empty()
            || t.name.len() > 64
            || !t
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            bail!("{at}: name must be 1-64 letters, digits, '-', '_' or '.'");
        }
        if out.iter().any(|o| o.name == t.name) {
            bail!("{at}: another trunk has the same name");
        }
        if t.addresses.is_empty() || t.addresses.len() > MAX_ADDRESSES {
            bail!("{at}: addresses must list 1 to {MAX_ADDRESSES} addresses or ranges");
        }
        let mut networks = Vec::new();
        for a in &t.addresses {
            let net = ringdesk_sip::parse_net(a).ok().ok_or_else(|| {
                anyhow::anyhow!(
                    "{at}: {a:?} is not an address or a range such as \"203.0.113.0/24\""
                )
            })?;
            if net.prefix_len() == 0 {
                bail!("{at}: {a:?} trusts every address; use [sip] untrusted = \"anonymous\" to answer anyone");
            }
            networks.push(net);
        }
        out.push(Trunk {
            name: t.name.clone(),
            networks,
            srtp: t.srtp.unwrap_or(srtp).into(),
            credentials: credentials(t, &at, env)?,
        });
    }
    if out.is_empty() {
        out.push(Trunk {
            srtp: srtp.into(),
            ..Trunk::loopback()
        });
    }
    Ok(TrustConfig {
        trunks: out,
        untrusted: match untrusted {
            UntrustedCalls::Refuse => Untrusted::Refuse,
            UntrustedCalls::Anonymous => Untrusted::Anonymous,
        },
        untrusted_srtp: srtp.into(),
    })
}

/// One line per trunk for the startup message.
pub fn describe(trust: &TrustConfig) -> Vec<String> {
    trust
        .trunks
        .iter()
        .map(|t| {
            let nets: Vec<String> = t.networks.iter().map(ToString::to_string).collect();
            format!("{} ({})", t.name, nets.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trunks(text: &str) -> Vec<TrunkConfig> {
        #[derive(Deserialize)]
        struct F {
            trunks: Vec<TrunkConfig>,
        }
        toml::from_str::<F>(text).expect("valid toml").trunks
    }

    #[test]
    fn trunks_are_addresses_and_ranges_and_loopback_when_none() {
        let t = trust(
            &trunks("[[trunks]]\nname = \"carrier\"\naddresses = [\"203.0.113.9/24\", \"2001:db8::1\"]\n"),
            UntrustedCalls::Anonymous,
            crate::config::SrtpSetting::Optional,
            "t.toml",
        )
        .unwrap();
        assert_eq!(t.untrusted, Untrusted::Anonymous);
        assert_eq!(
            describe(&t),
            vec!["carrier (203.0.113.0/24, 2001:db8::1/128)"]
        );
        assert!(t.trunk_of("203.0.113.200".parse().unwrap()).is_some());
        assert!(
            t.trunk_of("127.0.0.1".parse().unwrap()).is_none(),
            "loopback is no longer trusted"
        );
        let none = trust(&[], UntrustedCalls::default(), Default::default(), "t.toml").unwrap();
        assert_eq!(none.untrusted, Untrusted::Refuse);
        assert_eq!(describe(&none), vec!["local (127.0.0.0/8, ::1/128)"]);
    }

    #[test]
    fn personal_data_needs_a_vouched_number_or_a_check() {
        use CallerIdentity as I;
        use PersonalData as P;
        let passed = Some(VERSTAT_PASSED);
        let failed = Some("TN-Validation-Failed");
        for (policy, verstat, want) in [
            (None, passed, I::Unverified),
            (Some(P::Always), None, I::Verified),
            (Some(P::Verified), passed, I::Verified),
            (Some(P::Verified), failed, I::Unverified),
            (Some(P::Verified), None, I::Unverified),
            (Some(P::Check), passed, I::Verified),
            (Some(P::Check), failed, I::Check),
            (Some(P::Check), Some("tn-validation-passed"), I::Check),
        ] {
            assert_eq!(
                caller_identity(policy, verstat),
                want,
                "{policy:?} {verstat:?}"
            );
        }
        let t = trunks("[[trunks]]\nname = \"carrier\"\naddresses = [\"10.0.0.1\"]\n[[trunks]]\nname = \"pbx\"\naddresses = [\"10.0.0.2\"]\npersonal_data = \"always\"\n");
        let p = personal_data(&t);
        assert_eq!((p["carrier"], p["pbx"]), (P::Check, P::Always));
        assert_eq!(personal_data(&[])["local"], P::Always);
    }

    #[test]
    fn mistakes_name_the_trunk_and_the_address() {
        for (text, want) in [
            ("[[trunks]]\nname = \"c\"\naddresses = [\"carrier.example\"]\n", "\"carrier.example\" is not an address"),
            ("[[trunks]]\nname = \"c\"\naddresses = [\"0.0.0.0/0\"]\n", "trusts every address"),
            ("[[trunks]]\nname = \"c\"\naddresses = []\n", "addresses must list"),
            ("[[trunks]]\nname = \"c d\"\naddresses = [\"10.0.0.1\"]\n", "name must be"),
            (
                "[[trunks]]\nname = \"c\"\naddresses = [\"10.0.0.1\"]\n[[trunks]]\nname = \"c\"\naddresses = [\"10.0.0.2\"]\n",
                "same name",
            ),
        ] {
            let err = trust(&trunks(text), UntrustedCalls::Refuse, Default::default(), "t.toml").unwrap_err().to_string();
            assert!(err.starts_with("t.toml: [[trunks]] #"), "{err}");
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn a_trunk_with_a_username_needs_a_password_and_gets_credentials() {
        let env = |name: &str| (name == "CARRIER_PW").then(|| "from-the-env".to_owned());
        let t = trust_with_env(
            &trunks("[[trunks]]\nname = \"c\"\naddresses = [\"192.0.2.1\"]\nusername = \"ringdesk\"\npassword_env = \"CARRIER_PW\"\n"),
            UntrustedCalls::Refuse,
            Default::default(),
            "t.toml",
            &env,
        )
        .unwrap();
        let creds = t.trunks[0].credentials.as_ref().expect("credentials");
        assert_eq!(
            (creds.username.as_str(), creds.password.expose()),
            ("ringdesk", "from-the-env")
        );
        for (text, want) in [
            ("username = \"ringdesk\"\n", "password"),
            ("password = \"x\"\n", "needs a username"),
            ("username = \"a\\\"b\"\npassword = \"x\"\n", "username"),
            (
                "username = \"ringdesk\"\npassword_env = \"UNSET_SURELY\"\n",
                "UNSET_SURELY",
            ),
        ] {
            let e = trust_with_env(
                &trunks(&format!(
                    "[[trunks]]\nname = \"c\"\naddresses = [\"192.0.2.1\"]\n{text}"
                )),
                UntrustedCalls::Refuse,
                Default::default(),
                "t.toml",
                &env,
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("t.toml") && e.contains(want), "{text}: {e}");
        }
    }
}
