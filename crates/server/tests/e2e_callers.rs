//! End-to-end: known, unknown, anonymous and ambiguous callers through the default flow,
//! run by the real `ringdesk` binary against an in-process Zendesk sandbox over HTTP.
//! Checks what the caller hears (text and language), the searches sent, and the queue
//! priority derived from the ticket.

mod common;

use common::{call, demo_customer_names, Sandbox};
use ringdesk_zendesk::types::{Priority, TicketStatus};

const ANA: &str = "+5511987650101"; // 101, pt-BR, tickets 2 (open), 3 (pending), 4 (solved)
const BRUNO: &str = "+5521987650102"; // 102, pt-BR, ticket 5 (hold, urgent)
const SHARED: &str = "+5511987650120"; // 103 and 104 share it
const EDUARDO: &str = "+5531987650105"; // 105, no ticket at all
const FERNANDA: &str = "+5511987650106"; // 106, only solved and closed tickets
const JOHN: &str = "+12125550107"; // 107, en-US, tickets 10 (open, urgent), 11 (pending)
const MARY: &str = "+14155550134"; // 108, stored as "(415) 555-0134"
const LINDA: &str = "+16175550110"; // 110, en-US, ticket 14 (hold, high)
const UNKNOWN: &str = "+12125550199";

fn status_words_en(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::New => "new",
        TicketStatus::Open => "open",
        TicketStatus::Pending => "waiting for your reply",
        TicketStatus::Hold => "in progress",
        TicketStatus::Solved => "solved",
        TicketStatus::Closed => "closed",
    }
}

fn status_words_pt(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::New => "novo",
        TicketStatus::Open => "aberto",
        TicketStatus::Pending => "aguardando a sua resposta",
        TicketStatus::Hold => "em andamento",
        TicketStatus::Solved => "resolvido",
        TicketStatus::Closed => "encerrado",
    }
}

const UNSOLVED: [TicketStatus; 4] = [
    TicketStatus::New,
    TicketStatus::Open,
    TicketStatus::Pending,
    TicketStatus::Hold,
];

fn set_status(data: &mut ringdesk_zendesk::sandbox::DataSet, id: u64, status: TicketStatus) {
    data.tickets
        .get_mut(&id)
        .unwrap_or_else(|| panic!("demo ticket {id}"))
        .status = status;
}

/// Asserts the searches of a recognized caller: the user by phone digits, then their
/// unsolved tickets, most recently updated first.
fn assert_known_caller_searches(sb: &Sandbox, digits: &str, user_id: u64) {
    let searches: Vec<_> = sb
        .api_requests()
        .into_iter()
        .filter(|r| r.path == "/api/v2/search.json")
        .collect();
    assert_eq!(searches.len(), 2, "{searches:?}");
    assert_eq!(
        searches[0].query_pairs(),
        vec![("query".to_string(), format!("role:end-user phone:{digits}"))]
    );
    let mut ticket_query = searches[1].query_pairs();
    ticket_query.sort();
    assert_eq!(
        ticket_query,
        vec![
            (
                "query".to_string(),
                format!("type:ticket status<solved requester:{user_id}")
            ),
            ("sort_by".to_string(), "updated_at".to_string()),
            ("sort_order".to_string(), "desc".to_string()),
        ]
    );
    assert!(
        searches.iter().all(|r| r.status == Some(200)),
        "{searches:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_unsolved_status_is_spoken_in_english() {
    for status in UNSOLVED {
        let sb = Sandbox::with_data(|d| {
            set_status(d, 10, status);
            set_status(d, 11, TicketStatus::Closed);
        })
        .await;
        let out = call(JOHN).press("2").run(&sb).await;
        out.assert_completed();
        assert_known_caller_searches(&sb, "12125550107", 107);
        let told = out.transcript.plays_of("tell_status");
        assert_eq!(told.len(), 1, "{status:?}: {}", out.stdout);
        let p = &told[0];
        assert_eq!(p.language.as_deref(), Some("en-US"));
        assert!(p.text.contains("John Carter"), "{}", p.text);
        assert!(p.text.contains("ticket number 10 "), "{}", p.text);
        let words = status_words_en(status);
        assert!(
            p.text.ends_with(&format!(" is {words}.")),
            "{status:?} spoken as {:?}",
            p.text
        );
        assert!(
            !p.text.to_lowercase().contains("hold"),
            "internal status read aloud: {}",
            p.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_unsolved_status_is_spoken_in_portuguese() {
    for status in UNSOLVED {
        let sb = Sandbox::with_data(|d| {
            set_status(d, 2, status);
            set_status(d, 3, TicketStatus::Closed);
        })
        .await;
        let out = call(ANA).press("2").run(&sb).await;
        out.assert_completed();
        assert_known_caller_searches(&sb, "5511987650101", 101);
        let told = out.transcript.plays_of("tell_status");
        assert_eq!(told.len(), 1, "{status:?}: {}", out.stdout);
        let p = &told[0];
        assert_eq!(p.language.as_deref(), Some("pt-BR"));
        assert!(p.text.contains("Ana Souza"), "{}", p.text);
        assert!(p.text.contains("número 2 "), "{}", p.text);
        let words = status_words_pt(status);
        assert!(
            p.text.ends_with(&format!(" está {words}.")),
            "{status:?} spoken as {:?}",
            p.text
        );
        assert!(!p.text.to_lowercase().contains("hold"), "{}", p.text);
        // The menu that follows speaks the caller's language too.
        let menu = out.transcript.plays_of("menu");
        assert!(!menu.is_empty());
        assert!(menu
            .iter()
            .all(|m| m.language.as_deref() == Some("pt-BR") && m.text.starts_with("Tecle 1")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_is_spoken_as_in_progress_with_demo_data() {
    let sb = Sandbox::start().await;
    let en = call(LINDA).press("2").run(&sb).await;
    en.assert_completed();
    let p = &en.transcript.plays_of("tell_status")[0];
    assert_eq!(p.language.as_deref(), Some("en-US"));
    assert!(p.text.contains("Linda Garcia") && p.text.contains("number 14 "));
    assert!(p.text.ends_with("is in progress."), "{}", p.text);

    let pt = call(BRUNO).press("2").run(&sb).await;
    pt.assert_completed();
    let p = &pt.transcript.plays_of("tell_status")[0];
    assert_eq!(p.language.as_deref(), Some("pt-BR"));
    assert!(p.text.contains("Bruno Lima") && p.text.contains("número 5 "));
    assert!(p.text.ends_with("está em andamento."), "{}", p.text);
    for p in en
        .transcript
        .plays()
        .iter()
        .chain(pt.transcript.plays().iter())
    {
        if p.node != "apologize" {
            assert!(!p.text.to_lowercase().contains("hold"), "{p:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solved_and_closed_tickets_are_not_unsolved() {
    // English: both of John's tickets solved or closed.
    for status in [TicketStatus::Solved, TicketStatus::Closed] {
        let sb = Sandbox::with_data(|d| {
            set_status(d, 10, status);
            set_status(d, 11, TicketStatus::Closed);
        })
        .await;
        let out = call(JOHN).press("2").run(&sb).await;
        out.assert_completed();
        assert_known_caller_searches(&sb, "12125550107", 107);
        assert!(out.transcript.plays_of("tell_status").is_empty());
        let none = out.transcript.plays_of("no_ticket");
        assert_eq!(none.len(), 1, "{status:?}: {}", out.stdout);
        assert_eq!(
            none[0].text,
            "Hello John Carter. We found no open ticket for you."
        );
        let heard = out.transcript.heard();
        assert!(!heard.contains(status_words_en(status)), "{heard}");
        // No note: there is no ticket to write it on.
        assert!(out.transcript.http().iter().all(|h| h.method == "GET"));
    }
    // Portuguese: Fernanda has one solved and one closed ticket in the demo data.
    let sb = Sandbox::start().await;
    let out = call(FERNANDA).press("2").run(&sb).await;
    out.assert_completed();
    assert_known_caller_searches(&sb, "5511987650106", 106);
    let none = out.transcript.plays_of("no_ticket");
    assert_eq!(none.len(), 1, "{}", out.stdout);
    assert_eq!(none[0].language.as_deref(), Some("pt-BR"));
    assert_eq!(
        none[0].text,
        "Olá Fernanda Alves. Não encontramos nenhum chamado em aberto para você."
    );
    assert_eq!(sb.state().comments(8).map(|c| c.len()), Some(1));
    assert_eq!(sb.state().comments(9).map(|c| c.len()), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_caller_without_any_ticket() {
    let sb = Sandbox::start().await;
    let out = call(EDUARDO).press("2").run(&sb).await;
    out.assert_completed();
    assert_known_caller_searches(&sb, "5531987650105", 105);
    let none = out.transcript.plays_of("no_ticket");
    assert_eq!(none.len(), 1, "{}", out.stdout);
    assert_eq!(none[0].language.as_deref(), Some("pt-BR"));
    assert!(none[0].text.starts_with("Olá Eduardo Rocha."));
    assert_eq!(out.transcript.variable("caller_kind"), Some("known".into()));
    assert!(sb.api_requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_caller_hears_nothing_personal() {
    let sb = Sandbox::start().await;
    let out = call(UNKNOWN).press("2").run(&sb).await;
    out.assert_completed();
    assert_eq!(
        sb.search_queries(),
        vec![
            "role:end-user phone:12125550199".to_string(),
            "role:end-user phone:*2125550199".to_string()
        ]
    );
    let unknown = out.transcript.plays_of("say_unknown");
    assert_eq!(unknown.len(), 1, "{}", out.stdout);
    assert_eq!(
        unknown[0].text,
        "We could not identify you by your phone number."
    );
    let heard = out.transcript.heard();
    for (_, name) in demo_customer_names() {
        assert!(!heard.contains(&name), "{name} spoken: {heard}");
    }
    assert!(!heard.contains("ticket number"), "{heard}");
    assert_eq!(
        out.transcript.variable("caller_kind"),
        Some("unknown".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_caller_sends_no_query_at_all() {
    let sb = Sandbox::start().await;
    for ani in ["anonymous", "Anonymous", "", "withheld", "unknown"] {
        let out = call(ani).press("2").run(&sb).await;
        out.assert_completed();
        assert!(out.transcript.http().is_empty(), "{ani:?}: {}", out.stdout);
        assert_eq!(out.transcript.plays_of("say_unknown").len(), 1, "{ani:?}");
        assert!(out.transcript.visited("unknown_caller"));
        assert!(!out.transcript.visited("lookup_user"));
    }
    assert!(sb.api_requests().is_empty(), "{:?}", sb.api_requests());
    assert_eq!(sb.state().stats().total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_number_says_nothing_personal() {
    let sb = Sandbox::start().await;
    let out = call(SHARED)
        .press("1")
        .answer_after("1s")
        .talk("1s")
        .run(&sb)
        .await;
    out.assert_completed();
    // One user search, and no ticket search for either of the two users.
    assert_eq!(
        sb.search_queries(),
        vec!["role:end-user phone:5511987650120".to_string()]
    );
    let heard = out.transcript.heard();
    for name in ["Carla", "Diego", "Mendes"] {
        assert!(!heard.contains(name), "{name} spoken: {heard}");
    }
    assert!(
        !heard.contains("número") && !heard.contains("ticket number"),
        "{heard}"
    );
    assert_eq!(out.transcript.plays_of("say_unknown").len(), 1);
    assert_eq!(
        out.transcript.variable("caller_kind"),
        Some("ambiguous".into())
    );
    // Normal priority, and no note on either user's ticket.
    let q = out.transcript.queues();
    assert_eq!(q.first().map(|q| q.priority), Some(5), "{q:?}");
    assert_eq!(sb.state().comments(6).map(|c| c.len()), Some(1));
    assert_eq!(sb.state().comments(7).map(|c| c.len()), Some(1));
    assert!(sb.api_requests().iter().all(|r| r.method == "GET"));
}

/// Mary's number is stored as "(415) 555-0134": the E.164 search finds nobody, the
/// national-number fallback (`phone:*4155550134`) finds exactly her.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_e164_stored_number_is_found_by_its_national_number() {
    let sb = Sandbox::start().await;
    let out = call(MARY).press("2").run(&sb).await;
    out.assert_completed();
    assert_eq!(
        sb.search_queries()[..2],
        [
            "role:end-user phone:14155550134".to_string(),
            "role:end-user phone:*4155550134".to_string()
        ]
    );
    let p = &out.transcript.plays_of("tell_status")[0];
    assert_eq!(p.text, "Hello Mary Johnson. Your ticket number 12 is open.");
    // Nobody else's data is spoken.
    let heard = out.transcript.heard();
    for (id, name) in demo_customer_names() {
        if id != 108 {
            assert!(!heard.contains(&name), "{name} spoken: {heard}");
        }
    }
    // The note went to her ticket, privately.
    let notes = sb.state().comments(12).unwrap_or_default();
    assert!(notes.last().is_some_and(|c| !c.public), "{notes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn most_recently_updated_unsolved_ticket_is_chosen() {
    // Demo data: ticket 2 (open) updated last among the unsolved; 3 created last; 4 solved
    // but updated last of all.
    let sb = Sandbox::start().await;
    let out = call(ANA).press("2").run(&sb).await;
    out.assert_completed();
    assert_eq!(out.transcript.variable("ticket_id"), Some("2".into()));
    let p = &out.transcript.plays_of("tell_status")[0];
    assert!(p.text.contains("número 2 está aberto."), "{}", p.text);

    // Touch ticket 3 so that it becomes the most recently updated unsolved one.
    let sb = Sandbox::with_data(|d| {
        let t2 = d.tickets.get(&2).map(|t| t.updated_at).expect("ticket 2");
        let t3 = d.tickets.get_mut(&3).expect("ticket 3");
        t3.updated_at = t2
            .checked_add(jiff::SignedDuration::from_hours(1))
            .expect("timestamp");
    })
    .await;
    let out = call(ANA).press("2").run(&sb).await;
    out.assert_completed();
    assert_eq!(out.transcript.variable("ticket_id"), Some("3".into()));
    let p = &out.transcript.plays_of("tell_status")[0];
    assert!(
        p.text.contains("número 3 está aguardando a sua resposta."),
        "{}",
        p.text
    );
}

/// Ticket priority decides queue priority (1 highest): urgent 1, high 3, normal 5, low 7,
/// none 5; unknown callers 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_priority_sets_queue_priority() {
    let cases: [(&str, Option<Priority>, u64); 5] = [
        (JOHN, Some(Priority::Urgent), 1),
        (JOHN, Some(Priority::High), 3),
        (JOHN, Some(Priority::Normal), 5),
        (JOHN, Some(Priority::Low), 7),
        (JOHN, None, 5),
    ];
    for (from, priority, want) in cases {
        let sb = Sandbox::with_data(|d| {
            if let Some(t) = d.tickets.get_mut(&10) {
                t.priority = priority;
            }
        })
        .await;
        let out = call(from)
            .press("1")
            .answer_after("1s")
            .talk("1s")
            .run(&sb)
            .await;
        out.assert_completed();
        let q = out.transcript.queues();
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(q[0].node, "queue_caller");
        assert_eq!(q[0].queue, "support");
        assert_eq!(q[0].result, "queued");
        assert_eq!(q[0].priority, want, "ticket priority {priority:?}");
    }
    // With the demo data: urgent on hold (Bruno) and urgent open (John) go first.
    let sb = Sandbox::start().await;
    for from in [BRUNO, JOHN] {
        let out = call(from)
            .press("1")
            .answer_after("1s")
            .talk("1s")
            .run(&sb)
            .await;
        out.assert_completed();
        assert_eq!(out.transcript.queues()[0].priority, 1, "{from}");
    }
    let out = call(UNKNOWN)
        .press("1")
        .answer_after("1s")
        .talk("1s")
        .run(&sb)
        .await;
    out.assert_completed();
    assert_eq!(out.transcript.queues()[0].priority, 5);
}
