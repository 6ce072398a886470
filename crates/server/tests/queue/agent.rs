//! An agent as the tests play it: a phone (a SIPp UAS on its own port running one of the
//! `agent_*.xml` scenarios) and a softphone login (SIPp REGISTER with digest auth whose
//! contact points at the phone).

use super::server::Server;
use super::sipp::{Sipp, SippProc, SippRun};
use std::time::Duration;

/// Registration lifetime asked for (longer than any test).
const EXPIRES: u32 = 600;
/// Longest a REGISTER exchange may take.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for the login to show in `GET /agents`.
const STATE_WAIT: Duration = Duration::from_secs(10);

/// Starts agent `id`'s phone: a UAS running `scenario` for `calls` calls, with `pause`
/// as the scenario's `<pause/>`, and `keys` for its `[keyword]`s.
pub fn phone(
    server: &Server,
    id: &str,
    scenario: &str,
    calls: u32,
    pause: Duration,
    keys: &[(&str, String)],
) -> SippProc {
    let mut sipp = Sipp::new(scenario).calls(calls).pause(pause);
    for (k, v) in keys {
        sipp = sipp.key(k, v);
    }
    sipp.spawn(&format!("phone-{id}"), None, server.dir())
}

/// REGISTERs agent `id` with `password`, contact at `contact_port`, using `scenario`
/// (`register.xml` expects 200, `register_refused.xml` expects 403).
pub async fn register_with(
    server: &Server,
    scenario: &str,
    id: &str,
    password: &str,
    contact_port: u16,
) -> SippRun {
    register_at(
        server.sip_addr(),
        server,
        scenario,
        id,
        password,
        contact_port,
    )
    .await
}

/// [`register_with`], the REGISTER sent to `target` (the server, or a proxy before it).
async fn register_at(
    target: std::net::SocketAddr,
    server: &Server,
    scenario: &str,
    id: &str,
    password: &str,
    contact_port: u16,
) -> SippRun {
    Sipp::new(scenario)
        .service(id)
        .auth(id, password)
        .key("contact_port", contact_port)
        .key("expires", EXPIRES)
        .timeout(REGISTER_TIMEOUT)
        .run(&format!("register-{id}"), target, server.dir())
        .await
}

/// Logs agent `id` in through the proxy at `proxy` (Kamailio), which relays the REGISTER
/// to one of the nodes with a Path; waits until `server` shows the agent available.
pub async fn log_in_through(
    server: &Server,
    proxy: std::net::SocketAddr,
    id: &str,
    phone: &SippProc,
) {
    let spec = server.agent_spec(id);
    register_at(
        proxy,
        server,
        "register.xml",
        id,
        &spec.password,
        phone.port(),
    )
    .await
    .assert_passed(&format!("REGISTER of {id} through the proxy"));
    server.wait_agent_state(id, "available", STATE_WAIT).await;
}

/// Logs agent `id` in with the configured password and its phone's port, and waits until
/// the admin API shows it available (a registration makes a logged-out agent available).
pub async fn log_in(server: &Server, id: &str, phone: &SippProc) {
    let spec = server.agent_spec(id);
    register_with(server, "register.xml", id, &spec.password, phone.port())
        .await
        .assert_passed(&format!("REGISTER of {id}"));
    server.wait_agent_state(id, "available", STATE_WAIT).await;
}

/// Starts agent `id`'s phone (`scenario`, one call), logs the agent in and sets them not
/// ready: a caller who asks for an agent waits in the queue until the test says.
pub async fn signed_in_not_ready(server: &Server, id: &str, scenario: &str) -> SippProc {
    let phone = phone(server, id, scenario, 1, Duration::ZERO, &[]);
    log_in(server, id, &phone).await;
    server.must_set_state(id, "not_ready").await;
    phone
}
