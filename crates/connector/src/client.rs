//! [`Connectors`]: the configured connectors and the async execution of a request through
//! one of them (auth, per-attempt timeout, retries per the pure policy, capped body).

use crate::attempt_error::AttemptError;
use crate::body::{read_capped, BodyError};
use crate::config::ConnectorConfig;
use crate::error::ConfigError;
use crate::oauth::OAuthTokens;
use crate::prepare::{prepare, Prepared};
use crate::request::{FailureKind, HttpFailure, HttpOutcome, HttpRequest, HttpResponse};
use crate::resolve::{resolve, Resolved, ResolvedAuth, MAX_TIMEOUT};
use crate::retry::{AttemptResult, AttemptState, Decision, RetryPolicy};
use crate::retry_after::parse_retry_after;
use reqwest::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The configured connectors, cheap to clone and share between calls.
#[derive(Clone)]
pub struct Connectors {
    inner: Arc<Inner>,
    policy: RetryPolicy,
}

struct Inner {
    http: reqwest::Client,
    connectors: HashMap<String, Connector>,
}

struct Connector {
    cfg: Resolved,
    oauth: Option<OAuthTokens>,
}

/// A response as one attempt got it.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    retry_after: Option<Duration>,
    body: String,
    /// Generation of the OAuth token used, if any.
    oauth_generation: Option<u64>,
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.names().collect();
        names.sort_unstable();
        f.debug_struct("Connectors")
            .field("names", &names)
            .field("policy", &self.policy)
            .finish()
    }
}

impl Connectors {
    /// Check every connector and resolve its secrets, reading environment variables via `env`.
    pub fn from_config_with_env(
        configs: &BTreeMap<String, ConnectorConfig>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ringdesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        let mut connectors = HashMap::new();
        for (name, config) in configs {
            let cfg = resolve(name, config, env)?;
            let oauth = match &cfg.auth {
                ResolvedAuth::OAuth(settings) => Some(OAuthTokens::new(settings.clone())),
                _ => None,
            };
            connectors.insert(name.clone(), Connector { cfg, oauth });
        }
        Ok(Self {
            inner: Arc::new(Inner { http, connectors }),
            policy: RetryPolicy::default(),
        })
    }

    /// As [`Connectors::from_config_with_env`], reading the process environment.
    pub fn from_config(configs: &BTreeMap<String, ConnectorConfig>) -> Result<Self, ConfigError> {
        Self::from_config_with_env(configs, &|var| std::env::var(var).ok())
    }

    /// Replace the backoff parameters (tests use short ones).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Names of the configured connectors.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.inner.connectors.keys().map(String::as_str)
    }

    /// True when a connector of that name is configured.
    pub fn contains(&self, name: &str) -> bool {
        self.inner.connectors.contains_key(name)
    }

    /// Send `req` through its connector, retrying per the policy, all within the time budget.
    /// Never panics and never returns an error: every problem is an [`HttpFailure`].
    pub async fn execute(&self, req: HttpRequest) -> HttpOutcome {
        let start = Instant::now();
        let fail = |kind, message: String, attempts| {
            HttpOutcome::Failure(HttpFailure {
                kind,
                message,
                attempts,
                elapsed: start.elapsed(),
            })
        };
        let Some(conn) = self.inner.connectors.get(&req.connector) else {
            return fail(
                FailureKind::UnknownConnector,
                "no connector of that name is configured".to_owned(),
                0,
            );
        };
        let prepared = match prepare(&conn.cfg.base_url, &req) {
            Ok(p) => p,
            Err(e) => return fail(FailureKind::Other, format!("invalid request: {e}"), 0),
        };
        let budget = req.timeout.unwrap_or(conn.cfg.timeout).min(MAX_TIMEOUT);
        let deadline = start.checked_add(budget).unwrap_or(start);
        let mut attempts = 0u32;
        let mut refreshed_after_401 = false;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return fail(
                    FailureKind::Timeout,
                    "time budget used up".to_owned(),
                    attempts,
                );
            }
            let attempt_timeout = conn
                .cfg
                .attempt_timeout
                .map_or(remaining, |t| t.min(remaining));
            attempts += 1;
            let attempt_start = Instant::now();
            let result = match tokio::time::timeout(
                attempt_timeout,
                self.attempt(conn, &prepared, deadline),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => Err(AttemptError::new(
                    FailureKind::Timeout,
                    format!("request timed out after {} ms", attempt_timeout.as_millis()),
                )),
            };
            log_attempt(&req, attempts, &result, attempt_start.elapsed());

            // A refused OAuth token: drop it, fetch a new one and retry once, outside the
            // retry count, if there is time for it.
            if let Ok(RawResponse {
                status: 401,
                oauth_generation: Some(generation),
                ..
            }) = &result
            {
                if !refreshed_after_401
                    && deadline.saturating_duration_since(Instant::now())
                        >= self.policy.min_attempt_time
                {
                    if let Some(oauth) = &conn.oauth {
                        oauth.invalidate(*generation).await;
                    }
                    refreshed_after_401 = true;
                    continue;
                }
            }

            let attempt_result = match &result {
                Ok(r) => AttemptResult::Status(r.status),
                Err(e) => e.as_attempt_result(),
            };
            let state = AttemptState {
                attempts: attempts - u32::from(refreshed_after_401),
                max_retries: req.retries,
                elapsed: start.elapsed(),
                budget,
                retry_after: result.as_ref().ok().and_then(|r| r.retry_after),
                jitter: rand::random::<f64>(),
            };
            match self.policy.decide(attempt_result, state) {
                Decision::RetryAfter(wait) => tokio::time::sleep(wait).await,
                Decision::Stop(_) => {
                    return match result {
                        Ok(r) => HttpOutcome::Response(HttpResponse {
                            status: r.status,
                            headers: r.headers,
                            body: r.body,
                            attempts,
                            elapsed: start.elapsed(),
                        }),
                        Err(e) => fail(e.kind, e.message, attempts),
                    };
                }
            }
        }
    }

    /// One attempt: authenticate, send, read the capped body.
    async fn attempt(
        &self,
        conn: &Connector,
        prepared: &Prepared,
        deadline: Instant,
    ) -> Result<RawResponse, AttemptError> {
        let (auth, oauth_generation) = match (&conn.cfg.auth, &conn.oauth) {
            (ResolvedAuth::None, _) => (None, None),
            (ResolvedAuth::Basic(header), _) => (Some(header_value(header.expose())?), None),
            (ResolvedAuth::Bearer(token), _) => (
                Some(header_value(&format!("Bearer {}", token.expose()))?),
                None,
            ),
            (ResolvedAuth::OAuth(_), Some(oauth)) => {
                let token = oauth.token(&self.inner.http, deadline).await?;
                (
                    Some(header_value(&format!("Bearer {}", token.token.expose()))?),
                    Some(token.generation),
                )
            }
            (ResolvedAuth::OAuth(_), None) => {
                return Err(AttemptError::new(
                    FailureKind::Other,
                    "OAuth connector has no token source",
                ))
            }
        };
        let mut builder = self
            .inner
            .http
            .request(prepared.method.clone(), prepared.url.clone())
            .headers(prepared.headers.clone());
        if let Some(auth) = auth {
            builder = builder.header(AUTHORIZATION, auth);
        }
        if let Some(body) = &prepared.body {
            builder = builder.body(body.clone());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| AttemptError::from_reqwest("request", e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = read_capped(response, conn.cfg.max_response_bytes)
            .await
            .map_err(|e| match e {
                BodyError::Read(e) => AttemptError::from_reqwest("reading the response", e),
                e @ BodyError::TooLarge(_) => AttemptError::new(FailureKind::Other, e.to_string()),
            })?;
        Ok(RawResponse {
            status,
            headers,
            retry_after,
            body: String::from_utf8_lossy(&body).into_owned(),
            oauth_generation,
        })
    }
}

/// A sensitive header value (kept out of reqwest/hyper debug output).
fn header_value(text: &str) -> Result<HeaderValue, AttemptError> {
    let mut v = HeaderValue::from_str(text).map_err(|_| {
        AttemptError::new(FailureKind::Other, "credential is not a valid header value")
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// One debug line per attempt: connector, method, path (never the query), status or failure.
fn log_attempt(
    req: &HttpRequest,
    attempt: u32,
    result: &Result<RawResponse, AttemptError>,
    elapsed: Duration,
) {
    match result {
        Ok(r) => tracing::debug!(
            connector = %req.connector,
            method = %req.method,
            path = %req.path,
            attempt,
            status = r.status,
            elapsed_ms = elapsed.as_millis() as u64,
            "connector attempt"
        ),
        Err(e) => tracing::debug!(
            connector = %req.connector,
            method = %req.method,
            path = %req.path,
            attempt,
            failure = ?e.kind,
            elapsed_ms = elapsed.as_millis() as u64,
            "connector attempt failed"
        ),
    }
}
