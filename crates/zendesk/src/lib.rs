//! Zendesk API types, a typed client, and the Zendesk-compatible sandbox server.
