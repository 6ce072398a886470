//! The sandbox over real HTTP with the typed client: auth schemes, phone search, ticket
//! search filters and sort, comments stored and read back, OAuth tokens and expiry.

mod common;

use base64::Engine as _;
use common::*;
use ringdesk_zendesk::sandbox::SandboxConfig;
use ringdesk_zendesk::types::{
    NewComment, NewTicket, NewUser, Priority, SortBy, SortOrder, TicketStatus,
};
use ringdesk_zendesk::{bearer_authorization, Secret, ZendeskClient, ZendeskError};
use serde_json::Value;

#[tokio::test]
async fn api_token_auth_and_401_bodies() {
    let sb = demo().await;
    let me = client(&sb).me().await.unwrap();
    assert_eq!(me.email.as_deref(), Some("admin@ringdesk.example"));

    let url = format!("{}/api/v2/users/me.json", sb.base_url());
    let tok = &demo_data().credentials.api_tokens[0];
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let refused = [
        None,
        Some(format!(
            "Basic {}",
            b64(format!("{}/token:wrong", tok.email))
        )),
        // email + password (the password being the token, even) is refused.
        Some(format!(
            "Basic {}",
            b64(format!("{}:{}", tok.email, tok.token.expose()))
        )),
        Some("Basic %%%".to_owned()),
    ];
    for auth in refused {
        let mut req = http().get(&url);
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": "Couldn't authenticate you"})
        );
    }

    let bad = ZendeskClient::new(&sb.base_url(), &Secret::new("Bearer not-issued")).unwrap();
    match bad.me().await {
        Err(ZendeskError::Status {
            status: 401,
            body: Some(b),
            ..
        }) => {
            assert_eq!(b.code(), "invalid_token")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sb.stats().unauthorized, 5);
    sb.shutdown().await.unwrap();
}

#[tokio::test]
async fn phone_search_with_star_rule_and_non_e164_number() {
    let sb = demo().await;
    let c = client(&sb);
    let ids =
        |v: Vec<ringdesk_zendesk::types::User>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(
        ids(c.search_users_by_phone("5511987650101").await.unwrap()),
        vec![101]
    );
    let shared = c.search_users_by_phone("5511987650120").await.unwrap();
    assert_eq!(ids(shared.clone()), vec![103, 104]);
    assert!(shared.iter().all(|u| u.shared_phone_number));
    // Mary's number is stored as "(415) 555-0134".
    assert!(c
        .search_users_by_phone("14155550134")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(c.search_users_by_phone("*4155550134").await.unwrap()),
        vec![108]
    );
    assert!(c
        .search_users_by_phone("5599999999999")
        .await
        .unwrap()
        .is_empty());

    // The users search endpoint with the template's free-text form.
    let r: Value = http()
        .get(format!("{}/api/v2/users/search.json", sb.base_url()))
        .query(&[("query", "type:user +12125550107")])
        .header("authorization", token_auth().expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["count"], 1);
    assert_eq!(r["users"][0]["id"], 107);
    assert_eq!(r["users"][0]["name"], "John Carter");
    sb.shutdown().await.unwrap();
}

#[tokio::test]
async fn ticket_search_filters_sort_and_paging() {
    let sb = demo().await;
    let c = client(&sb);
    let q = "type:ticket status<solved requester:101";
    let by_updated = c
        .search(q, Some(SortBy::UpdatedAt), Some(SortOrder::Desc))
        .await
        .unwrap();
    let first = by_updated.tickets().next().unwrap();
    assert_eq!(first.id, 2, "most recently updated unsolved");
    assert_eq!(by_updated.count, 2);
    assert_eq!(by_updated.next_page, None);
    assert_eq!(by_updated.facets, None);
    let by_created = c
        .search(q, Some(SortBy::CreatedAt), Some(SortOrder::Desc))
        .await
        .unwrap();
    assert_eq!(
        by_created.tickets().next().unwrap().id,
        3,
        "most recently created"
    );

    let none = c
        .search("type:ticket status<solved requester:106", None, None)
        .await
        .unwrap();
    assert_eq!(none.count, 0);
    let hold = c
        .search("type:ticket -status:open requester:102", None, None)
        .await
        .unwrap();
    assert_eq!(
        hold.tickets().map(|t| t.status).collect::<Vec<_>>(),
        vec![TicketStatus::Hold]
    );

    // Paging: 2 per page over all unsolved tickets.
    let url = format!("{}/api/v2/search.json", sb.base_url());
    let page1: Value = http()
        .get(&url)
        .query(&[
            ("query", "type:ticket status<solved"),
            ("per_page", "2"),
            ("sort_by", "priority"),
        ])
        .header("authorization", token_auth().expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page1["results"].as_array().unwrap().len(), 2);
    assert_eq!(page1["results"][0]["priority"], "urgent");
    assert_eq!(page1["results"][0]["result_type"], "ticket");
    let next = page1["next_page"].as_str().unwrap().to_owned();
    assert!(next.starts_with(&sb.base_url()), "{next}");
    let page2: Value = http()
        .get(&next)
        .header("authorization", token_auth().expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page2["count"], page1["count"]);
    assert_ne!(page2["results"][0]["id"], page1["results"][0]["id"]);
    assert!(page2["previous_page"].is_string());

    // Unknown sort key and too-deep paging are refused like Zendesk does.
    let bad = http()
        .get(&url)
        .query(&[("query", "type:ticket"), ("sort_by", "mood")])
        .header("authorization", token_auth().expose())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let deep = http()
        .get(&url)
        .query(&[("query", "type:ticket"), ("page", "11")])
        .header("authorization", token_auth().expose())
        .send()
        .await
        .unwrap();
    assert_eq!(deep.status(), 422);
    sb.shutdown().await.unwrap();
}

#[tokio::test]
async fn comments_are_stored_with_their_public_flag() {
    let sb = demo().await;
    let c = client(&sb);
    let before = c.ticket(2).await.unwrap();
    let n = c.ticket_comments(2).await.unwrap().count;

    let t = c
        .add_comment(2, "Caller heard the status; no agent needed.", false)
        .await
        .unwrap();
    assert!(t.updated_at > before.updated_at);
    let comments = c.ticket_comments(2).await.unwrap();
    assert_eq!(comments.count, n + 1);
    let last = comments.comments.last().unwrap();
    assert_eq!(last.body, "Caller heard the status; no agent needed.");
    assert!(!last.public);
    assert_eq!(last.author_id, 1);

    // Without "public", Zendesk's default is a public comment.
    let resp = http()
        .put(format!("{}/api/v2/tickets/2.json", sb.base_url()))
        .header("authorization", token_auth().expose())
        .json(&serde_json::json!({"ticket": {"comment": {"body": "Public reply"}, "status": "pending"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let stored = sb.comments(2).unwrap();
    assert!(stored.last().unwrap().public);
    assert_eq!(sb.ticket(2).unwrap().status, TicketStatus::Pending);

    // Unknown ticket: Zendesk's 404 body. Closed ticket: 422.
    match c.add_comment(999_999, "x", false).await {
        Err(ZendeskError::Status {
            status: 404,
            body: Some(b),
            ..
        }) => {
            assert_eq!(b.code(), "RecordNotFound");
            assert_eq!(b.description.as_deref(), Some("Not found"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.add_comment(9, "x", false).await.unwrap_err().status(),
        Some(422)
    );
    assert_eq!(sb.stats().endpoint("PUT /api/v2/tickets/{id}.json"), 4);
    sb.shutdown().await.unwrap();
}

#[tokio::test]
async fn create_ticket_and_user_then_find_them() {
    let sb = demo().await;
    let c = client(&sb);
    let u = c
        .create_user(&NewUser {
            name: "Nova Cliente".into(),
            email: Some("nova@example.com".into()),
            phone: Some("+5511987650199".into()),
            role: None,
            locale: Some("pt-BR".into()),
        })
        .await
        .unwrap();
    assert_eq!(
        c.search_users_by_phone("5511987650199").await.unwrap()[0].id,
        u.id
    );
    let dup = c
        .create_user(&NewUser {
            name: "Again".into(),
            email: Some("NOVA@example.com".into()),
            phone: None,
            role: None,
            locale: None,
        })
        .await
        .unwrap_err();
    assert_eq!(dup.status(), Some(422));

    let t = c
        .create_ticket(&NewTicket {
            subject: Some("Call back".into()),
            comment: NewComment {
                body: "Please call me back.".into(),
                public: None,
                author_id: None,
            },
            requester_id: Some(u.id),
            status: None,
            priority: Some(Priority::High),
            tags: vec![],
        })
        .await
        .unwrap();
    assert_eq!(t.status, TicketStatus::New);
    let found = c.requested_tickets(u.id).await.unwrap();
    assert_eq!(
        found.tickets.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![t.id]
    );
    assert_eq!(c.ticket(t.id).await.unwrap().priority, Some(Priority::High));
    assert_eq!(sb.comments(t.id).unwrap().len(), 1);
    assert!(c
        .requested_tickets(424_242)
        .await
        .unwrap_err()
        .is_not_found());
    sb.shutdown().await.unwrap();
}

#[tokio::test]
async fn oauth_client_credentials_issue_expire_refresh() {
    let sb = start(SandboxConfig {
        oauth_token_expires_in_secs: 600,
        ..SandboxConfig::default()
    })
    .await;
    let creds = demo_data().credentials.oauth_clients[0].clone();
    let tok = ZendeskClient::oauth_client_credentials(
        &http(),
        &sb.base_url(),
        &creds.client_id,
        &creds.client_secret,
        None,
    )
    .await
    .unwrap();
    assert_eq!(tok.token_type, "bearer");
    assert_eq!(tok.expires_in, Some(600));
    assert!(!format!("{tok:?}").contains(tok.access_token.expose()));
    let c = ZendeskClient::new(&sb.base_url(), &bearer_authorization(&tok.access_token)).unwrap();
    assert_eq!(c.me().await.unwrap().id, 1);

    sb.expire_oauth_tokens();
    assert_eq!(c.me().await.unwrap_err().status(), Some(401));

    // Refresh with a form-encoded body this time.
    let form: Value = http()
        .post(format!("{}/oauth/tokens", sb.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.client_secret.expose()),
            ("expires_in", "60"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(form["expires_in"], 60);
    let fresh = Secret::new(form["access_token"].as_str().unwrap());
    let c = c.with_authorization(&bearer_authorization(&fresh)).unwrap();
    assert_eq!(c.me().await.unwrap().id, 1);

    let wrong = ZendeskClient::oauth_client_credentials(
        &http(),
        &sb.base_url(),
        &creds.client_id,
        &Secret::new("nope"),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(wrong.status(), Some(401));
    let grant: Value = http()
        .post(format!("{}/oauth/tokens", sb.base_url()))
        .json(
            &serde_json::json!({"grant_type": "password", "client_id": "x", "client_secret": "y"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(grant["error"], "unsupported_grant_type");
    sb.shutdown().await.unwrap();
}

#[tokio::test]
async fn zero_lifetime_tokens_expire_at_once() {
    let sb = start(SandboxConfig {
        oauth_token_expires_in_secs: 0,
        ..SandboxConfig::default()
    })
    .await;
    let creds = demo_data().credentials.oauth_clients[0].clone();
    let tok = ZendeskClient::oauth_client_credentials(
        &http(),
        &sb.base_url(),
        &creds.client_id,
        &creds.client_secret,
        None,
    )
    .await
    .unwrap();
    assert_eq!(tok.expires_in, Some(0));
    let c = ZendeskClient::new(&sb.base_url(), &bearer_authorization(&tok.access_token)).unwrap();
    assert_eq!(c.me().await.unwrap_err().status(), Some(401));
    sb.shutdown().await.unwrap();
}
