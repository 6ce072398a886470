//! Zendesk Support API wire types (users, tickets, comments, search and error bodies),
//! shared by the typed client and the sandbox. Serde lives here, at the HTTP edge.
//!
//! Decoding is lenient (unknown fields are ignored, optional fields default) so the same
//! types read real Zendesk responses; encoding produces Zendesk's shapes.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A customer (`end-user`).
    #[default]
    EndUser,
    /// An agent.
    Agent,
    /// An administrator.
    Admin,
    /// Any role this crate does not know.
    #[serde(other)]
    Other,
}

impl Role {
    /// Zendesk's spelling (`end-user`, `agent`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::EndUser => "end-user",
            Role::Agent => "agent",
            Role::Admin => "admin",
            Role::Other => "other",
        }
    }
}

/// A ticket's status, in Zendesk's order (`status<solved` means new, open, pending or hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    /// Not yet assigned.
    New,
    /// Being worked on.
    Open,
    /// Waiting for the requester.
    Pending,
    /// Waiting for a third party; internal (the requester sees "open").
    Hold,
    /// Solved.
    Solved,
    /// Closed: can no longer be updated.
    Closed,
}

impl TicketStatus {
    /// All statuses in order.
    pub const ALL: [TicketStatus; 6] = [
        TicketStatus::New,
        TicketStatus::Open,
        TicketStatus::Pending,
        TicketStatus::Hold,
        TicketStatus::Solved,
        TicketStatus::Closed,
    ];

    /// Zendesk's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::Open => "open",
            TicketStatus::Pending => "pending",
            TicketStatus::Hold => "hold",
            TicketStatus::Solved => "solved",
            TicketStatus::Closed => "closed",
        }
    }

    /// Parse Zendesk's spelling (ASCII case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }

    /// True for new, open, pending and hold.
    pub fn is_unsolved(self) -> bool {
        self < TicketStatus::Solved
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ticket's priority, lowest first (a ticket may also have none: `Option<Priority>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Low.
    Low,
    /// Normal.
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

impl Priority {
    /// All priorities, lowest first.
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    /// Zendesk's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Parse Zendesk's spelling (ASCII case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Zendesk user (the fields ringdesk uses; others are ignored when decoding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub id: u64,
    /// API URL of the record, when the server sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Display name.
    pub name: String,
    /// Primary email.
    #[serde(default)]
    pub email: Option<String>,
    /// Primary phone number, as stored (normally E.164).
    #[serde(default)]
    pub phone: Option<String>,
    /// True when another user has the same phone number.
    #[serde(default)]
    pub shared_phone_number: bool,
    /// Locale, e.g. `pt-BR`, `en-US`.
    #[serde(default)]
    pub locale: Option<String>,
    /// IANA-ish time zone name as Zendesk stores it.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Role.
    #[serde(default)]
    pub role: Role,
    /// False for deleted users.
    #[serde(default = "yes")]
    pub active: bool,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
}

fn yes() -> bool {
    true
}

/// A ticket (the fields ringdesk uses; others are ignored when decoding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Ticket id.
    pub id: u64,
    /// API URL of the record, when the server sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Subject line.
    #[serde(default)]
    pub subject: Option<String>,
    /// The first comment's text.
    #[serde(default)]
    pub description: Option<String>,
    /// Status.
    pub status: TicketStatus,
    /// Priority, if set.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// The requester's user id.
    pub requester_id: u64,
    /// The submitter's user id.
    #[serde(default)]
    pub submitter_id: Option<u64>,
    /// The assignee's user id.
    #[serde(default)]
    pub assignee_id: Option<u64>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
}

/// A ticket comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Comment id.
    pub id: u64,
    /// Plain text body.
    pub body: String,
    /// True when visible to the requester; false for an internal note.
    pub public: bool,
    /// Author's user id.
    pub author_id: u64,
    /// Creation time.
    pub created_at: Timestamp,
}

/// One item of a search response, tagged by `result_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result_type", rename_all = "lowercase")]
pub enum SearchResult {
    /// A user.
    User(User),
    /// A ticket.
    Ticket(Ticket),
    /// A group.
    Group(serde_json::Map<String, serde_json::Value>),
    /// An organization.
    Organization(serde_json::Map<String, serde_json::Value>),
}

/// `GET /api/v2/search.json` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// This page's results.
    pub results: Vec<SearchResult>,
    /// Total matches.
    pub count: u64,
    /// URL of the next page.
    #[serde(default)]
    pub next_page: Option<String>,
    /// URL of the previous page.
    #[serde(default)]
    pub previous_page: Option<String>,
    /// Facets (always null for the queries ringdesk makes).
    #[serde(default)]
    pub facets: Option<serde_json::Value>,
}

impl SearchResponse {
    /// The users among the results, in order.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.results.iter().filter_map(|r| match r {
            SearchResult::User(u) => Some(u),
            _ => None,
        })
    }

    /// The tickets among the results, in order.
    pub fn tickets(&self) -> impl Iterator<Item = &Ticket> {
        self.results.iter().filter_map(|r| match r {
            SearchResult::Ticket(t) => Some(t),
            _ => None,
        })
    }
}

/// `GET /api/v2/users/search.json` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsersResponse {
    /// Users on this page.
    pub users: Vec<User>,
    /// URL of the next page.
    #[serde(default)]
    pub next_page: Option<String>,
    /// URL of the previous page.
    #[serde(default)]
    pub previous_page: Option<String>,
    /// Total matches.
    #[serde(default)]
    pub count: u64,
}

/// A list of tickets (`/users/{id}/tickets/requested.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketsResponse {
    /// Tickets on this page.
    pub tickets: Vec<Ticket>,
    /// URL of the next page.
    #[serde(default)]
    pub next_page: Option<String>,
    /// URL of the previous page.
    #[serde(default)]
    pub previous_page: Option<String>,
    /// Total count.
    #[serde(default)]
    pub count: u64,
}

/// A list of comments (`/tickets/{id}/comments.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentsResponse {
    /// Comments, oldest first.
    pub comments: Vec<Comment>,
    /// URL of the next page.
    #[serde(default)]
    pub next_page: Option<String>,
    /// URL of the previous page.
    #[serde(default)]
    pub previous_page: Option<String>,
    /// Total count.
    #[serde(default)]
    pub count: u64,
}

/// `{"ticket": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketResponse {
    /// The ticket.
    pub ticket: Ticket,
}

/// `{"user": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserResponse {
    /// The user.
    pub user: User,
}

/// A comment to add (in a ticket update or a new ticket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewComment {
    /// Plain text body.
    pub body: String,
    /// Visible to the requester; Zendesk's default is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    /// Author; defaults to the authenticated user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<u64>,
}

/// The body of `PUT /api/v2/tickets/{id}.json`: `{"ticket": TicketUpdate}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TicketUpdate {
    /// A comment to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<NewComment>,
    /// New status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TicketStatus>,
    /// New priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

/// The body of `POST /api/v2/tickets.json`: `{"ticket": NewTicket}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    /// Subject line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The first comment (becomes the description).
    pub comment: NewComment,
    /// Requester; defaults to the authenticated user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_id: Option<u64>,
    /// Initial status (default `new`, or `open` when an assignee is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TicketStatus>,
    /// Initial priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// The body of `POST /api/v2/users.json`: `{"user": NewUser}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    /// Display name (required).
    pub name: String,
    /// Email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone, E.164 preferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Role (default end-user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// `{"ticket": T}` wrapper for request bodies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEnvelope<T> {
    /// The payload.
    pub ticket: T,
}

/// `{"user": T}` wrapper for request bodies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserEnvelope<T> {
    /// The payload.
    pub user: T,
}

/// The `error` member of a Zendesk error body: a code string (`"RecordNotFound"`) or,
/// on some endpoints, an object with a title and a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorCode {
    /// `"error": "RecordNotFound"`.
    Code(String),
    /// `"error": {"title": ..., "message": ...}`.
    Detailed {
        /// Title.
        #[serde(default)]
        title: Option<String>,
        /// Message.
        #[serde(default)]
        message: Option<String>,
    },
}

/// A Zendesk error body: `{"error": "...", "description": "...", "details": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Error code.
    pub error: ErrorCode,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Per-field details (validation errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ErrorBody {
    /// An error body with a code and a description.
    pub fn new(error: &str, description: Option<&str>) -> Self {
        Self {
            error: ErrorCode::Code(error.to_owned()),
            description: description.map(str::to_owned),
            details: None,
        }
    }

    /// The code (`RecordNotFound`), or the title of a detailed error.
    pub fn code(&self) -> &str {
        match &self.error {
            ErrorCode::Code(c) => c,
            ErrorCode::Detailed { title, .. } => title.as_deref().unwrap_or(""),
        }
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// OAuth token response of `POST /oauth/tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthToken {
    /// The access token (a secret; written out only in this response).
    #[serde(serialize_with = "ringdesk_secret::expose_serialized")]
    pub access_token: crate::Secret,
    /// `bearer`.
    pub token_type: String,
    /// Granted scopes.
    #[serde(default)]
    pub scope: Option<String>,
    /// Lifetime in seconds, if limited.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// Sort key of the search API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// `updated_at`.
    UpdatedAt,
    /// `created_at`.
    CreatedAt,
    /// `priority`.
    Priority,
    /// `status`.
    Status,
    /// `ticket_type`.
    TicketType,
}

impl SortBy {
    /// Zendesk's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::UpdatedAt => "updated_at",
            SortBy::CreatedAt => "created_at",
            SortBy::Priority => "priority",
            SortBy::Status => "status",
            SortBy::TicketType => "ticket_type",
        }
    }

    /// Parse Zendesk's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [
            SortBy::UpdatedAt,
            SortBy::CreatedAt,
            SortBy::Priority,
            SortBy::Status,
            SortBy::TicketType,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// Sort order of the search API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Ascending.
    Asc,
    /// Descending (Zendesk's default when `sort_by` is given).
    Desc,
}

impl SortOrder {
    /// Zendesk's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }

    /// Parse Zendesk's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "asc" => Some(SortOrder::Asc),
            "desc" => Some(SortOrder::Desc),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_response_decodes_mixed_results() {
        let body = r#"{"results":[
            {"result_type":"user","id":7,"name":"Ana","phone":"+5511987650001","role":"end-user",
             "created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T03:04:05Z","extra":1},
            {"result_type":"ticket","id":9,"status":"hold","priority":null,"requester_id":7,
             "created_at":"2024-01-02T03:04:05Z","updated_at":"2024-02-02T03:04:05Z"},
            {"result_type":"group","id":3,"name":"Support"}
        ],"count":3,"next_page":null,"previous_page":null,"facets":null}"#;
        let r: SearchResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.users().map(|u| u.id).collect::<Vec<_>>(), vec![7]);
        let t: Vec<_> = r.tickets().collect();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].status, TicketStatus::Hold);
        assert!(t[0].status.is_unsolved());
        assert_eq!(t[0].priority, None);
        assert_eq!(r.count, 3);
    }

    #[test]
    fn result_type_is_written_on_encode() {
        let r = SearchResult::Ticket(Ticket {
            id: 1,
            url: None,
            subject: None,
            description: None,
            status: TicketStatus::Open,
            priority: Some(Priority::Urgent),
            requester_id: 2,
            submitter_id: None,
            assignee_id: None,
            tags: vec![],
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        });
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["result_type"], "ticket");
        assert_eq!(v["priority"], "urgent");
        assert_eq!(v["created_at"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn error_bodies_of_both_shapes() {
        let a: ErrorBody =
            serde_json::from_str(r#"{"error":"RecordNotFound","description":"Not found"}"#)
                .unwrap();
        assert_eq!(a.code(), "RecordNotFound");
        assert_eq!(a.to_string(), "RecordNotFound: Not found");
        let b: ErrorBody =
            serde_json::from_str(r#"{"error":{"title":"Forbidden","message":"no"}}"#).unwrap();
        assert_eq!(b.code(), "Forbidden");
    }

    #[test]
    fn status_order_defines_unsolved() {
        let unsolved: Vec<_> = TicketStatus::ALL
            .into_iter()
            .filter(|s| s.is_unsolved())
            .collect();
        assert_eq!(
            unsolved,
            vec![
                TicketStatus::New,
                TicketStatus::Open,
                TicketStatus::Pending,
                TicketStatus::Hold
            ]
        );
        assert_eq!(TicketStatus::parse("HOLD"), Some(TicketStatus::Hold));
        assert_eq!(Priority::parse("nope"), None);
    }
}
