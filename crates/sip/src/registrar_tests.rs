//! Registrar unit tests on virtual time: challenges, digest verification, expiry, several
//! contacts, explicit and lapsed unregistration, rate limiting.
use super::*;
use crate::contact::{ContactList, ContactSpec};
use crate::digest::{expected_response, DigestAlgorithm, DigestAuthorization};
use crate::secret::Secret;

/// The test network: contacts in it may be registered from any of its addresses.
fn test_net() -> crate::ContactHosts {
    crate::ContactHosts::parse(&["192.0.2.0/24", "10.0.0.0/8"]).unwrap()
}

fn config() -> RegistrarConfig {
    RegistrarConfig::with_agents(vec![
        AgentCredential::new("1001", Secret::new("pw-alice")).with_contact_hosts(test_net()),
        AgentCredential {
            agent: "bob".to_owned(),
            username: "1002".to_owned(),
            password: Secret::new("pw-bob"),
            contact_hosts: test_net(),
        },
    ])
}

fn registrar() -> (Registrar, Instant) {
    let t0 = Instant::now();
    (Registrar::new(config(), [42; 32], t0), t0)
}

fn request(user: &str, contacts: &[(&str, Option<u32>)], expires: Option<u32>) -> RegisterRequest {
    RegisterRequest {
        source: "192.0.2.10:5062".parse().unwrap(),
        transport: Transport::Udp,
        aor_user: user.to_owned(),
        authorization: None,
        contacts: ContactList::List(
            contacts
                .iter()
                .map(|(uri, expires)| ContactSpec {
                    uri: (*uri).to_owned(),
                    expires: *expires,
                })
                .collect(),
        ),
        expires,
        path: Vec::new(),
    }
}

/// The nonce and algorithm of the first challenge in `reply`.
fn nonce_of(reply: &RegisterReply, index: usize) -> (String, DigestAlgorithm, bool) {
    let RegisterReply::Challenge { www_authenticate } = reply else {
        panic!("expected a challenge, got {reply:?}");
    };
    let header = &www_authenticate[index];
    let nonce = header
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let alg = if header.contains("SHA-256") {
        DigestAlgorithm::Sha256
    } else {
        DigestAlgorithm::Md5
    };
    (nonce, alg, header.contains("stale=true"))
}

fn authorization(user: &str, password: &str, nonce: &str, alg: DigestAlgorithm, nc: u32) -> String {
    let mut auth = DigestAuthorization {
        username: user.to_owned(),
        realm: "ringdesk".to_owned(),
        nonce: nonce.to_owned(),
        uri: "sip:127.0.0.1".to_owned(),
        response: String::new(),
        algorithm: alg,
        qop: Some((nc, "c0ffee".to_owned())),
    };
    auth.response = expected_response(&auth, "REGISTER", password);
    format!(
        "Digest username=\"{user}\", realm=\"ringdesk\", nonce=\"{nonce}\", uri=\"sip:127.0.0.1\", \
         response=\"{}\", algorithm={}, qop=auth, nc={nc:08x}, cnonce=\"c0ffee\"",
        auth.response,
        alg.name()
    )
}

/// Challenge then answer with `password`.
fn register(
    reg: &mut Registrar,
    now: Instant,
    mut req: RegisterRequest,
    password: &str,
) -> RegisterReply {
    req.authorization = None;
    let challenge = reg.handle_register(now, &req);
    let (nonce, alg, _) = nonce_of(&challenge, 0);
    req.authorization = Some(authorization(&req.aor_user, password, &nonce, alg, 1));
    reg.handle_register(now, &req)
}

fn events(reg: &mut Registrar) -> Vec<RegistrarEvent> {
    std::iter::from_fn(|| reg.poll_event()).collect()
}

fn registered(agent: &str, contact: &str) -> RegistrarEvent {
    RegistrarEvent::Registered {
        agent: agent.to_owned(),
        contact: contact.to_owned(),
    }
}

fn unregistered(agent: &str) -> RegistrarEvent {
    RegistrarEvent::Unregistered {
        agent: agent.to_owned(),
    }
}

const A1: &str = "sip:1001@192.0.2.10:5062";
const A2: &str = "sip:1001@192.0.2.11:5060";

#[test]
fn unauthenticated_register_is_challenged_with_each_algorithm() {
    let (mut reg, t0) = registrar();
    let reply = reg.handle_register(t0, &request("1001", &[(A1, None)], None));
    let RegisterReply::Challenge { www_authenticate } = &reply else {
        panic!("{reply:?}");
    };
    assert_eq!(www_authenticate.len(), 2);
    assert!(www_authenticate[0].contains("algorithm=MD5"));
    assert!(www_authenticate[1].contains("algorithm=SHA-256"));
    assert!(www_authenticate[0].contains("realm=\"ringdesk\""));
    assert!(events(&mut reg).is_empty());
    assert!(reg.contacts("1001").is_empty());
}

#[test]
fn md5_and_sha256_registrations_succeed() {
    let (mut reg, t0) = registrar();
    let reply = register(
        &mut reg,
        t0,
        request("1001", &[(A1, None)], None),
        "pw-alice",
    );
    assert_eq!(
        reply,
        RegisterReply::Ok {
            contacts: vec![format!("<{A1}>;expires=3600")]
        }
    );
    assert_eq!(events(&mut reg), vec![registered("1001", A1)]);

    let req = request("1002", &[("sip:1002@192.0.2.20", Some(120))], None);
    let challenge = reg.handle_register(t0, &req);
    let (nonce, alg, stale) = nonce_of(&challenge, 1);
    assert_eq!(alg, DigestAlgorithm::Sha256);
    assert!(!stale);
    let mut req = req;
    req.authorization = Some(authorization("1002", "pw-bob", &nonce, alg, 1));
    assert!(matches!(
        reg.handle_register(t0, &req),
        RegisterReply::Ok { .. }
    ));
    assert_eq!(
        events(&mut reg),
        vec![registered("bob", "sip:1002@192.0.2.20")]
    );
    assert_eq!(
        reg.registered_agents(),
        vec!["1001".to_owned(), "bob".to_owned()]
    );
}

#[test]
fn wrong_password_unknown_user_and_foreign_aor_are_forbidden_alike() {
    let (mut reg, t0) = registrar();
    let wrong = register(&mut reg, t0, request("1001", &[(A1, None)], None), "guess");
    let unknown = register(
        &mut reg,
        t0,
        request("9999", &[(A1, None)], None),
        "pw-alice",
    );
    // bob's valid credentials used for alice's address of record
    let mut req = request("1001", &[(A1, None)], None);
    let (nonce, alg, _) = nonce_of(&reg.handle_register(t0, &req), 0);
    req.authorization = Some(authorization("1002", "pw-bob", &nonce, alg, 1));
    let foreign = reg.handle_register(t0, &req);
    assert_eq!(wrong, RegisterReply::Forbidden);
    assert_eq!(unknown, RegisterReply::Forbidden);
    assert_eq!(foreign, RegisterReply::Forbidden);
    assert!(events(&mut reg).is_empty());
    assert!(reg.registered_agents().is_empty());
}

#[test]
fn malformed_or_foreign_realm_authorization() {
    let (mut reg, t0) = registrar();
    let mut req = request("1001", &[(A1, None)], None);
    req.authorization = Some("Digest username=\"1001".to_owned());
    assert!(matches!(
        reg.handle_register(t0, &req),
        RegisterReply::BadRequest(_)
    ));
    req.authorization = Some(
        authorization("1001", "pw-alice", "n", DigestAlgorithm::Md5, 1)
            .replace("realm=\"ringdesk\"", "realm=\"other\""),
    );
    assert!(matches!(
        reg.handle_register(t0, &req),
        RegisterReply::Challenge { .. }
    ));
    // A nonce we never issued: a fresh challenge, not stale.
    req.authorization = Some(authorization(
        "1001",
        "pw-alice",
        "n",
        DigestAlgorithm::Md5,
        1,
    ));
    let (_, _, stale) = nonce_of(&reg.handle_register(t0, &req), 0);
    assert!(!stale);
    req.authorization = Some("Basic YTpi".to_owned());
    assert!(matches!(
        reg.handle_register(t0, &req),
        RegisterReply::Challenge { .. }
    ));
}

#[test]
fn old_or_replayed_nonces_get_a_stale_challenge() {
    let (mut reg, t0) = registrar();
    let mut req = request("1001", &[(A1, None)], None);
    let (nonce, alg, _) = nonce_of(&reg.handle_register(t0, &req), 0);
    req.authorization = Some(authorization("1001", "pw-alice", &nonce, alg, 1));
    assert!(matches!(
        reg.handle_register(t0, &req),
        RegisterReply::Ok { .. }
    ));
    // The same nonce count again is a replay.
    let (_, _, stale) = nonce_of(&reg.handle_register(t0, &req), 0);
    assert!(stale);
    // The next count is fine (phones reuse the nonce on refresh).
    req.authorization = Some(authorization("1001", "pw-alice", &nonce, alg, 2));
    assert!(matches!(
        reg.handle_register(t0, &req),
        RegisterReply::Ok { .. }
    ));
    // After the nonce lifetime, the right password gets stale=true...
    let later = t0 + Duration::from_secs(301);
    req.authorization = Some(authorization("1001", "pw-alice", &nonce, alg, 3));
    let (_, _, stale) = nonce_of(&reg.handle_register(later, &req), 0);
    assert!(stale);
    // ...and a wrong one is still forbidden.
    req.authorization = Some(authorization("1001", "nope", &nonce, alg, 4));
    assert_eq!(reg.handle_register(later, &req), RegisterReply::Forbidden);
}

#[test]
fn expiry_is_clamped_and_taken_from_param_then_header() {
    let (mut reg, t0) = registrar();
    let req = request(
        "1001",
        &[
            (A1, Some(10)),
            (A2, None),
            ("sip:1001@192.0.2.30", Some(999_999)),
        ],
        Some(300),
    );
    let RegisterReply::Ok { contacts } = register(&mut reg, t0, req, "pw-alice") else {
        panic!("registration failed");
    };
    let mut contacts = contacts;
    contacts.sort();
    assert_eq!(
        contacts,
        vec![
            format!("<{A1}>;expires=60"),
            format!("<{A2}>;expires=300"),
            "<sip:1001@192.0.2.30>;expires=3600".to_owned(),
        ]
    );
}

#[test]
fn registration_lapses_and_logs_the_agent_out() {
    let (mut reg, t0) = registrar();
    register(
        &mut reg,
        t0,
        request("1001", &[(A1, Some(60))], None),
        "pw-alice",
    );
    events(&mut reg);
    assert_eq!(reg.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    reg.handle_timeout(t0 + Duration::from_secs(59));
    assert!(events(&mut reg).is_empty());
    assert_eq!(reg.contacts("1001").len(), 1);
    reg.handle_timeout(t0 + Duration::from_secs(60));
    assert_eq!(events(&mut reg), vec![unregistered("1001")]);
    assert!(reg.contacts("1001").is_empty());
    assert_eq!(reg.poll_timeout(), None);
}

#[test]
fn refresh_extends_without_a_new_event() {
    let (mut reg, t0) = registrar();
    register(
        &mut reg,
        t0,
        request("1001", &[(A1, Some(60))], None),
        "pw-alice",
    );
    assert_eq!(events(&mut reg).len(), 1);
    let t1 = t0 + Duration::from_secs(50);
    register(
        &mut reg,
        t1,
        request("1001", &[(A1, Some(60))], None),
        "pw-alice",
    );
    assert!(events(&mut reg).is_empty());
    reg.handle_timeout(t0 + Duration::from_secs(100));
    assert!(events(&mut reg).is_empty());
    assert_eq!(reg.poll_timeout(), Some(t1 + Duration::from_secs(60)));
}

#[test]
fn several_contacts_most_recent_first_logout_with_the_last() {
    let (mut reg, t0) = registrar();
    register(
        &mut reg,
        t0,
        request("1001", &[(A1, Some(60))], None),
        "pw-alice",
    );
    let t1 = t0 + Duration::from_secs(1);
    register(
        &mut reg,
        t1,
        request("1001", &[(A2, Some(120))], None),
        "pw-alice",
    );
    assert_eq!(
        events(&mut reg),
        vec![registered("1001", A1), registered("1001", A2)]
    );
    let uris: Vec<String> = reg.contacts("1001").into_iter().map(|c| c.uri).collect();
    assert_eq!(uris, vec![A2.to_owned(), A1.to_owned()]);
    reg.handle_timeout(t0 + Duration::from_secs(61));
    assert!(events(&mut reg).is_empty(), "one contact left");
    reg.handle_timeout(t1 + Duration::from_secs(120));
    assert_eq!(events(&mut reg), vec![unregistered("1001")]);
}

#[test]
fn explicit_unregistration_by_contact_and_by_star() {
    let (mut reg, t0) = registrar();
    register(
        &mut reg,
        t0,
        request("1001", &[(A1, None), (A2, None)], None),
        "pw-alice",
    );
    events(&mut reg);
    let reply = register(
        &mut reg,
        t0,
        request("1001", &[(A1, None)], Some(0)),
        "pw-alice",
    );
    assert_eq!(
        reply,
        RegisterReply::Ok {
            contacts: vec![format!("<{A2}>;expires=3600")]
        }
    );
    assert!(events(&mut reg).is_empty());

    let mut star = request("1001", &[], None);
    star.contacts = ContactList::Star;
    assert!(matches!(
        register(&mut reg, t0, star.clone(), "pw-alice"),
        RegisterReply::BadRequest(_)
    ));
    star.expires = Some(0);
    assert_eq!(
        register(&mut reg, t0, star, "pw-alice"),
        RegisterReply::Ok { contacts: vec![] }
    );
    assert_eq!(events(&mut reg), vec![unregistered("1001")]);
}

#[test]
fn query_lists_bindings_without_changes() {
    let (mut reg, t0) = registrar();
    register(
        &mut reg,
        t0,
        request("1001", &[(A1, Some(100))], None),
        "pw-alice",
    );
    events(&mut reg);
    let reply = register(
        &mut reg,
        t0 + Duration::from_secs(40),
        request("1001", &[], None),
        "pw-alice",
    );
    assert_eq!(
        reply,
        RegisterReply::Ok {
            contacts: vec![format!("<{A1}>;expires=60")]
        }
    );
    assert!(events(&mut reg).is_empty());
}

#[test]
fn too_many_contacts_replace_the_oldest() {
    let (mut reg, t0) = registrar();
    for i in 0..6u64 {
        let uri = format!("sip:1001@10.0.0.{i}");
        let now = t0 + Duration::from_secs(i);
        register(
            &mut reg,
            now,
            request("1001", &[(&uri, None)], None),
            "pw-alice",
        );
    }
    let uris: Vec<String> = reg.contacts("1001").into_iter().map(|c| c.uri).collect();
    assert_eq!(uris.len(), 5);
    assert!(!uris.contains(&"sip:1001@10.0.0.0".to_owned()));
    assert_eq!(uris[0], "sip:1001@10.0.0.5");
}

#[test]
fn failed_attempts_are_rate_limited_per_source() {
    let mut config = config();
    config.lockout.max_failures = 0; // the per-source limit alone
    let t0 = Instant::now();
    let mut reg = Registrar::new(config, [42; 32], t0);
    for _ in 0..10 {
        let reply = register(&mut reg, t0, request("1001", &[(A1, None)], None), "guess");
        assert_eq!(reply, RegisterReply::Forbidden);
    }
    // Blocked now, even with the right password and even before a challenge.
    let reply = reg.handle_register(t0, &request("1001", &[(A1, None)], None));
    assert_eq!(reply, RegisterReply::Forbidden);
    // Another source is not affected.
    let mut other = request("1001", &[(A1, None)], None);
    other.source = "192.0.2.99:5060".parse().unwrap();
    assert!(matches!(
        register(&mut reg, t0, other, "pw-alice"),
        RegisterReply::Ok { .. }
    ));
    // After the window the first source may try again.
    let later = t0 + Duration::from_secs(61);
    assert!(matches!(
        register(
            &mut reg,
            later,
            request("1001", &[(A1, None)], None),
            "pw-alice"
        ),
        RegisterReply::Ok { .. }
    ));
}

#[test]
fn removing_an_agent_from_the_table_logs_it_out() {
    let (mut reg, t0) = registrar();
    register(
        &mut reg,
        t0,
        request("1001", &[(A1, None)], None),
        "pw-alice",
    );
    events(&mut reg);
    reg.set_agents(vec![]);
    assert_eq!(events(&mut reg), vec![unregistered("1001")]);
    assert!(reg.contacts("1001").is_empty());
    let reply = register(
        &mut reg,
        t0,
        request("1001", &[(A1, None)], None),
        "pw-alice",
    );
    assert_eq!(reply, RegisterReply::Forbidden);
}

#[test]
fn debug_output_has_no_password() {
    let (reg, _) = registrar();
    let debug = format!("{reg:?} {:?}", config());
    assert!(!debug.contains("pw-alice"));
    assert!(debug.contains("Secret(***)"));
}

fn from(mut req: RegisterRequest, source: &str) -> RegisterRequest {
    req.source = source.parse().unwrap();
    req
}

#[test]
fn wrong_passwords_from_any_source_lock_the_account_with_backoff() {
    let mut config = config();
    config.lockout = crate::LockoutConfig {
        max_failures: 3,
        window: Duration::from_secs(600),
        duration: Duration::from_secs(30),
        max_duration: Duration::from_secs(3600),
    };
    let mut reg = Registrar::new(config, [42; 32], Instant::now());
    let t0 = Instant::now();
    let req = request("1001", &[(A1, None)], None);
    // Three sources, one failure each: under the per-source limit, but the account locks.
    for source in ["192.0.2.1:5060", "192.0.2.2:5060", "192.0.2.3:5060"] {
        let reply = register(&mut reg, t0, from(req.clone(), source), "wrong");
        assert_eq!(reply, RegisterReply::Forbidden);
    }
    assert_eq!(reg.lockouts_started(), 1);
    // The right password is refused while locked, from anywhere.
    let during = t0 + Duration::from_secs(29);
    assert_eq!(
        register(&mut reg, during, req.clone(), "pw-alice"),
        RegisterReply::Forbidden
    );
    // Another account is not affected.
    let bob = request("1002", &[("sip:1002@192.0.2.10", None)], None);
    assert!(matches!(
        register(&mut reg, during, bob, "pw-bob"),
        RegisterReply::Ok { .. }
    ));
    // Accepted after the lockout.
    let after = t0 + Duration::from_secs(30);
    assert!(matches!(
        register(&mut reg, after, req.clone(), "pw-alice"),
        RegisterReply::Ok { .. }
    ));
    // Success resets: three more failures lock for the first duration again.
    for _ in 0..3 {
        register(&mut reg, after, req.clone(), "wrong");
    }
    assert_eq!(reg.lockouts_started(), 2);
    let again = after + Duration::from_secs(30);
    assert!(matches!(
        register(&mut reg, again, req.clone(), "pw-alice"),
        RegisterReply::Ok { .. }
    ));
    // Without a success in between, the next lockout doubles.
    for _ in 0..3 {
        register(&mut reg, again, req.clone(), "wrong");
    }
    let t = again + Duration::from_secs(30);
    assert!(matches!(
        register(&mut reg, t, req.clone(), "pw-alice"),
        RegisterReply::Ok { .. }
    ));
}

#[test]
fn lockout_backoff_doubles_without_success() {
    let mut config = config();
    config.lockout.max_failures = 2;
    config.lockout.duration = Duration::from_secs(10);
    let mut reg = Registrar::new(config, [42; 32], Instant::now());
    let t0 = Instant::now();
    let req = request("1001", &[(A1, None)], None);
    for _ in 0..2 {
        register(&mut reg, t0, req.clone(), "wrong");
    }
    let t1 = t0 + Duration::from_secs(10);
    for _ in 0..2 {
        register(&mut reg, t1, req.clone(), "wrong");
    }
    assert_eq!(reg.lockouts_started(), 2);
    let still = t1 + Duration::from_secs(19);
    assert_eq!(
        register(&mut reg, still, req.clone(), "pw-alice"),
        RegisterReply::Forbidden
    );
    let after = t1 + Duration::from_secs(20);
    assert!(matches!(
        register(&mut reg, after, req, "pw-alice"),
        RegisterReply::Ok { .. }
    ));
}

#[test]
fn contacts_must_point_at_the_source_or_an_allowed_host() {
    let mut config = config();
    config.agents[0].contact_hosts = crate::ContactHosts::source_only();
    let mut reg = Registrar::new(config, [42; 32], Instant::now());
    let t0 = Instant::now();
    // Default: only the address the REGISTER came from (192.0.2.10).
    let elsewhere = request("1001", &[("sip:1001@203.0.113.5:5060", None)], None);
    assert_eq!(
        register(&mut reg, t0, elsewhere, "pw-alice"),
        RegisterReply::Forbidden
    );
    let named = request("1001", &[("sip:1001@attacker.example", None)], None);
    assert_eq!(
        register(&mut reg, t0, named, "pw-alice"),
        RegisterReply::Forbidden
    );
    assert_eq!(reg.contacts_refused(), 2);
    assert!(events(&mut reg).is_empty());
    assert!(reg.contacts("1001").is_empty());
    let own = request("1001", &[(A1, None)], None);
    assert!(matches!(
        register(&mut reg, t0, own, "pw-alice"),
        RegisterReply::Ok { .. }
    ));
    // Removing a binding is always allowed.
    let remove = request("1001", &[("sip:1001@203.0.113.5:5060", Some(0))], None);
    assert!(matches!(
        register(&mut reg, t0, remove, "pw-alice"),
        RegisterReply::Ok { .. }
    ));
    // A configured range replaces the default.
    let bob = request("1002", &[("sip:1002@192.0.2.77", None)], None);
    assert!(matches!(
        register(&mut reg, t0, from(bob, "198.51.100.1:5060"), "pw-bob"),
        RegisterReply::Ok { .. }
    ));
}

/// A REGISTER relayed by the proxy at `proxy` with Kamailio's `add_path_received()` Path.
fn via_proxy(req: RegisterRequest, proxy: &str, received: &str) -> RegisterRequest {
    let mut req = from(req, proxy);
    req.path = vec![format!(
        "sip:{proxy};lr;received={}",
        format!("sip:{received}").replace(':', "%3A")
    )];
    req
}

#[test]
fn a_path_from_a_configured_proxy_is_kept_with_the_agent_address_it_saw() {
    let mut config = config();
    config.agents[0].contact_hosts = crate::ContactHosts::source_only();
    config.proxies = vec!["198.51.100.0/28".parse().unwrap()];
    let t0 = Instant::now();
    let mut reg = Registrar::new(config, [42; 32], t0);
    let req = via_proxy(
        request("1001", &[(A1, None)], None),
        "198.51.100.5:5060",
        "192.0.2.10:5062",
    );
    let path = req.path.clone();
    assert!(matches!(
        register(&mut reg, t0, req, "pw-alice"),
        RegisterReply::Ok { .. }
    ));
    let contact = &reg.contacts("1001")[0];
    assert_eq!(contact.path, path);
    // The agent is where the proxy saw it, and its contact was checked against that.
    assert_eq!(contact.source, "192.0.2.10:5062".parse().unwrap());
    // A contact elsewhere than the address the proxy saw is refused as ever.
    let elsewhere = via_proxy(
        request("1001", &[("sip:1001@203.0.113.5:5060", None)], None),
        "198.51.100.5:5060",
        "192.0.2.10:5062",
    );
    assert_eq!(
        register(&mut reg, t0, elsewhere, "pw-alice"),
        RegisterReply::Forbidden
    );
}

#[test]
fn a_path_from_anyone_else_is_ignored() {
    let mut with_proxy = config();
    with_proxy.proxies = vec![crate::parse_net("198.51.100.5").unwrap()];
    let t0 = Instant::now();
    let mut reg = Registrar::new(with_proxy, [42; 32], t0);
    // From the agent itself: the Path would send its INVITEs through a host of the
    // sender's choosing.
    let mut req = request("1001", &[(A1, None)], None);
    req.path = vec!["sip:203.0.113.66;lr;received=sip:192.0.2.10:5062".to_owned()];
    assert!(matches!(
        register(&mut reg, t0, req, "pw-alice"),
        RegisterReply::Ok { .. }
    ));
    let contact = &reg.contacts("1001")[0];
    assert!(contact.path.is_empty());
    assert_eq!(contact.source, "192.0.2.10:5062".parse().unwrap());
    // Without any configured proxy, a proxy's Path is ignored too.
    let mut reg = Registrar::new(config(), [42; 32], t0);
    let req = via_proxy(
        request("1001", &[(A1, None)], None),
        "198.51.100.5:5060",
        "192.0.2.10:5062",
    );
    register(&mut reg, t0, req, "pw-alice");
    assert!(reg.contacts("1001")[0].path.is_empty());
}

#[test]
fn failures_through_a_proxy_count_against_the_agent_address_not_the_proxy() {
    let mut config = config();
    config.lockout.max_failures = 0; // the per-source limit alone
    config.proxies = vec![crate::parse_net("198.51.100.5").unwrap()];
    let t0 = Instant::now();
    let mut reg = Registrar::new(config, [42; 32], t0);
    let proxy = "198.51.100.5:5060";
    for _ in 0..10 {
        let req = via_proxy(
            request("1001", &[(A1, None)], None),
            proxy,
            "192.0.2.66:5060",
        );
        assert_eq!(
            register(&mut reg, t0, req, "guess"),
            RegisterReply::Forbidden
        );
    }
    let blocked = via_proxy(
        request("1001", &[(A1, None)], None),
        proxy,
        "192.0.2.66:5060",
    );
    assert_eq!(reg.handle_register(t0, &blocked), RegisterReply::Forbidden);
    // Another agent behind the same proxy still registers.
    let other = via_proxy(
        request("1001", &[(A1, None)], None),
        proxy,
        "192.0.2.10:5062",
    );
    assert!(matches!(
        register(&mut reg, t0, other, "pw-alice"),
        RegisterReply::Ok { .. }
    ));
}
