//! The sandbox's seed data: the JSON data file format, its parser (errors name the file
//! and line), validation, and the embedded demo data set.

use crate::types::{Comment, Priority, Role, Ticket, TicketStatus, User};
use crate::Secret;
use jiff::Timestamp;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

/// The demo data file (`crates/zendesk/data/demo.json`), embedded.
pub const DEMO_DATA: &str = include_str!("../../data/demo.json");

/// Largest data file accepted (bytes).
pub const MAX_DATA_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Bounds on stored text (also applied to API input).
pub const MAX_NAME_CHARS: usize = 255;
/// Longest stored phone string.
pub const MAX_PHONE_CHARS: usize = 32;

/// A data file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// File name.
        file: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_DATA_FILE_BYTES`].
    #[error("{file}: larger than {MAX_DATA_FILE_BYTES} bytes")]
    TooLarge {
        /// File name.
        file: String,
    },
    /// Not valid JSON, or not the data file's shape.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// File name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Well-formed but inconsistent (duplicate id, unknown requester...).
    #[error("{file}: {message}")]
    Invalid {
        /// File name.
        file: String,
        /// What is wrong, naming the record.
        message: String,
    },
}

/// An API token credential: `Basic base64("{email}/token:{token}")`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    /// The agent's email.
    pub email: String,
    /// The token.
    pub token: Secret,
}

impl ApiToken {
    /// The Authorization header value for this token.
    pub fn authorization(&self) -> Secret {
        crate::client::api_token_authorization(&self.email, &self.token)
    }
}

/// An OAuth confidential client allowed the client-credentials grant.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClient {
    /// Client id (Zendesk calls it the client's "unique identifier").
    pub client_id: String,
    /// Client secret.
    pub client_secret: Secret,
    /// The agent the issued tokens act as (default: the first admin).
    #[serde(default)]
    pub user_email: Option<String>,
}

/// The credentials the sandbox accepts.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// API tokens.
    #[serde(default)]
    pub api_tokens: Vec<ApiToken>,
    /// OAuth clients.
    #[serde(default)]
    pub oauth_clients: Vec<OAuthClient>,
}

/// A validated data set: what the sandbox serves.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSet {
    /// Accepted credentials.
    pub credentials: Credentials,
    /// Users by id.
    pub users: BTreeMap<u64, User>,
    /// Tickets by id.
    pub tickets: BTreeMap<u64, Ticket>,
    /// Comments by ticket id, oldest first.
    pub comments: BTreeMap<u64, Vec<Comment>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileData {
    #[serde(default)]
    credentials: Credentials,
    #[serde(default)]
    users: Vec<FileUser>,
    #[serde(default)]
    tickets: Vec<FileTicket>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileUser {
    id: u64,
    name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    shared_phone_number: Option<bool>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    role: Role,
    created_at: Timestamp,
    #[serde(default)]
    updated_at: Option<Timestamp>,
    #[serde(default)]
    notes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTicket {
    id: u64,
    #[serde(default)]
    subject: Option<String>,
    status: TicketStatus,
    #[serde(default)]
    priority: Option<Priority>,
    requester_id: u64,
    #[serde(default)]
    assignee_id: Option<u64>,
    #[serde(default)]
    tags: Vec<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    #[serde(default)]
    comments: Vec<FileComment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileComment {
    body: String,
    #[serde(default = "yes")]
    public: bool,
    author_id: u64,
    created_at: Timestamp,
}

fn yes() -> bool {
    true
}

/// The digits of a phone string (what Zendesk's phone search compares).
pub fn phone_digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// Set `shared_phone_number` on every user: true when another user's phone has the same
/// digits (as Zendesk maintains it).
pub fn recompute_shared_phones(users: &mut BTreeMap<u64, User>) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for u in users.values() {
        if let Some(p) = &u.phone {
            let d = phone_digits(p);
            if !d.is_empty() {
                *seen.entry(d).or_default() += 1;
            }
        }
    }
    for u in users.values_mut() {
        u.shared_phone_number = u
            .phone
            .as_deref()
            .map(phone_digits)
            .and_then(|d| seen.get(&d))
            .is_some_and(|n| *n > 1);
    }
}

impl DataSet {
    /// The embedded demo data.
    pub fn demo() -> Result<Self, DataError> {
        Self::parse("demo.json", DEMO_DATA)
    }

    /// Read and parse a data file.
    pub fn load(path: &Path) -> Result<Self, DataError> {
        let file = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| DataError::Io {
            file: file.clone(),
            source,
        })?;
        if meta.len() > MAX_DATA_FILE_BYTES {
            return Err(DataError::TooLarge { file });
        }
        let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
            file: file.clone(),
            source,
        })?;
        Self::parse(&file, &text)
    }

    /// Parse data file text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, DataError> {
        if text.len() as u64 > MAX_DATA_FILE_BYTES {
            return Err(DataError::TooLarge {
                file: file.to_owned(),
            });
        }
        let raw: FileData = serde_json::from_str(text).map_err(|e| DataError::Syntax {
            file: file.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| DataError::Invalid {
            file: file.to_owned(),
            message,
        };
        build(raw).map_err(invalid)
    }

    /// Replace the credentials (e.g. from the sandbox configuration), checking that each
    /// names an agent or admin of this data set; `origin` names the source in errors.
    pub fn replace_credentials(
        &mut self,
        origin: &str,
        credentials: Credentials,
    ) -> Result<(), DataError> {
        check_credentials(&self.users, &credentials).map_err(|message| DataError::Invalid {
            file: origin.to_owned(),
            message,
        })?;
        self.credentials = credentials;
        Ok(())
    }

    /// The user an authenticated credential acts as, by email (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        self.users.values().find(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
    }
}

fn check_credentials(users: &BTreeMap<u64, User>, creds: &Credentials) -> Result<(), String> {
    let agent = |email: &str| {
        users.values().any(|u| {
            u.role != Role::EndUser
                && u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
    };
    for (i, t) in creds.api_tokens.iter().enumerate() {
        if !agent(&t.email) {
            return Err(format!(
                "credentials.api_tokens[{i}]: {} is not an agent or admin user",
                t.email
            ));
        }
        if t.token.is_empty() {
            return Err(format!("credentials.api_tokens[{i}]: empty token"));
        }
    }
    for (i, c) in creds.oauth_clients.iter().enumerate() {
        if c.client_id.is_empty() || c.client_secret.is_empty() {
            return Err(format!(
                "credentials.oauth_clients[{i}]: empty client_id or client_secret"
            ));
        }
        match &c.user_email {
            Some(e) if !agent(e) => {
                return Err(format!(
                    "credentials.oauth_clients[{i}]: {e} is not an agent or admin user"
                ))
            }
            None if !users.values().any(|u| u.role == Role::Admin) => {
                return Err(format!(
                    "credentials.oauth_clients[{i}]: no user_email and no admin user to act as"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

fn build(raw: FileData) -> Result<DataSet, String> {
    let mut users = BTreeMap::new();
    let mut emails = HashSet::new();
    let mut declared_shared = BTreeMap::new();
    for (i, u) in raw.users.into_iter().enumerate() {
        let at = format!("users[{i}] (id {})", u.id);
        if u.id == 0 {
            return Err(format!("{at}: id must be positive"));
        }
        if u.name.trim().is_empty() || u.name.chars().count() > MAX_NAME_CHARS {
            return Err(format!(
                "{at}: name must be 1 to {MAX_NAME_CHARS} characters"
            ));
        }
        if let Some(e) = &u.email {
            if !e.contains('@') || !emails.insert(e.to_ascii_lowercase()) {
                return Err(format!("{at}: email is malformed or used twice"));
            }
        }
        if let Some(p) = &u.phone {
            if p.chars().count() > MAX_PHONE_CHARS || phone_digits(p).is_empty() {
                return Err(format!(
                    "{at}: phone must have digits and at most {MAX_PHONE_CHARS} characters"
                ));
            }
        }
        if let Some(s) = u.shared_phone_number {
            declared_shared.insert(u.id, s);
        }
        let _ = u.notes;
        let user = User {
            id: u.id,
            url: None,
            name: u.name,
            email: u.email,
            phone: u.phone,
            shared_phone_number: false,
            locale: u.locale,
            time_zone: u.time_zone,
            role: u.role,
            active: true,
            created_at: u.created_at,
            updated_at: u.updated_at.unwrap_or(u.created_at),
        };
        if users.insert(u.id, user).is_some() {
            return Err(format!("{at}: duplicate user id"));
        }
    }
    recompute_shared_phones(&mut users);
    for (id, declared) in declared_shared {
        let actual = users.get(&id).is_some_and(|u| u.shared_phone_number);
        if actual != declared {
            return Err(format!(
                "user {id}: shared_phone_number is {declared} but {} other user has the same phone digits",
                if actual { "an" } else { "no" }
            ));
        }
    }

    let mut tickets = BTreeMap::new();
    let mut comments = BTreeMap::new();
    let mut next_comment_id: u64 = 1_000_001;
    for (i, t) in raw.tickets.into_iter().enumerate() {
        let at = format!("tickets[{i}] (id {})", t.id);
        if t.id == 0 {
            return Err(format!("{at}: id must be positive"));
        }
        if !users.contains_key(&t.requester_id) {
            return Err(format!(
                "{at}: requester_id {} is not a user",
                t.requester_id
            ));
        }
        if let Some(a) = t.assignee_id {
            if !users.get(&a).is_some_and(|u| u.role != Role::EndUser) {
                return Err(format!("{at}: assignee_id {a} is not an agent"));
            }
        }
        if t.updated_at < t.created_at {
            return Err(format!("{at}: updated_at is before created_at"));
        }
        let mut list = Vec::new();
        for (j, c) in t.comments.into_iter().enumerate() {
            if !users.contains_key(&c.author_id) {
                return Err(format!(
                    "{at}: comments[{j}]: author_id {} is not a user",
                    c.author_id
                ));
            }
            list.push(Comment {
                id: next_comment_id,
                body: c.body,
                public: c.public,
                author_id: c.author_id,
                created_at: c.created_at,
            });
            next_comment_id += 1;
        }
        let ticket = Ticket {
            id: t.id,
            url: None,
            subject: t.subject,
            description: list.first().map(|c| c.body.clone()),
            status: t.status,
            priority: t.priority,
            requester_id: t.requester_id,
            submitter_id: Some(t.requester_id),
            assignee_id: t.assignee_id,
            tags: t.tags,
            created_at: t.created_at,
            updated_at: t.updated_at,
        };
        if tickets.insert(t.id, ticket).is_some() {
            return Err(format!("{at}: duplicate ticket id"));
        }
        comments.insert(t.id, list);
    }

    check_credentials(&users, &raw.credentials)?;
    Ok(DataSet {
        credentials: raw.credentials,
        users,
        tickets,
        comments,
    })
}

impl fmt::Display for DataSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} users, {} tickets",
            self.users.len(),
            self.tickets.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_data_is_valid_and_covers_the_paths() {
        let d = DataSet::demo().unwrap();
        let customers = d.users.values().filter(|u| u.role == Role::EndUser).count();
        assert!(customers >= 12, "{customers}");
        for s in TicketStatus::ALL {
            assert!(d.tickets.values().any(|t| t.status == s), "no {s} ticket");
        }
        for p in Priority::ALL.map(Some).into_iter().chain([None]) {
            assert!(d.tickets.values().any(|t| t.priority == p), "no {p:?}");
        }
        assert_eq!(
            d.users.values().filter(|u| u.shared_phone_number).count(),
            2
        );
        assert!(d.users.values().any(
            |u| u.role == Role::EndUser && !d.tickets.values().any(|t| t.requester_id == u.id)
        ));
        assert!(d
            .users
            .values()
            .any(|u| u.phone.as_deref().is_some_and(|p| !p.starts_with('+'))));
        for l in ["pt-BR", "en-US"] {
            assert!(d.users.values().any(|u| u.locale.as_deref() == Some(l)));
        }
        assert!(!d.credentials.api_tokens.is_empty());
        assert!(!d.credentials.oauth_clients.is_empty());
        assert!(!format!("{d:?}").contains(d.credentials.api_tokens[0].token.expose()));
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let text =
            "{\n  \"users\": [\n    {\"id\": 1, \"name\": \"A\", \"created_at\": \"x\"}\n  ]\n}";
        let e = DataSet::parse("mine.json", text).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("mine.json:3:"), "{s}");
        let e = DataSet::parse("t.json", "{\"userz\": []}").unwrap_err();
        assert!(e.to_string().starts_with("t.json:1:"), "{e}");
    }

    #[test]
    fn inconsistent_data_is_refused() {
        let base = r#"{"users":[{"id":1,"name":"A","phone":"+1 (415) 555-0101","created_at":"2024-01-01T00:00:00Z"},
                      {"id":2,"name":"B","phone":"14155550101","shared_phone_number":false,"created_at":"2024-01-01T00:00:00Z"}]}"#;
        let e = DataSet::parse("d.json", base).unwrap_err();
        assert!(e.to_string().contains("user 2: shared_phone_number"), "{e}");
        let bad_req = r#"{"users":[{"id":1,"name":"A","created_at":"2024-01-01T00:00:00Z"}],
            "tickets":[{"id":5,"status":"open","requester_id":9,"created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}]}"#;
        let e = DataSet::parse("d.json", bad_req).unwrap_err();
        assert!(e.to_string().contains("requester_id 9"), "{e}");
        let bad_cred = r#"{"users":[{"id":1,"name":"A","email":"a@x.example","created_at":"2024-01-01T00:00:00Z"}],
            "credentials":{"api_tokens":[{"email":"a@x.example","token":"t"}]}}"#;
        let e = DataSet::parse("d.json", bad_cred).unwrap_err();
        assert!(e.to_string().contains("not an agent"), "{e}");
    }
}
