//! The typed async Zendesk client (reqwest with rustls): the calls ringdesk's flows make,
//! typed results, typed errors, bounded response bodies, the Authorization value kept secret.

mod auth;
mod error;

pub use auth::{api_token_authorization, bearer_authorization};
pub use error::ZendeskError;

use crate::types::{
    CommentsResponse, NewComment, NewTicket, NewUser, OAuthToken, SearchResponse, SortBy,
    SortOrder, Ticket, TicketEnvelope, TicketResponse, TicketUpdate, TicketsResponse, User,
    UserEnvelope, UserResponse,
};
use crate::Secret;
use reqwest::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::{Duration, SystemTime};
use url::Url;

/// Largest response body the client reads (bytes).
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// The longest Retry-After the client reports; longer ones are clamped to it.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Longest phone digit string accepted by [`ZendeskClient::search_users_by_phone`].
pub const MAX_PHONE_DIGITS: usize = 20;

/// A Zendesk API client for one instance and one credential.
///
/// Cheap to clone (the HTTP client is shared). `Debug` never shows the credential.
#[derive(Clone)]
pub struct ZendeskClient {
    http: reqwest::Client,
    base: Url,
    authorization: HeaderValue,
}

impl fmt::Debug for ZendeskClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZendeskClient")
            .field("base", &self.base.as_str())
            .field("authorization", &"***")
            .finish()
    }
}

fn authorization_value(value: &str) -> Result<HeaderValue, ZendeskError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| ZendeskError::InvalidAuthorization)?;
    v.set_sensitive(true);
    Ok(v)
}

fn parse_base(base_url: &str) -> Result<Url, ZendeskError> {
    let mut base = Url::parse(base_url).map_err(|e| ZendeskError::InvalidBaseUrl(e.to_string()))?;
    if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
        return Err(ZendeskError::InvalidBaseUrl(
            "must be an http(s) URL".to_owned(),
        ));
    }
    if !base.username().is_empty() || base.password().is_some() {
        // Credentials in the URL are ignored by Zendesk, and would leak into errors.
        return Err(ZendeskError::InvalidBaseUrl(
            "must not contain credentials".to_owned(),
        ));
    }
    if !base.path().ends_with('/') {
        let p = format!("{}/", base.path());
        base.set_path(&p);
    }
    base.set_query(None);
    base.set_fragment(None);
    Ok(base)
}

impl ZendeskClient {
    /// A client for `base_url` (e.g. `https://acme.zendesk.com`) sending `authorization`
    /// as the Authorization header (see [`api_token_authorization`], [`bearer_authorization`]).
    /// Uses a default reqwest client with a 10 s timeout.
    pub fn new(base_url: &str, authorization: &Secret) -> Result<Self, ZendeskError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ZendeskError::Transport(e.without_url()))?;
        Self::with_http_client(http, base_url, authorization)
    }

    /// Like [`ZendeskClient::new`] with a caller-built reqwest client (timeouts, proxies).
    pub fn with_http_client(
        http: reqwest::Client,
        base_url: &str,
        authorization: &Secret,
    ) -> Result<Self, ZendeskError> {
        Ok(Self {
            http,
            base: parse_base(base_url)?,
            authorization: authorization_value(authorization.expose())?,
        })
    }

    /// The same client with another credential (e.g. a refreshed OAuth token).
    pub fn with_authorization(&self, authorization: &Secret) -> Result<Self, ZendeskError> {
        Ok(Self {
            http: self.http.clone(),
            base: self.base.clone(),
            authorization: authorization_value(authorization.expose())?,
        })
    }

    /// The instance's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Obtain an OAuth access token with the client-credentials grant (`POST /oauth/tokens`).
    pub async fn oauth_client_credentials(
        http: &reqwest::Client,
        base_url: &str,
        client_id: &str,
        client_secret: &Secret,
        scope: Option<&str>,
    ) -> Result<OAuthToken, ZendeskError> {
        let base = parse_base(base_url)?;
        let url = join(&base, "oauth/tokens")?;
        let mut body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret.expose(),
        });
        if let Some(s) = scope {
            body["scope"] = serde_json::Value::String(s.to_owned());
        }
        let resp = http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| ZendeskError::Transport(e.without_url()))?;
        read_json(resp).await
    }

    /// Users whose phone matches `digits` (digits only; a leading `*` matches numbers that
    /// END with the digits, in any stored format), via the search API with
    /// `role:end-user phone:<digits>`, as Zendesk's telephony guide recommends.
    /// Returns the first page (up to 100), in Zendesk's order; callers must handle
    /// `shared_phone_number`.
    pub async fn search_users_by_phone(&self, digits: &str) -> Result<Vec<User>, ZendeskError> {
        let bare = digits.strip_prefix('*').unwrap_or(digits);
        if bare.is_empty() || bare.len() > MAX_PHONE_DIGITS {
            return Err(ZendeskError::InvalidInput(
                "phone must be 1 to 20 digits, optionally after one leading '*'",
            ));
        }
        if !bare.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ZendeskError::InvalidInput(
                "phone must contain only digits (no '+', spaces or punctuation)",
            ));
        }
        let query = format!("role:end-user phone:{digits}");
        let resp = self.search(&query, None, None).await?;
        Ok(resp.users().cloned().collect())
    }

    /// `GET /api/v2/search.json?query=&sort_by=&sort_order=` (first page).
    pub async fn search(
        &self,
        query: &str,
        sort_by: Option<SortBy>,
        sort_order: Option<SortOrder>,
    ) -> Result<SearchResponse, ZendeskError> {
        let mut url = join(&self.base, "api/v2/search.json")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("query", query);
            if let Some(s) = sort_by {
                q.append_pair("sort_by", s.as_str());
            }
            if let Some(o) = sort_order {
                q.append_pair("sort_order", o.as_str());
            }
        }
        self.send(Method::GET, url, None::<&()>).await
    }

    /// `GET /api/v2/users/{id}/tickets/requested.json` (first page).
    pub async fn requested_tickets(&self, user_id: u64) -> Result<TicketsResponse, ZendeskError> {
        let url = join(
            &self.base,
            &format!("api/v2/users/{user_id}/tickets/requested.json"),
        )?;
        self.send(Method::GET, url, None::<&()>).await
    }

    /// `GET /api/v2/tickets/{id}.json`.
    pub async fn ticket(&self, id: u64) -> Result<Ticket, ZendeskError> {
        let url = join(&self.base, &format!("api/v2/tickets/{id}.json"))?;
        let r: TicketResponse = self.send(Method::GET, url, None::<&()>).await?;
        Ok(r.ticket)
    }

    /// `GET /api/v2/tickets/{id}/comments.json` (first page, oldest first).
    pub async fn ticket_comments(&self, id: u64) -> Result<CommentsResponse, ZendeskError> {
        let url = join(&self.base, &format!("api/v2/tickets/{id}/comments.json"))?;
        self.send(Method::GET, url, None::<&()>).await
    }

    /// Add a comment (`public: false` makes an internal note) with
    /// `PUT /api/v2/tickets/{id}.json`. Returns the updated ticket.
    pub async fn add_comment(
        &self,
        id: u64,
        body: &str,
        public: bool,
    ) -> Result<Ticket, ZendeskError> {
        let update = TicketUpdate {
            comment: Some(NewComment {
                body: body.to_owned(),
                public: Some(public),
                author_id: None,
            }),
            ..TicketUpdate::default()
        };
        self.update_ticket(id, &update).await
    }

    /// `PUT /api/v2/tickets/{id}.json` with any [`TicketUpdate`].
    pub async fn update_ticket(
        &self,
        id: u64,
        update: &TicketUpdate,
    ) -> Result<Ticket, ZendeskError> {
        let url = join(&self.base, &format!("api/v2/tickets/{id}.json"))?;
        let r: TicketResponse = self
            .send(Method::PUT, url, Some(&TicketEnvelope { ticket: update }))
            .await?;
        Ok(r.ticket)
    }

    /// `POST /api/v2/tickets.json`.
    pub async fn create_ticket(&self, ticket: &NewTicket) -> Result<Ticket, ZendeskError> {
        let url = join(&self.base, "api/v2/tickets.json")?;
        let r: TicketResponse = self
            .send(Method::POST, url, Some(&TicketEnvelope { ticket }))
            .await?;
        Ok(r.ticket)
    }

    /// `POST /api/v2/users.json`.
    pub async fn create_user(&self, user: &NewUser) -> Result<User, ZendeskError> {
        let url = join(&self.base, "api/v2/users.json")?;
        let r: UserResponse = self
            .send(Method::POST, url, Some(&UserEnvelope { user }))
            .await?;
        Ok(r.user)
    }

    /// `GET /api/v2/users/me.json`: the authenticated user (checks the credential).
    pub async fn me(&self) -> Result<User, ZendeskError> {
        let url = join(&self.base, "api/v2/users/me.json")?;
        let r: UserResponse = self.send(Method::GET, url, None::<&()>).await?;
        Ok(r.user)
    }

    async fn send<T: DeserializeOwned, B: serde::Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<T, ZendeskError> {
        let mut req = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ZendeskError::Transport(e.without_url()))?;
        read_json(resp).await
    }
}

fn join(base: &Url, path: &str) -> Result<Url, ZendeskError> {
    base.join(path)
        .map_err(|e| ZendeskError::InvalidBaseUrl(e.to_string()))
}

async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, ZendeskError> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(ZendeskError::BodyTooLarge {
            limit: MAX_RESPONSE_BYTES,
        });
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ZendeskError::Transport(e.without_url()))?
    {
        if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ZendeskError::BodyTooLarge {
                limit: MAX_RESPONSE_BYTES,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

async fn read_json<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, ZendeskError> {
    let status = resp.status();
    let retry_after = retry_after(resp.headers(), SystemTime::now());
    let bytes = read_body(resp).await?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|source| ZendeskError::Decode {
            status: status.as_u16(),
            source,
        });
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(ZendeskError::RateLimited { retry_after });
    }
    Err(ZendeskError::Status {
        status: status.as_u16(),
        body: serde_json::from_slice(&bytes).ok(),
        retry_after,
    })
}

/// The response's Retry-After (ringdesk's one parser, in the connector crate), clamped to
/// [`MAX_RETRY_AFTER`].
fn retry_after(headers: &reqwest::header::HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    ringdesk_connector::parse_retry_after(value, now).map(|d| d.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_parsed_by_the_connectors_rules_and_clamped() {
        // Wed, 21 Oct 2015 07:27:00 GMT
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_420);
        let ra = |value: &[u8]| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_bytes(value).unwrap());
            retry_after(&headers, now)
        };
        assert_eq!(ra(b"7"), Some(Duration::from_secs(7)));
        assert_eq!(ra(b"99999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            ra(b"Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(ra(b"Wed, 21 Oct 2015 07:20:00 GMT"), Some(Duration::ZERO));
        assert_eq!(ra(b"Thu, 22 Oct 2015 07:27:00 GMT"), Some(MAX_RETRY_AFTER));
        for bad in [&b"-3"[..], b"soon", b"NaN", b"1.5", b"\xff\xfe"] {
            assert_eq!(ra(bad), None, "{bad:?}");
        }
        assert_eq!(retry_after(&reqwest::header::HeaderMap::new(), now), None);
    }

    #[test]
    fn debug_hides_the_credential() {
        let c = ZendeskClient::new(
            "https://acme.zendesk.com",
            &Secret::new("Basic c2VjcmV0LXZhbHVl"),
        )
        .unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("c2VjcmV0"), "{d}");
        assert!(d.contains("acme.zendesk.com"));
    }

    #[test]
    fn base_urls_are_checked_and_normalized() {
        assert_eq!(
            parse_base("https://acme.zendesk.com/prefix?x=1")
                .unwrap()
                .as_str(),
            "https://acme.zendesk.com/prefix/"
        );
        assert!(parse_base("ftp://x").is_err());
        assert!(parse_base("https://u:p@acme.zendesk.com").is_err());
        assert!(parse_base("not a url").is_err());
        assert!(matches!(
            ZendeskClient::new("https://a.example", &Secret::new("bad\nvalue")),
            Err(ZendeskError::InvalidAuthorization)
        ));
    }

    #[tokio::test]
    async fn phone_digits_are_validated_before_sending() {
        // Port 9 (discard) is never contacted: validation fails first.
        let c = ZendeskClient::new("http://127.0.0.1:9", &Secret::new("Bearer x")).unwrap();
        for bad in [
            "",
            "*",
            "+5511",
            "1 type:ticket",
            "12345678901234567890123",
            "١٢٣",
        ] {
            assert!(
                matches!(
                    c.search_users_by_phone(bad).await,
                    Err(ZendeskError::InvalidInput(_))
                ),
                "{bad:?} accepted"
            );
        }
    }
}
