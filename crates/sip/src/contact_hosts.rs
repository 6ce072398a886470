//! Which hosts an agent's registered Contact may point at: a list of addresses and CIDR
//! ranges per agent, or (the default, an empty list) only the address the REGISTER came
//! from. INVITEs to agents carry the screen pop (customer data), so a registration must
//! not be able to send them to an arbitrary host (Asterisk's `contact_permit`).
//!
//! Pure and bounded: a contact whose host is a name rather than an address, or that names
//! another host in `maddr`, is refused unless every address it names is allowed.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// Most entries in one agent's `contact_hosts`.
pub const MAX_CONTACT_HOSTS: usize = 64;

/// An agent's allowed contact hosts. Empty: only the REGISTER's source address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactHosts {
    nets: Vec<IpNet>,
}

/// Why a `contact_hosts` entry cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactHostsError {
    /// Not an IP address or CIDR range (`192.0.2.7`, `10.0.0.0/8`, `2001:db8::/32`).
    #[error("{0:?} is not an IP address or CIDR range")]
    Invalid(String),
    /// More than [`MAX_CONTACT_HOSTS`] entries.
    #[error("at most {MAX_CONTACT_HOSTS} entries")]
    TooMany,
}

impl ContactHosts {
    /// Only the address each REGISTER comes from (the default).
    pub fn source_only() -> ContactHosts {
        ContactHosts::default()
    }

    /// Parse addresses and CIDR ranges; an empty list means [`ContactHosts::source_only`].
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<ContactHosts, ContactHostsError> {
        if entries.len() > MAX_CONTACT_HOSTS {
            return Err(ContactHostsError::TooMany);
        }
        let nets = entries
            .iter()
            .map(|entry| parse_net(entry.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ContactHosts { nets })
    }

    fn allows_ip(&self, ip: IpAddr, source: IpAddr) -> bool {
        let ip = canonical(ip);
        if self.nets.is_empty() {
            return ip == canonical(source);
        }
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// Whether contact URI `uri` (a `sip:`/`sips:` URI, as [`crate::parse_contacts`] gives
    /// it) may be registered by a REGISTER from `source`.
    pub fn allows(&self, uri: &str, source: IpAddr) -> bool {
        let Some(host) = host_of(uri) else {
            return false;
        };
        let Ok(ip) = IpAddr::from_str(host) else {
            return false;
        };
        if !self.allows_ip(ip, source) {
            return false;
        }
        match maddr_of(uri) {
            None => true,
            Some(maddr) => IpAddr::from_str(maddr).is_ok_and(|ip| self.allows_ip(ip, source)),
        }
    }
}

/// An IP address (a one-address range) or a CIDR range: `192.0.2.7`, `10.0.0.0/8`,
/// `2001:db8::/32`.
pub fn parse_net(text: &str) -> Result<IpNet, ContactHostsError> {
    let text = text.trim();
    IpNet::from_str(text)
        .ok()
        .or_else(|| IpAddr::from_str(text).ok().map(IpNet::from))
        .map(|net| net.trunc())
        .ok_or_else(|| ContactHostsError::Invalid(bounded(text)))
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn bounded(text: &str) -> String {
    text.chars().take(64).collect()
}

/// The host of a SIP URI: after the scheme and any `user@`, before the port, parameters
/// and headers; IPv6 references lose their brackets.
fn host_of(uri: &str) -> Option<&str> {
    let rest = uri.split_once(':')?.1;
    let end = rest.find([';', '?']).unwrap_or(rest.len());
    let hostport = rest.get(..end)?;
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split_once(']').map(|(host, _)| host);
    }
    Some(hostport.split_once(':').map_or(hostport, |(host, _)| host))
}

/// The `maddr` URI parameter, if any.
fn maddr_of(uri: &str) -> Option<&str> {
    let params = uri.split_once(';')?.1;
    let params = params.split_once('?').map_or(params, |(p, _)| p);
    params.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("maddr")
            .then(|| value.trim().trim_start_matches('[').trim_end_matches(']'))
    })
}

#[cfg(test)]
mod tests {
    //! Source-only default, CIDR lists, hostile URIs.
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn default_allows_only_the_source_address() {
        let hosts = ContactHosts::source_only();
        let source = ip("192.0.2.10");
        assert!(hosts.allows("sip:ana@192.0.2.10:5062;transport=tcp", source));
        assert!(hosts.allows("sips:192.0.2.10", source));
        assert!(!hosts.allows("sip:ana@198.51.100.9:5060", source));
        assert!(!hosts.allows("sip:ana@evil.example.com", source));
        assert!(!hosts.allows("sip:ana@192.0.2.10;maddr=198.51.100.9", source));
        assert!(hosts.allows("sip:ana@[::ffff:192.0.2.10]:5060", source));
        assert!(hosts.allows("sip:ana@[2001:db8::1]:5060", ip("2001:db8::1")));
    }

    #[test]
    fn listed_addresses_and_ranges() {
        let hosts = ContactHosts::parse(&["10.0.0.0/8", "203.0.113.7", "2001:db8::/32"]).unwrap();
        let source = ip("198.51.100.1");
        assert!(hosts.allows("sip:ana@10.1.2.3:5060", source));
        assert!(hosts.allows("sip:ana@203.0.113.7", source));
        assert!(hosts.allows("sip:ana@[2001:db8::5]", source));
        // The list replaces the default: the source itself is not implied.
        assert!(!hosts.allows("sip:ana@198.51.100.1", source));
        assert!(!hosts.allows("sip:ana@11.0.0.1", source));
    }

    #[test]
    fn bad_entries_and_junk_uris() {
        assert!(matches!(
            ContactHosts::parse(&["pbx.example.com"]),
            Err(ContactHostsError::Invalid(_))
        ));
        assert!(ContactHosts::parse(&["10.0.0.0/33"]).is_err());
        let many: Vec<String> = (0..=MAX_CONTACT_HOSTS)
            .map(|i| format!("10.0.0.{i}"))
            .collect();
        assert_eq!(ContactHosts::parse(&many), Err(ContactHostsError::TooMany));
        let hosts = ContactHosts::source_only();
        for junk in [
            "",
            "sip:",
            "sip:@",
            "sip:[::1",
            "sip:a@b@",
            "nonsense",
            "sip:ana@[]",
        ] {
            assert!(!hosts.allows(junk, ip("127.0.0.1")), "{junk}");
        }
    }
}
