//! The agent desktop's HTTP API and page, on the admin API's listener but outside its
//! token guard: an agent signs in with their id and SIP password (`POST /desk/session`,
//! a session cookie of its own; a failure limit per agent), follows their state and the
//! call offered to them (`GET /desk/events`, Server-Sent Events), changes their state
//! (`POST /desk/state`: the same state machine as the admin API and the SIP phone) and
//! saves the wrap-up note (`POST /desk/note`). With `GET /desk/events?phone=on` the page is
//! the agent's phone ([`super::phone`]): calls ring there, and the page answers, declines
//! and hangs up with `POST /desk/phone/{answer,decline,hangup}`. The agent is always the
//! session's: no request names another agent, and a leg id of another agent's call is
//! unknown. A new sign-in of the same agent ends its other sessions.

use super::acd::{AcdHandle, AgentView};
use super::admin::{error, refused};
use super::admin_access::{is_json, Access, Refusal};
use super::admin_session::{self, Sessions, DESK_COOKIE};
use super::desk::{DeskHub, NoteError};
use super::phone::{PhoneError, Phones};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ringdesk_acd::RequestedState;
use ringdesk_secret::Secret;
use ringdesk_sip::{LockoutConfig, Lockouts};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The page and its script, embedded.
pub const DESK: &str = include_str!("desk.html");
pub const DESK_JS: &str = include_str!("desk.js");
pub const DESK_PHONE_JS: &str = include_str!("desk_phone.js");
/// How often the event stream looks at the agent (it sends only changes).
const EVENTS_EVERY: Duration = Duration::from_millis(250);
/// A comment line this often on a quiet event stream: a closed page is noticed by then
/// (its phone goes off, the agent is no longer offered calls there).
const KEEP_ALIVE: Duration = Duration::from_secs(3);
/// Longest SDP answer taken from a page.
const MAX_SDP: usize = ringdesk_webrtc::MAX_SDP;
/// Longest agent id and password taken at sign-in.
const MAX_ID: usize = 64;
const MAX_PASSWORD: usize = 256;

/// What the desktop's handlers reach.
#[derive(Clone)]
pub struct DeskState {
    pub hub: Arc<DeskHub>,
    pub acd: AcdHandle,
    /// Host names (the same as the admin API's) and the origin check.
    pub access: Arc<Access>,
    /// Desktop sessions, each holding its agent's id.
    pub sessions: Arc<Sessions<String>>,
    pub logins: Arc<Logins>,
    /// The not-ready reasons an agent picks from (`[desk] reasons`).
    pub reasons: Arc<Vec<String>>,
    /// Session cookies marked `Secure` (`[admin] secure_cookies`; off until set).
    pub secure_cookies: bool,
    /// The agents' browser phones (off until set).
    pub phones: Arc<Phones>,
}

impl DeskState {
    pub fn new(
        hub: Arc<DeskHub>,
        acd: AcdHandle,
        access: Arc<Access>,
        logins: Logins,
        reasons: Vec<String>,
    ) -> DeskState {
        DeskState {
            hub,
            acd,
            access,
            sessions: Arc::default(),
            logins: Arc::new(logins),
            reasons: Arc::new(reasons),
            secure_cookies: false,
            phones: Phones::new(None),
        }
    }
}

impl DeskState {
    /// Marks the session cookie `Secure` (`[admin] secure_cookies`).
    pub fn with_secure_cookies(mut self, secure: bool) -> DeskState {
        self.secure_cookies = secure;
        self
    }

    /// Lets pages be their agent's phone.
    pub fn with_phones(mut self, phones: Arc<Phones>) -> DeskState {
        self.phones = phones;
        self
    }
}

/// Agents' passwords (their SIP passwords) and failed sign-ins.
pub struct Logins {
    passwords: HashMap<String, Secret>,
    lockouts: Mutex<Lockouts>,
}

impl Logins {
    pub fn new(passwords: HashMap<String, Secret>, lockout: LockoutConfig) -> Logins {
        Logins {
            passwords,
            lockouts: Mutex::new(Lockouts::new(lockout)),
        }
    }

    /// Checks `agent`'s `password` at `now`: `Ok`, `Err(None)` for a wrong pair, or
    /// `Err(Some(until))` while the agent is locked out.
    fn check(&self, agent: &str, password: &str, now: Instant) -> Result<(), Option<Instant>> {
        let mut lockouts = self.lockouts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = lockouts.locked_until(agent, now) {
            return Err(Some(until));
        }
        // Compared in constant time, and compared even for an unknown agent, so the
        // answer's timing does not tell which agents exist.
        let (known, expected) = match self.passwords.get(agent) {
            Some(p) => (true, p.expose()),
            None => (false, "\u{0}never a password"),
        };
        let same: bool =
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), password.as_bytes()).into();
        if known && same {
            lockouts.record_success(agent);
            return Ok(());
        }
        if known {
            if let Some(locked) = lockouts.record_failure(agent, now) {
                tracing::warn!(
                    agent,
                    failures = locked.failures,
                    "agent desktop sign-in locked for {:?} after failed passwords",
                    locked.duration
                );
            }
        }
        Err(None)
    }
}

pub fn routes() -> Router<DeskState> {
    Router::new()
        .route("/desk", get(page))
        .route("/desk.js", get(script))
        .route("/desk-phone.js", get(phone_script))
        .route("/desk/session", post(sign_in).delete(sign_out))
        .route("/desk/events", get(events))
        .route("/desk/state", post(set_state))
        .route("/desk/note", post(save_note))
        .route("/desk/phone/answer", post(phone_answer))
        .route("/desk/phone/decline", post(phone_decline))
        .route("/desk/phone/hangup", post(phone_hangup))
}

async fn page() -> Response {
    super::admin::page(DESK)
}

async fn script() -> Response {
    super::admin::script(DESK_JS)
}

async fn phone_script() -> Response {
    super::admin::script(DESK_PHONE_JS)
}

fn text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The signed-in agent of a request, or the refusal to answer with. A change (`change`)
/// also needs a JSON body and no foreign `Origin`.
fn agent_of(
    s: &DeskState,
    peer: SocketAddr,
    headers: &HeaderMap,
    change: bool,
    path: &str,
) -> Result<String, Box<Response>> {
    let method = if change { "POST" } else { "GET" };
    if !text(headers, header::HOST).is_some_and(|h| s.access.host_allowed(h)) {
        return Err(Box::new(refused(peer, Refusal::Host, method, path)));
    }
    if change {
        if !text(headers, header::CONTENT_TYPE).is_some_and(is_json) {
            return Err(Box::new(refused(peer, Refusal::NotJson, method, path)));
        }
        if s.access.foreign_origin(text(headers, header::ORIGIN)) {
            return Err(Box::new(refused(peer, Refusal::CrossOrigin, method, path)));
        }
    }
    text(headers, header::COOKIE)
        .and_then(|h| admin_session::from_cookie_header(h, DESK_COOKIE))
        .and_then(|id| s.sessions.check(id, Instant::now()))
        .ok_or_else(|| Box::new(error(StatusCode::UNAUTHORIZED, "sign in first")))
}

/// `POST /desk/session {"agent": "ana", "password": "..."}`.
async fn sign_in(
    State(s): State<DeskState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    const PATH: &str = "/desk/session";
    if !text(&headers, header::HOST).is_some_and(|h| s.access.host_allowed(h)) {
        return refused(peer, Refusal::Host, "POST", PATH);
    }
    if !text(&headers, header::CONTENT_TYPE).is_some_and(is_json)
        || s.access.foreign_origin(text(&headers, header::ORIGIN))
    {
        return refused(peer, Refusal::NotJson, "POST", PATH);
    }
    #[derive(Deserialize)]
    struct SignIn {
        agent: String,
        password: String,
    }
    let Ok(form) = serde_json::from_slice::<SignIn>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {\"agent\": \"...\", \"password\": \"...\"}",
        );
    };
    let agent = form.agent.trim();
    if agent.is_empty() || agent.len() > MAX_ID || form.password.len() > MAX_PASSWORD {
        return error(StatusCode::UNAUTHORIZED, "wrong agent or password");
    }
    let now = Instant::now();
    match s.logins.check(agent, &form.password, now) {
        Ok(()) => {}
        Err(Some(until)) => {
            let secs = until.saturating_duration_since(now).as_secs().max(1);
            tracing::warn!(
                "admin API refused source={} reason=desk_locked method=POST path={PATH:?}",
                peer.ip()
            );
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many failed sign-ins for this agent; try again in {secs} s"),
            );
            if let Ok(v) = secs.to_string().parse() {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        Err(None) => {
            tracing::warn!(
                "admin API refused source={} reason=desk_password method=POST path={PATH:?}",
                peer.ip()
            );
            return error(StatusCode::UNAUTHORIZED, "wrong agent or password");
        }
    }
    let agent = agent.to_string();
    let ended = s.sessions.end_where(|a| *a == agent);
    let id = s.sessions.create(agent.clone(), now);
    let name = s
        .acd
        .agent(&agent)
        .await
        .map(|a| a.name)
        .unwrap_or_default();
    tracing::info!(agent, source = %peer.ip(), replaced = ended, "agent desktop signed in");
    (
        [(
            header::SET_COOKIE,
            admin_session::set_cookie(DESK_COOKIE, &id, s.secure_cookies),
        )],
        Json(serde_json::json!({ "agent": agent, "name": name })),
    )
        .into_response()
}

/// `DELETE /desk/session`: ends the session and clears the cookie.
async fn sign_out(State(s): State<DeskState>, headers: HeaderMap) -> Response {
    if let Some(id) = text(&headers, header::COOKIE)
        .and_then(|h| admin_session::from_cookie_header(h, DESK_COOKIE))
    {
        s.sessions.end(id);
    }
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, admin_session::clear_cookie(DESK_COOKIE))],
    )
        .into_response()
}

/// The desktop's snapshot for `agent`.
fn snapshot(s: &DeskState, agent: &AgentView) -> serde_json::Value {
    let phase = match agent.state.as_str() {
        "reserved" => Some("ringing"),
        "busy" => Some("talking"),
        "wrap_up" => Some("wrap_up"),
        _ => None,
    };
    let call = match (phase, &agent.call) {
        (Some(phase), Some(call)) => s.hub.view(call, phase),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "agent": agent,
        "reasons": *s.reasons,
        "call": call,
        "phone": s.phones.view(&agent.id),
    })
}

/// `GET /desk/events`: a snapshot at every change; `ended` when the session is over
/// (signed out, signed in elsewhere, expired).
async fn events(
    State(s): State<DeskState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let agent = match agent_of(&s, peer, &headers, false, "/desk/events") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let Some(cookie) = text(&headers, header::COOKIE)
        .and_then(|h| admin_session::from_cookie_header(h, DESK_COOKIE))
        .map(str::to_string)
    else {
        return error(StatusCode::UNAUTHORIZED, "sign in first");
    };
    let phone_on = query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|p| p == "phone=on"))
        && s.phones.enabled();
    let phone = phone_on.then(|| PhoneOn::new(&s, &agent));
    struct Follow {
        s: DeskState,
        agent: String,
        cookie: String,
        last: Option<String>,
        over: bool,
        /// The page's phone, on while the stream lasts.
        _phone: Option<PhoneOn>,
    }
    let start = Follow {
        s,
        agent,
        cookie,
        last: None,
        over: false,
        _phone: phone,
    };
    let stream = futures_util::stream::unfold(start, |mut f| async move {
        if f.over {
            return None;
        }
        loop {
            if f.last.is_some() {
                tokio::time::sleep(EVENTS_EVERY).await;
            }
            if f.s.sessions.check(&f.cookie, Instant::now()).is_none() {
                f.over = true;
                let event = Event::default()
                    .event("ended")
                    .data(r#"{"reason":"signed out, signed in elsewhere or expired"}"#);
                return Some((Ok::<_, std::convert::Infallible>(event), f));
            }
            let view = f.s.acd.agent(&f.agent).await?;
            let snap = snapshot(&f.s, &view);
            let key = super::admin::without_clocks(&snap);
            if f.last.as_deref() != Some(key.as_str()) {
                let event = Event::default().event("desk").data(snap.to_string());
                f.last = Some(key);
                return Some((Ok(event), f));
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// A page's phone, on from [`PhoneOn::new`] until dropped (its event stream ended).
struct PhoneOn {
    phones: Arc<Phones>,
    acd: AcdHandle,
    agent: String,
}

impl PhoneOn {
    fn new(s: &DeskState, agent: &str) -> PhoneOn {
        s.phones.page_opened(agent, &s.acd);
        PhoneOn {
            phones: s.phones.clone(),
            acd: s.acd.clone(),
            agent: agent.to_string(),
        }
    }
}

impl Drop for PhoneOn {
    fn drop(&mut self) {
        self.phones.page_closed(&self.agent, &self.acd);
    }
}

/// A leg id as the page sends it (a decimal string: too large for a JSON number).
#[derive(Deserialize)]
struct LegRequest {
    leg: String,
    sdp: Option<String>,
}

/// The body of a phone request, or the refusal to answer with.
fn leg_request(body: &[u8], want_sdp: bool) -> Result<(u64, Option<String>), Box<Response>> {
    let usage = if want_sdp {
        "expected {\"leg\": \"...\", \"sdp\": \"...\"}"
    } else {
        "expected {\"leg\": \"...\"}"
    };
    let bad = || Box::new(error(StatusCode::BAD_REQUEST, usage));
    let req: LegRequest = serde_json::from_slice(body).map_err(|_| bad())?;
    let leg = req.leg.parse::<u64>().map_err(|_| bad())?;
    if want_sdp {
        match req.sdp {
            Some(sdp) if sdp.len() <= MAX_SDP => Ok((leg, Some(sdp))),
            Some(_) => Err(Box::new(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the SDP answer is longer than {MAX_SDP} bytes"),
            ))),
            None => Err(bad()),
        }
    } else {
        Ok((leg, None))
    }
}

fn phone_error(e: PhoneError) -> Response {
    let status = match e {
        PhoneError::UnknownLeg => StatusCode::NOT_FOUND,
        PhoneError::NotRinging => StatusCode::CONFLICT,
        PhoneError::BadAnswer(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    error(status, e)
}

/// `POST /desk/phone/answer {"leg": "...", "sdp": "..."}`: the page's SDP answer to the
/// call ringing on it.
async fn phone_answer(
    State(s): State<DeskState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let agent = match agent_of(&s, peer, &headers, true, "/desk/phone/answer") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let (leg, sdp) = match leg_request(&body, true) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    match s.phones.answer(&agent, leg, sdp.unwrap_or_default()).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => phone_error(e),
    }
}

/// `POST /desk/phone/decline {"leg": "..."}`: the agent declines the ringing call.
async fn phone_decline(
    State(s): State<DeskState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    leg_action(
        &s,
        peer,
        &headers,
        &body,
        "/desk/phone/decline",
        Phones::decline,
    )
}

/// `POST /desk/phone/hangup {"leg": "..."}`: the agent hangs up (or declines while it
/// rings).
async fn phone_hangup(
    State(s): State<DeskState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    leg_action(
        &s,
        peer,
        &headers,
        &body,
        "/desk/phone/hangup",
        Phones::hang_up,
    )
}

/// A phone request naming only a leg: the session's agent does `act` on it.
fn leg_action(
    s: &DeskState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
    path: &str,
    act: fn(&Phones, &str, u64) -> Result<(), PhoneError>,
) -> Response {
    let agent = match agent_of(s, peer, headers, true, path) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match leg_request(body, false) {
        Ok((leg, _)) => match act(&s.phones, &agent, leg) {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => phone_error(e),
        },
        Err(r) => *r,
    }
}

/// `POST /desk/state {"state": "available"}` or `{"state": "not_ready", "reason": "Break"}`.
async fn set_state(
    State(s): State<DeskState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let agent = match agent_of(&s, peer, &headers, true, "/desk/state") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    #[derive(Deserialize)]
    struct Change {
        state: String,
        reason: Option<String>,
    }
    let Ok(change) = serde_json::from_slice::<Change>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {\"state\": \"available\" | \"not_ready\", \"reason\": \"...\"}",
        );
    };
    let requested = match (change.state.as_str(), change.reason) {
        ("available", _) => RequestedState::Available,
        ("not_ready", Some(reason)) if s.reasons.contains(&reason) => {
            RequestedState::NotReady { reason }
        }
        ("not_ready", _) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("pick a reason: {}", s.reasons.join(", ")),
            )
        }
        _ => return error(StatusCode::BAD_REQUEST, "state: available or not_ready"),
    };
    match s.acd.set_state(&agent, requested).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(StatusCode::CONFLICT, e),
    }
}

/// `POST /desk/note {"call": "...", "text": "..."}`: the wrap-up note of the agent's
/// current call, or of the call they are wrapping up.
async fn save_note(
    State(s): State<DeskState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let agent = match agent_of(&s, peer, &headers, true, "/desk/note") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    #[derive(Deserialize)]
    struct Note {
        call: String,
        text: String,
    }
    let Ok(note) = serde_json::from_slice::<Note>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {\"call\": \"...\", \"text\": \"...\"}",
        );
    };
    let Some(view) = s.acd.agent(&agent).await else {
        return error(StatusCode::UNAUTHORIZED, "sign in first");
    };
    let theirs = matches!(view.state.as_str(), "busy" | "wrap_up")
        && view.call.as_deref() == Some(note.call.as_str());
    if !theirs {
        return error(
            StatusCode::CONFLICT,
            "a note can be saved during the call or its wrap-up only",
        );
    }
    match s.hub.save_note(&note.call, &view.name, &note.text).await {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "state": "queued" })),
        )
            .into_response(),
        Err(e) => {
            let status = match e {
                NoteError::TooLong => StatusCode::PAYLOAD_TOO_LARGE,
                NoteError::Empty => StatusCode::BAD_REQUEST,
                NoteError::NoTicket | NoteError::Unsupported => StatusCode::UNPROCESSABLE_ENTITY,
                NoteError::UnknownCall | NoteError::AlreadySaved => StatusCode::CONFLICT,
                NoteError::Store => StatusCode::SERVICE_UNAVAILABLE,
            };
            error(status, e)
        }
    }
}

#[cfg(test)]
mod tests {
    //! The desktop's API over real HTTP: sign-in, lockout, one session per agent, state
    //! changes limited to the configured reasons, the origin check, notes only for the
    //! agent's own call.
    use super::*;

    async fn start() -> (String, AcdHandle, tempfile::TempDir) {
        start_with(false).await
    }

    async fn start_with(secure: bool) -> (String, AcdHandle, tempfile::TempDir) {
        let (base, acd, dir, _) = start_full(secure).await;
        (base, acd, dir)
    }

    /// A desktop API whose pages may be phones (media on loopback).
    async fn start_full(secure: bool) -> (String, AcdHandle, tempfile::TempDir, Arc<Phones>) {
        let dir = tempfile::tempdir().unwrap();
        let store = ringdesk_store::Store::open(dir.path().join("r.sqlite")).unwrap();
        let config = crate::config::Config::parse(
            "[[agents]]\nid = \"ana\"\nname = \"Ana\"\npassword = \"right\"\nqueues = [\"support\"]\n\n[[agents]]\nid = \"bob\"\nname = \"Bob\"\npassword = \"other\"\nqueues = [\"support\"]\n",
            "t.toml",
        )
        .unwrap();
        let acd = AcdHandle::spawn(&config.acd(), Arc::new(crate::runtime::acd::Silent)).unwrap();
        let phones = Phones::new(Some("127.0.0.1".parse().unwrap()));
        let connectors = ringdesk_connector::Connectors::from_config(&Default::default()).unwrap();
        let hub = DeskHub::new(connectors, Arc::new(ringdesk_session::NoHelpdesk), store);
        let access = Arc::new(Access::new(Vec::new(), &[], "127.0.0.1".parse().unwrap()));
        let lockout = LockoutConfig {
            max_failures: 3,
            ..LockoutConfig::default()
        };
        let passwords = [
            ("ana".to_string(), Secret::new("right")),
            ("bob".to_string(), Secret::new("other")),
        ]
        .into();
        let state = DeskState::new(
            hub,
            acd.clone(),
            access,
            Logins::new(passwords, lockout),
            vec!["Break".into()],
        )
        .with_secure_cookies(secure)
        .with_phones(phones.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = routes()
            .with_state(state)
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), acd, dir, phones)
    }

    async fn sign_in(base: &str, password: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{base}/desk/session"))
            .json(&serde_json::json!({ "agent": "ana", "password": password }))
            .send()
            .await
            .unwrap()
    }

    fn cookie(r: &reqwest::Response) -> String {
        let set = r.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        set.split(';').next().unwrap().to_string()
    }

    async fn post(base: &str, path: &str, cookie: &str, body: serde_json::Value) -> u16 {
        reqwest::Client::new()
            .post(format!("{base}{path}"))
            .header(header::COOKIE, cookie)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    #[tokio::test]
    async fn the_cookie_is_secure_when_configured() {
        let (base, _acd, _dir) = start().await;
        let plain = sign_in(&base, "right").await;
        assert!(!plain.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Secure"));
        let (base, _acd, _dir) = start_with(true).await;
        let secure = sign_in(&base, "right").await;
        let set = secure.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(set.ends_with("; Secure"), "{set}");
    }

    #[tokio::test]
    async fn wrong_passwords_are_refused_then_lock_the_agent() {
        let (base, _acd, _dir) = start().await;
        let r = sign_in(&base, "wrong").await;
        assert_eq!(r.status(), 401);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "wrong agent or password");
        for _ in 0..2 {
            assert_eq!(sign_in(&base, "wrong").await.status(), 401);
        }
        let locked = sign_in(&base, "right").await;
        assert_eq!(locked.status(), 429, "locked: even the right password");
        assert!(locked.headers().contains_key(header::RETRY_AFTER));
        // An unknown agent is told the same as a wrong password.
        let r = reqwest::Client::new()
            .post(format!("{base}/desk/session"))
            .json(&serde_json::json!({ "agent": "zed", "password": "right" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }

    #[tokio::test]
    async fn a_new_sign_in_ends_the_other_session_and_changes_are_the_agents_own() {
        let (base, acd, _dir) = start().await;
        acd.registered("ana");
        let first = cookie(&sign_in(&base, "right").await);
        let r = sign_in(&base, "right").await;
        assert_eq!(r.status(), 200);
        let second = cookie(&r);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            (body["agent"].as_str(), body["name"].as_str()),
            (Some("ana"), Some("Ana"))
        );
        let not_ready = serde_json::json!({ "state": "not_ready", "reason": "Break" });
        assert_eq!(
            post(&base, "/desk/state", &first, not_ready.clone()).await,
            401
        );
        assert_eq!(post(&base, "/desk/state", &second, not_ready).await, 204);
        assert_eq!(
            acd.agent("ana").await.unwrap().reason.as_deref(),
            Some("Break")
        );
        let unknown_reason = serde_json::json!({ "state": "not_ready", "reason": "Nap" });
        assert_eq!(
            post(&base, "/desk/state", &second, unknown_reason).await,
            400
        );
        // A page of another site cannot make the browser change the agent's state.
        let foreign = reqwest::Client::new()
            .post(format!("{base}/desk/state"))
            .header(header::COOKIE, &second)
            .header(header::ORIGIN, "https://evil.example")
            .json(&serde_json::json!({ "state": "available" }))
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), 403);
        assert_eq!(acd.agent("ana").await.unwrap().state, "not_ready");
        // No call: no note.
        let note = serde_json::json!({ "call": "c1", "text": "hello" });
        assert_eq!(post(&base, "/desk/note", &second, note).await, 409);
        let ready = serde_json::json!({ "state": "available" });
        assert_eq!(post(&base, "/desk/state", &second, ready).await, 204);
        assert_eq!(acd.agent("ana").await.unwrap().state, "available");
        // Signed out: the cookie is worth nothing.
        let out = reqwest::Client::new()
            .delete(format!("{base}/desk/session"))
            .header(header::COOKIE, &second)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 204);
        let ready = serde_json::json!({ "state": "available" });
        assert_eq!(post(&base, "/desk/state", &second, ready).await, 401);
    }

    #[tokio::test]
    async fn a_page_reaches_only_its_own_agents_phone_calls() {
        let (base, acd, _dir, phones) = start_full(false).await;
        let ana = cookie(&sign_in(&base, "right").await);
        let bob = cookie(
            &reqwest::Client::new()
                .post(format!("{base}/desk/session"))
                .json(&serde_json::json!({ "agent": "bob", "password": "other" }))
                .send()
                .await
                .unwrap(),
        );
        // Ana's page turns its phone on: she is reachable and her call rings there.
        let mut stream = reqwest::Client::new()
            .get(format!("{base}/desk/events?phone=on"))
            .header(header::COOKIE, &ana)
            .send()
            .await
            .unwrap();
        let first = String::from_utf8(stream.chunk().await.unwrap().unwrap().to_vec()).unwrap();
        assert!(first.contains(r#""on":true"#), "{first}");
        assert_eq!(acd.agent("ana").await.unwrap().state, "available");
        let leg = phones
            .ring("call-1", "ana", acd.clone())
            .unwrap()
            .to_string();
        // Bob's session cannot answer, decline or hang up Ana's call.
        let answer = serde_json::json!({ "leg": leg, "sdp": "v=0" });
        assert_eq!(post(&base, "/desk/phone/answer", &bob, answer).await, 404);
        let just_leg = serde_json::json!({ "leg": leg });
        for path in ["/desk/phone/decline", "/desk/phone/hangup"] {
            assert_eq!(
                post(&base, path, &bob, just_leg.clone()).await,
                404,
                "{path}"
            );
        }
        // Bad input from Ana's own page: not JSON, a leg that is no number, an SDP too long.
        assert_eq!(
            post(
                &base,
                "/desk/phone/answer",
                &ana,
                serde_json::json!({ "leg": 7 })
            )
            .await,
            400
        );
        assert_eq!(
            post(
                &base,
                "/desk/phone/decline",
                &ana,
                serde_json::json!({ "leg": "x" })
            )
            .await,
            400
        );
        let long = serde_json::json!({ "leg": leg, "sdp": "a".repeat(MAX_SDP + 1) });
        assert_eq!(post(&base, "/desk/phone/answer", &ana, long).await, 413);
        // Without a session, or from another site: refused before anything is looked up.
        assert_eq!(
            post(
                &base,
                "/desk/phone/decline",
                "ringdesk_desk=forged",
                just_leg.clone()
            )
            .await,
            401
        );
        let foreign = reqwest::Client::new()
            .post(format!("{base}/desk/phone/decline"))
            .header(header::COOKIE, &ana)
            .header(header::ORIGIN, "https://evil.example")
            .json(&just_leg)
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), 403);
        assert_eq!(phones.view("ana")["leg"]["stage"], "ringing");
        // Ana declines: the call is no longer on her phone.
        assert_eq!(
            post(&base, "/desk/phone/decline", &ana, just_leg.clone()).await,
            204
        );
        assert_eq!(
            post(&base, "/desk/phone/decline", &ana, just_leg).await,
            404
        );
        // The page closes: Ana is no longer reachable.
        drop(stream);
        let deadline = Instant::now() + Duration::from_secs(10);
        while acd.agent("ana").await.unwrap().state != "logged_out" {
            assert!(Instant::now() < deadline, "the closed page still counts");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!phones.has_phone("ana"));
    }

    #[tokio::test]
    async fn the_event_stream_needs_a_session_and_ends_when_it_does() {
        let (base, acd, _dir) = start().await;
        acd.registered("ana");
        let events = reqwest::get(format!("{base}/desk/events")).await.unwrap();
        assert_eq!(events.status(), 401);
        let c = cookie(&sign_in(&base, "right").await);
        let mut stream = reqwest::Client::new()
            .get(format!("{base}/desk/events"))
            .header(header::COOKIE, &c)
            .send()
            .await
            .unwrap();
        let first = String::from_utf8(stream.chunk().await.unwrap().unwrap().to_vec()).unwrap();
        assert!(first.starts_with("event: desk"), "{first}");
        assert!(first.contains(r#""state":"available""#), "{first}");
        assert!(first.contains(r#""reasons":["Break"]"#), "{first}");
        // Signing in again elsewhere ends this stream with `ended`.
        sign_in(&base, "right").await;
        let mut rest = String::new();
        while let Ok(Some(chunk)) = stream.chunk().await {
            rest.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(rest.contains("event: ended"), "{rest}");
    }
}
