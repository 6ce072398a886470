//! Settings that are allowed but weaken ringdesk, or will surprise an operator: one list,
//! logged by `serve` at start and printed by `ringdesk config check`, so the two never
//! disagree. Each warning says what happens and what to set instead.

use super::{Config, SrtpSetting, UntrustedCalls};

impl Config {
    /// What `serve` would warn about with this configuration.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let sip = self.sip.listen;
        if sip.ip().is_unspecified() {
            out.push(
                "[sip] listen is a wildcard address: SDP answers need a reachable address; set [sip] listen to this host's address".to_owned(),
            );
        }
        match self.sip.untrusted {
            UntrustedCalls::Anonymous => out.push(
                "[sip] untrusted = \"anonymous\": ringdesk answers calls from any source (their caller ID is not believed); set it to \"refuse\" once your trunks are listed".to_owned(),
            ),
            UntrustedCalls::Refuse if self.trunks.is_empty() && !sip.ip().is_loopback() => {
                out.push(format!(
                    "[sip] listen = {sip} is reachable from the network, but no [[trunks]] is listed: only this host may call, every other source gets 403; list your carriers and PBXs in [[trunks]] (docs/security.md)"
                ))
            }
            UntrustedCalls::Refuse => {}
        }
        let required = self.sip.srtp == SrtpSetting::Required
            || self
                .trunks
                .iter()
                .any(|t| t.srtp == Some(SrtpSetting::Required))
            || self
                .agents
                .iter()
                .any(|a| a.srtp.as_deref() == Some("required"));
        match &self.sip.tls {
            None if required => out.push(
                "SRTP is required but [sip.tls] is not set: SDES keys travel in the SDP, readable by anyone who sees the SIP messages; configure [sip.tls] and have the trunks and phones use it".to_owned(),
            ),
            Some(tls) if super::key_readable_by_others(&tls.key) => out.push(format!(
                "[sip.tls] key {} can be read by other users; chmod 600 it",
                tls.key.display()
            )),
            _ => {}
        }
        if self.store.is_postgres() && self.store.plaintext_network {
            out.push(
                "[store] plaintext_network = true: call records may cross the network to PostgreSQL unencrypted; remove it (TLS is used, verified against Mozilla's roots or [store] ca_file)".to_owned(),
            );
        }
        if self.records.keep_days().is_none() {
            out.push(
                "[records] keep_days = 0: call records (callers' numbers) are kept forever"
                    .to_owned(),
            );
        }
        if !self.admin.secure_cookies() && !self.admin.listen.ip().is_loopback() {
            out.push(format!(
                "[admin] secure_cookies = false on {}: the pages' session cookies travel without TLS; put a TLS-terminating proxy in front and remove the setting",
                self.admin.listen
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warnings(text: &str) -> Vec<String> {
        Config::parse(text, "t.toml")
            .expect("valid config")
            .warnings()
    }

    #[test]
    fn the_defaults_warn_about_nothing() {
        assert_eq!(warnings(""), Vec::<String>::new());
    }

    #[test]
    fn each_weakening_setting_is_named_with_what_to_do() {
        let w = warnings("[sip]\nlisten = \"0.0.0.0:5060\"\n");
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("wildcard address"), "{w:?}");
        assert!(
            w[1].contains("no [[trunks]] is listed: only this host may call"),
            "{w:?}"
        );
        // With a trunk listed, only the wildcard remains.
        let w = warnings(
            "[sip]\nlisten = \"0.0.0.0:5060\"\n[[trunks]]\nname = \"c\"\naddresses = [\"203.0.113.0/24\"]\n",
        );
        assert_eq!(w.len(), 1, "{w:?}");
        let w = warnings("[sip]\nuntrusted = \"anonymous\"\n[records]\nkeep_days = 0\n");
        assert!(w[0].starts_with("[sip] untrusted = \"anonymous\""), "{w:?}");
        assert!(w[1].starts_with("[records] keep_days = 0"), "{w:?}");
        let w = warnings("[sip]\nsrtp = \"required\"\n");
        assert!(
            w[0].starts_with("SRTP is required but [sip.tls] is not set"),
            "{w:?}"
        );
        let w = warnings(
            "[[trunks]]\nname = \"c\"\naddresses = [\"127.0.0.1\"]\nsrtp = \"required\"\n",
        );
        assert!(w[0].starts_with("SRTP is required"), "{w:?}");
        let token = "[[admin.tokens]]\nname = \"ops\"\nrole = \"admin\"\ntoken = \"0123456789abcdef0123456789abcdef\"\n";
        let w = warnings(&format!(
            "[admin]\nlisten = \"10.0.0.5:8089\"\nsecure_cookies = false\n{token}"
        ));
        assert!(w[0].starts_with("[admin] secure_cookies = false"), "{w:?}");
    }

    #[test]
    fn session_cookies_are_secure_off_loopback_unless_asked() {
        let c = Config::parse("", "t.toml").unwrap();
        assert!(!c.admin.secure_cookies(), "plain HTTP on loopback");
        let c = Config::parse("[admin]\nsecure_cookies = true\n", "t.toml").unwrap();
        assert!(c.admin.secure_cookies());
        let mut c = Config::parse("", "t.toml").unwrap();
        c.admin.listen = "10.0.0.5:8089".parse().unwrap();
        assert!(
            c.admin.secure_cookies(),
            "a network address: behind a TLS proxy"
        );
    }
}
