//! The sandbox's records and the operations the API performs on them: search, ticket
//! updates with stored comments, ticket and user creation. Bounded; "now" is passed in.

use super::data::{recompute_shared_phones, DataSet, MAX_NAME_CHARS, MAX_PHONE_CHARS};
use super::query::{self, Query, Record};
use crate::types::{
    Comment, NewTicket, NewUser, Role, SortBy, SortOrder, Ticket, TicketStatus, TicketUpdate, User,
};
use jiff::Timestamp;

/// Longest comment body (Zendesk's limit is 64 KB).
pub const MAX_COMMENT_BYTES: usize = 65_536;
/// Most comments on one ticket.
pub const MAX_COMMENTS_PER_TICKET: usize = 5_000;
/// Most users or tickets the store will hold.
pub const MAX_RECORDS: usize = 100_000;
/// Most tags on a ticket.
pub const MAX_TAGS: usize = 50;

/// Why an operation failed (mapped to Zendesk's error responses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Unknown id: 404 RecordNotFound.
    #[error("not found")]
    NotFound,
    /// Validation failed: 422 RecordInvalid with per-field details.
    #[error("{field}: {description}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Zendesk-style description.
        description: String,
        /// Zendesk error code for the field (`BlankValue`, `DuplicateValue`, `InvalidValue`...).
        code: &'static str,
    },
    /// The store is full: 422 (the sandbox refuses to grow without bound).
    #[error("the sandbox holds too many records")]
    Full,
}

fn invalid(field: &'static str, code: &'static str, description: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field,
        description: description.into(),
        code,
    }
}

/// The live records.
#[derive(Debug, Clone)]
pub struct Store {
    data: DataSet,
    next_ticket_id: u64,
    next_user_id: u64,
    next_comment_id: u64,
}

/// Timestamps have second precision, like Zendesk's.
pub fn seconds(now: Timestamp) -> Timestamp {
    Timestamp::from_second(now.as_second()).unwrap_or(now)
}

impl Store {
    /// Start from a data set.
    pub fn new(data: DataSet) -> Self {
        let next_ticket_id = data
            .tickets
            .keys()
            .next_back()
            .map_or(1, |m| m.saturating_add(1));
        let next_user_id = data
            .users
            .keys()
            .next_back()
            .map_or(1, |m| m.saturating_add(1))
            .max(1000);
        let next_comment_id = data
            .comments
            .values()
            .flatten()
            .map(|c| c.id)
            .max()
            .map_or(1, |m| m.saturating_add(1));
        Self {
            data,
            next_ticket_id,
            next_user_id,
            next_comment_id,
        }
    }

    /// The data.
    pub fn data(&self) -> &DataSet {
        &self.data
    }

    /// A user.
    pub fn user(&self, id: u64) -> Option<&User> {
        self.data.users.get(&id)
    }

    /// A ticket.
    pub fn ticket(&self, id: u64) -> Option<&Ticket> {
        self.data.tickets.get(&id)
    }

    /// A ticket's comments, oldest first.
    pub fn comments(&self, ticket_id: u64) -> Option<&[Comment]> {
        self.data.tickets.get(&ticket_id)?;
        Some(
            self.data
                .comments
                .get(&ticket_id)
                .map_or(&[][..], Vec::as_slice),
        )
    }

    /// Tickets requested by a user, by id.
    pub fn requested_tickets(&self, user_id: u64) -> Option<Vec<&Ticket>> {
        self.data.users.get(&user_id)?;
        Some(
            self.data
                .tickets
                .values()
                .filter(|t| t.requester_id == user_id)
                .collect(),
        )
    }

    /// All matches of a query, sorted.
    pub fn search(
        &self,
        q: &Query,
        users_only: bool,
        sort_by: Option<SortBy>,
        order: Option<SortOrder>,
        now: Timestamp,
    ) -> Vec<Record<'_>> {
        let users = &self.data.users;
        let mut out: Vec<Record<'_>> = users
            .values()
            .map(Record::User)
            .chain(
                self.data
                    .tickets
                    .values()
                    .filter(|_| !users_only)
                    .map(Record::Ticket),
            )
            .filter(|r| q.matches(*r, users, now))
            .collect();
        query::sort(&mut out, sort_by, order);
        out
    }

    fn add_comment(
        &mut self,
        ticket_id: u64,
        body: &str,
        public: bool,
        author_id: u64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let list = self.data.comments.entry(ticket_id).or_default();
        if list.len() >= MAX_COMMENTS_PER_TICKET {
            return Err(StoreError::Full);
        }
        list.push(Comment {
            id: self.next_comment_id,
            body: body.to_owned(),
            public,
            author_id,
            created_at: now,
        });
        self.next_comment_id = self.next_comment_id.saturating_add(1);
        Ok(())
    }

    fn check_comment(&self, body: &str, author_id: u64) -> Result<(), StoreError> {
        if body.trim().is_empty() {
            return Err(invalid("comment", "BlankValue", "Comment: cannot be blank"));
        }
        if body.len() > MAX_COMMENT_BYTES {
            return Err(invalid(
                "comment",
                "TooLong",
                "Comment: is too long (maximum is 65536 bytes)",
            ));
        }
        if !self.data.users.contains_key(&author_id) {
            return Err(invalid("author_id", "InvalidValue", "Author: is invalid"));
        }
        Ok(())
    }

    /// `PUT /tickets/{id}`: optional comment (public by default), status and priority;
    /// `updated_at` moves forward. Closed tickets refuse updates, as on Zendesk.
    pub fn update_ticket(
        &mut self,
        id: u64,
        update: &TicketUpdate,
        acting_user: u64,
        now: Timestamp,
    ) -> Result<Ticket, StoreError> {
        let now = seconds(now);
        let ticket = self.data.tickets.get(&id).ok_or(StoreError::NotFound)?;
        if ticket.status == TicketStatus::Closed {
            return Err(invalid(
                "status",
                "InvalidValue",
                "Status: closed prevents ticket update",
            ));
        }
        let updated_at = now.max(ticket.updated_at);
        if let Some(c) = &update.comment {
            let author = c.author_id.unwrap_or(acting_user);
            self.check_comment(&c.body, author)?;
            self.add_comment(id, &c.body, c.public.unwrap_or(true), author, now)?;
        }
        let ticket = self.data.tickets.get_mut(&id).ok_or(StoreError::NotFound)?;
        if let Some(s) = update.status {
            ticket.status = s;
        }
        if let Some(p) = update.priority {
            ticket.priority = Some(p);
        }
        ticket.updated_at = updated_at;
        Ok(ticket.clone())
    }

    /// `POST /tickets`.
    pub fn create_ticket(
        &mut self,
        new: &NewTicket,
        acting_user: u64,
        now: Timestamp,
    ) -> Result<Ticket, StoreError> {
        let now = seconds(now);
        if self.data.tickets.len() >= MAX_RECORDS {
            return Err(StoreError::Full);
        }
        let requester = new.requester_id.unwrap_or(acting_user);
        if !self.data.users.contains_key(&requester) {
            return Err(invalid(
                "requester",
                "InvalidValue",
                "Requester: is invalid",
            ));
        }
        let author = new.comment.author_id.unwrap_or(acting_user);
        self.check_comment(&new.comment.body, author)?;
        if new
            .subject
            .as_ref()
            .is_some_and(|s| s.chars().count() > 2 * MAX_NAME_CHARS)
        {
            return Err(invalid("subject", "TooLong", "Subject: is too long"));
        }
        if new.tags.len() > MAX_TAGS || new.tags.iter().any(|t| t.len() > 80) {
            return Err(invalid(
                "tags",
                "InvalidValue",
                "Tags: too many or too long",
            ));
        }
        let id = self.next_ticket_id;
        if self.data.tickets.contains_key(&id) {
            return Err(StoreError::Full);
        }
        self.next_ticket_id = id.saturating_add(1);
        let ticket = Ticket {
            id,
            url: None,
            subject: new.subject.clone(),
            description: Some(new.comment.body.clone()),
            status: new.status.unwrap_or(TicketStatus::New),
            priority: new.priority,
            requester_id: requester,
            submitter_id: Some(acting_user),
            assignee_id: None,
            tags: new.tags.clone(),
            created_at: now,
            updated_at: now,
        };
        self.data.tickets.insert(id, ticket.clone());
        self.add_comment(
            id,
            &new.comment.body,
            new.comment.public.unwrap_or(true),
            author,
            now,
        )?;
        Ok(ticket)
    }

    /// `POST /users`. Emails are unique; `shared_phone_number` is recomputed.
    pub fn create_user(&mut self, new: &NewUser, now: Timestamp) -> Result<User, StoreError> {
        let now = seconds(now);
        if self.data.users.len() >= MAX_RECORDS {
            return Err(StoreError::Full);
        }
        let name = new.name.trim();
        if name.is_empty() {
            return Err(invalid("name", "BlankValue", "Name: cannot be blank"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid("name", "TooLong", "Name: is too long"));
        }
        if let Some(e) = &new.email {
            if !e.contains('@') || e.len() > MAX_NAME_CHARS {
                return Err(invalid(
                    "email",
                    "InvalidFormat",
                    format!("Email: {e} is not properly formatted"),
                ));
            }
            if self.data.user_by_email(e).is_some() {
                return Err(invalid(
                    "email",
                    "DuplicateValue",
                    format!("Email: {e} is already being used by another user"),
                ));
            }
        }
        if let Some(p) = &new.phone {
            if p.chars().count() > MAX_PHONE_CHARS || !p.chars().any(|c| c.is_ascii_digit()) {
                return Err(invalid("phone", "InvalidValue", "Phone: is invalid"));
            }
        }
        if new.locale.as_ref().is_some_and(|l| l.len() > 16) {
            return Err(invalid("locale", "InvalidValue", "Locale: is invalid"));
        }
        let id = self.next_user_id;
        if self.data.users.contains_key(&id) {
            return Err(StoreError::Full);
        }
        self.next_user_id = id.saturating_add(1);
        self.data.users.insert(
            id,
            User {
                id,
                url: None,
                name: name.to_owned(),
                email: new.email.clone(),
                phone: new.phone.clone(),
                shared_phone_number: false,
                locale: new.locale.clone(),
                time_zone: None,
                role: new.role.unwrap_or(Role::EndUser),
                active: true,
                created_at: now,
                updated_at: now,
            },
        );
        recompute_shared_phones(&mut self.data.users);
        self.data
            .users
            .get(&id)
            .cloned()
            .ok_or(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{NewComment, NewTicket, NewUser};

    fn store() -> Store {
        Store::new(DataSet::demo().unwrap())
    }

    fn now() -> Timestamp {
        "2025-01-01T00:00:00Z".parse().unwrap()
    }

    fn ids(s: &Store, q: &str, by: Option<SortBy>, o: Option<SortOrder>) -> Vec<u64> {
        let q = query::parse(q).unwrap();
        s.search(&q, false, by, o, now())
            .into_iter()
            .map(|r| match r {
                Record::User(u) => u.id,
                Record::Ticket(t) => t.id,
            })
            .collect()
    }

    #[test]
    fn phone_search_exact_suffix_and_formats() {
        let s = store();
        assert_eq!(
            ids(&s, "role:end-user phone:5511987650101", None, None),
            vec![101]
        );
        assert_eq!(
            ids(&s, "role:end-user phone:5511987650120", None, None),
            vec![103, 104]
        );
        // Stored as "(415) 555-0134": the full E.164 digits do not match, the suffix does.
        assert!(ids(&s, "role:end-user phone:14155550134", None, None).is_empty());
        assert_eq!(
            ids(&s, "role:end-user phone:*4155550134", None, None),
            vec![108]
        );
        assert_eq!(ids(&s, "phone:*5550134", None, None), vec![108]);
        assert!(ids(&s, "phone:+5511987650101", None, None).is_empty());
        assert!(ids(&s, "role:agent phone:5511987650101", None, None).is_empty());
        assert_eq!(ids(&s, "type:user +5511987650101", None, None), vec![101]);
    }

    #[test]
    fn ticket_filters_and_sorts() {
        let s = store();
        let q = "type:ticket status<solved requester:101";
        assert_eq!(
            ids(&s, q, Some(SortBy::UpdatedAt), Some(SortOrder::Desc)),
            vec![2, 3]
        );
        assert_eq!(
            ids(&s, q, Some(SortBy::CreatedAt), Some(SortOrder::Desc)),
            vec![3, 2]
        );
        assert_eq!(ids(&s, q, Some(SortBy::CreatedAt), None), vec![3, 2]);
        assert_eq!(
            ids(
                &s,
                "type:ticket requester:101",
                Some(SortBy::UpdatedAt),
                None
            ),
            vec![4, 2, 3]
        );
        assert_eq!(
            ids(&s, "type:ticket -status:closed requester:106", None, None),
            vec![8]
        );
        assert_eq!(ids(&s, "type:ticket status:hold", None, None), vec![5, 14]);
        assert_eq!(
            ids(
                &s,
                "type:ticket status<solved priority>=high",
                Some(SortBy::Priority),
                Some(SortOrder::Desc)
            ),
            vec![5, 10, 17, 2, 14]
        );
        assert_eq!(
            ids(
                &s,
                "type:ticket requester:107",
                Some(SortBy::Priority),
                Some(SortOrder::Asc)
            ),
            vec![11, 10]
        );
        assert_eq!(
            ids(
                &s,
                "type:ticket requester:111",
                Some(SortBy::Status),
                Some(SortOrder::Asc)
            ),
            vec![15, 16]
        );
        assert_eq!(
            ids(
                &s,
                "type:ticket requester:john.carter@example.com",
                None,
                None
            ),
            vec![10, 11]
        );
        assert_eq!(
            ids(&s, "type:ticket updated>2024-06-19", None, None),
            vec![4, 10, 17]
        );
        assert!(ids(&s, "type:ticket created>72hours", None, None).is_empty());
    }

    #[test]
    fn hostile_queries_do_not_widen() {
        let s = store();
        assert!(ids(&s, "1 type:ticket", None, None).is_empty());
        assert!(ids(&s, "type:user +", None, None).is_empty());
        assert!(ids(&s, "type:user ção", None, None).is_empty());
        assert!(ids(&s, "type:user secret:1", None, None).is_empty());
        assert!(ids(&s, "type:ticket type:user", None, None).is_empty());
        assert_eq!(ids(&s, "name:ana", None, None), vec![101]);
        assert_eq!(ids(&s, "name:patr*", None, None), vec![112]);
        assert!(ids(&s, "name:checkout", None, None).is_empty());
        assert_eq!(ids(&s, "subject:checkout", None, None), vec![10]);
        assert_eq!(ids(&s, "type:ticket checkout", None, None), vec![10]);
        assert_eq!(ids(&s, "type:user carla", None, None), vec![103]);
    }

    #[test]
    fn huge_ids_in_a_data_file_do_not_overflow() {
        let text = r#"{"users":[{"id":18446744073709551615,"name":"Max","created_at":"2024-01-01T00:00:00Z"}],
            "tickets":[{"id":18446744073709551615,"status":"open","requester_id":18446744073709551615,
              "created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z",
              "comments":[{"body":"x","author_id":18446744073709551615,"created_at":"2024-01-01T00:00:00Z"}]}]}"#;
        let mut s = Store::new(DataSet::parse("big.json", text).unwrap());
        let new = NewTicket {
            subject: None,
            comment: NewComment {
                body: "b".into(),
                public: None,
                author_id: None,
            },
            requester_id: None,
            status: None,
            priority: None,
            tags: vec![],
        };
        assert_eq!(
            s.create_ticket(&new, u64::MAX, now()),
            Err(StoreError::Full)
        );
        let user = NewUser {
            name: "N".into(),
            email: None,
            phone: None,
            role: None,
            locale: None,
        };
        assert_eq!(s.create_user(&user, now()), Err(StoreError::Full));
    }

    #[test]
    fn updates_store_comments_and_bump_updated_at() {
        let mut s = store();
        let before = s.ticket(2).unwrap().updated_at;
        let upd = TicketUpdate {
            comment: Some(NewComment {
                body: "Caller checked status by phone.".into(),
                public: Some(false),
                author_id: None,
            }),
            status: Some(TicketStatus::Pending),
            priority: None,
        };
        let t = s.update_ticket(2, &upd, 1, now()).unwrap();
        assert_eq!(t.status, TicketStatus::Pending);
        assert!(t.updated_at > before);
        let c = s.comments(2).unwrap().last().unwrap().clone();
        assert_eq!(c.body, "Caller checked status by phone.");
        assert!(!c.public);
        assert_eq!(c.author_id, 1);
        assert_eq!(
            s.update_ticket(999, &upd, 1, now()),
            Err(StoreError::NotFound)
        );
        assert!(matches!(
            s.update_ticket(9, &upd, 1, now()),
            Err(StoreError::Invalid {
                field: "status",
                ..
            })
        ));
    }
}
