//! OAuth 2.0 client-credentials tokens: fetch from the token endpoint, cache, refresh.
//! The fetch is single-flight: concurrent requests wait on one fetch and share its token.

use crate::attempt_error::AttemptError;
use crate::body::{read_capped, BodyError};
use crate::config::TokenRequestFormat;
use crate::request::FailureKind;
use crate::resolve::OAuthSettings;
use crate::secret::Secret;
use crate::token_cache::{CachedToken, TokenCache};
use crate::token_response::parse_token_response;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Largest token endpoint response read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// Token source of one connector.
#[derive(Debug)]
pub struct OAuthTokens {
    settings: OAuthSettings,
    cache: Mutex<TokenCache>,
}

impl OAuthTokens {
    pub fn new(settings: OAuthSettings) -> Self {
        Self {
            settings,
            cache: Mutex::new(TokenCache::default()),
        }
    }

    /// A valid token, from the cache or fetched within `deadline`. Holding the cache lock
    /// across the fetch is what makes it single-flight.
    pub async fn token(
        &self,
        http: &reqwest::Client,
        deadline: Instant,
    ) -> Result<CachedToken, AttemptError> {
        let mut cache = self.cache.lock().await;
        if let Some(token) = cache.valid(Instant::now()) {
            return Ok(token);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(AttemptError::new(
                FailureKind::Timeout,
                "no time left for the OAuth token request",
            ));
        }
        let (token, expires_in) = self.fetch(http, remaining).await?;
        tracing::debug!(
            token_url = %self.settings.token_url,
            expires_in = ?expires_in,
            "OAuth token fetched"
        );
        Ok(cache.store(Instant::now(), token, expires_in))
    }

    /// Forget the token of `generation` after the API refused it.
    pub async fn invalidate(&self, generation: u64) {
        self.cache.lock().await.invalidate(generation);
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        timeout: Duration,
    ) -> Result<(Secret, Option<Duration>), AttemptError> {
        let s = &self.settings;
        let mut fields = vec![
            ("grant_type", "client_credentials"),
            ("client_id", s.client_id.as_str()),
            ("client_secret", s.client_secret.expose()),
        ];
        if let Some(scope) = &s.scope {
            fields.push(("scope", scope.as_str()));
        }
        let (content_type, body) = match s.request_format {
            TokenRequestFormat::Form => {
                let mut ser = url::form_urlencoded::Serializer::new(String::new());
                ser.extend_pairs(fields.iter());
                ("application/x-www-form-urlencoded", ser.finish())
            }
            TokenRequestFormat::Json => {
                let map: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
                    .collect();
                (
                    "application/json",
                    serde_json::Value::Object(map).to_string(),
                )
            }
        };
        let response = http
            .post(s.token_url.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| AttemptError::from_reqwest("OAuth token request", e))?;
        let status = response.status().as_u16();
        let bytes = read_capped(response, MAX_TOKEN_RESPONSE)
            .await
            .map_err(|e| match e {
                BodyError::Read(e) => AttemptError::from_reqwest("OAuth token response", e),
                e @ BodyError::TooLarge(_) => {
                    AttemptError::new(FailureKind::Other, format!("OAuth token response: {e}"))
                }
            })?;
        parse_token_response(status, &bytes)
            .map_err(|e| AttemptError::new(FailureKind::Other, e.to_string()))
    }
}
