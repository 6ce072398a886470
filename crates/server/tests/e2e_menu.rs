//! End-to-end: the keypad menu and what follows it through the real binary: bounded
//! retries on silence and invalid keys, hanging up with 2 (goodbye, disconnect and a
//! private note on the right ticket, read back from the sandbox), waiting for an agent
//! with 1 (queue and music on hold), and the no-agent path.

mod common;

use common::{call, Sandbox};
use ringdesk_zendesk::types::Comment;

const ANA: &str = "+5511987650101"; // 101, pt-BR, most recently updated unsolved: ticket 2
const JOHN: &str = "+12125550107"; // 107, en-US, ticket 10 (urgent)
const UNKNOWN: &str = "+12125550199";

/// Comments added to `ticket` since `before` comments existed.
fn new_comments(sb: &Sandbox, ticket: u64, before: usize) -> Vec<Comment> {
    sb.state()
        .comments(ticket)
        .unwrap_or_default()
        .into_iter()
        .skip(before)
        .collect()
}

fn comment_count(sb: &Sandbox, ticket: u64) -> usize {
    sb.state().comments(ticket).map_or(0, |c| c.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_until_the_retry_limit_then_the_queue() {
    let sb = Sandbox::start().await;
    let out = call(JOHN).answer_after("1s").talk("1s").run(&sb).await;
    out.assert_completed();
    let t = &out.transcript;
    let menu = t.plays_of("menu");
    // The first prompt, then one re-prompt per retry (2), each saying it heard nothing.
    assert_eq!(menu.len(), 3, "{}", out.stdout);
    assert_eq!(
        menu[0].text,
        "Press 1 to speak with an agent, or 2 to hang up."
    );
    for p in &menu[1..] {
        assert!(
            p.text.starts_with("Sorry, we did not hear your choice."),
            "{}",
            p.text
        );
    }
    assert!(t.visited("menu_default"), "{}", out.stdout);
    assert!(t.of_kind("key").is_empty());
    let q = t.queues();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0].result, "queued");
    assert_eq!(q[0].priority, 1, "John's urgent ticket keeps its priority");
    assert!(t.visited("agent_answered"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_keys_until_the_retry_limit_then_the_queue() {
    let sb = Sandbox::start().await;
    let before = comment_count(&sb, 2);
    let out = call(ANA)
        .press("9, 7, *")
        .answer_after("1s")
        .talk("1s")
        .run(&sb)
        .await;
    out.assert_completed();
    let t = &out.transcript;
    let menu = t.plays_of("menu");
    assert_eq!(menu.len(), 3, "{}", out.stdout);
    assert!(menu.iter().all(|p| p.language.as_deref() == Some("pt-BR")));
    for p in &menu[1..] {
        assert!(
            p.text.starts_with("Desculpe, essa opção não é válida."),
            "{}",
            p.text
        );
    }
    assert_eq!(t.of_kind("key").len(), 3);
    assert!(t.visited("menu_default"));
    assert!(!t.visited("caller_hangs_up"));
    let q = t.queues();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0].priority, 3, "Ana's high-priority ticket");
    // The note records the keys and the default taken.
    let note = new_comments(&sb, 2, before);
    assert_eq!(note.len(), 1, "{note:?}");
    assert!(!note[0].public);
    assert!(note[0].body.contains("9"), "{}", note[0].body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_then_valid_key_is_accepted_within_the_retries() {
    let sb = Sandbox::start().await;
    let out = call(JOHN).press("5, 2").run(&sb).await;
    out.assert_completed();
    let t = &out.transcript;
    assert_eq!(t.plays_of("menu").len(), 2, "{}", out.stdout);
    assert!(t.visited("caller_hangs_up"));
    assert!(!t.visited("menu_default"));
    assert!(t.queues().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_2_says_goodbye_disconnects_and_writes_a_private_note() {
    let sb = Sandbox::start().await;
    let counts: Vec<(u64, usize)> = (2..=17).map(|id| (id, comment_count(&sb, id))).collect();
    let updated_before = sb.state().ticket(2).map(|t| t.updated_at);
    let out = call(ANA).press("2").run(&sb).await;
    out.assert_completed();
    let t = &out.transcript;
    let bye = t.plays_of("goodbye");
    assert_eq!(bye.len(), 1, "{}", out.stdout);
    assert_eq!(bye[0].language.as_deref(), Some("pt-BR"));
    assert_eq!(bye[0].text, "Obrigado pela sua ligação. Até logo.");
    let disconnect = t.of_kind("disconnect");
    assert_eq!(disconnect.len(), 1, "{}", out.stdout);
    assert!(t.queues().is_empty(), "pressing 2 must not queue");
    // The goodbye comes before the disconnect, the note after it.
    let kinds = t.kinds();
    let pos = |k: &str| kinds.iter().position(|x| x == k);
    assert!(pos("disconnect") < pos("handler"), "{kinds:?}");

    // One PUT on ticket 2, nothing else written.
    let puts: Vec<_> = sb
        .api_requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(puts[0].method, "PUT");
    assert_eq!(puts[0].path, "/api/v2/tickets/2.json");
    assert_eq!(puts[0].status, Some(200));
    for (id, before) in counts {
        let now = comment_count(&sb, id);
        if id == 2 {
            assert_eq!(now, before + 1, "ticket 2 got one note");
        } else {
            assert_eq!(now, before, "ticket {id} must not change");
        }
    }
    let note = sb
        .state()
        .comments(2)
        .and_then(|c| c.last().cloned())
        .expect("a note on ticket 2");
    assert!(!note.public, "the note must be private: {note:?}");
    assert_eq!(note.author_id, 1, "authored by the API user");
    // Facts: the number, the key, the status told (in the caller's language), the outcome.
    for fact in ["5511987650101", "Teclas: 2", "aberto"] {
        assert!(note.body.contains(fact), "{fact:?} missing: {}", note.body);
    }
    assert!(
        ["escolheu desligar", "chose to hang up"]
            .iter()
            .any(|o| note.body.contains(o)),
        "outcome missing: {}",
        note.body
    );
    assert!(sb.state().ticket(2).map(|t| t.updated_at) > updated_before);
    // Read back through the API as well.
    let status = sb
        .api_requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v2/tickets/"))
        .count();
    assert_eq!(status, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_1_queues_with_music_then_the_agent_and_a_note() {
    let sb = Sandbox::start().await;
    let before = comment_count(&sb, 10);
    let out = call(JOHN)
        .press("1")
        .answer_after("45s")
        .talk("10s")
        .run(&sb)
        .await;
    out.assert_completed();
    let t = &out.transcript;
    let q = t.queues();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(
        (
            q[0].node.as_str(),
            q[0].queue.as_str(),
            q[0].result.as_str()
        ),
        ("queue_caller", "support", "queued")
    );
    let music = t.of_kind("music");
    assert!(!music.is_empty(), "{}", out.stdout);
    assert!(music
        .iter()
        .all(|m| m.get("file").and_then(|f| f.as_str()) == Some("defaultmusic_on_hold.wav")));
    // 45 s of waiting: one round of music (30 s), then the position in line.
    let position = t.plays_of("say_position");
    assert!(!position.is_empty(), "{}", out.stdout);
    assert!(
        position[0].text.contains("You are number 1 in line."),
        "{}",
        position[0].text
    );
    let agent: Vec<String> = t
        .of_kind("agent")
        .iter()
        .filter_map(|a| a.get("what").and_then(|w| w.as_str()).map(str::to_string))
        .collect();
    assert_eq!(
        agent,
        vec!["is offered the call", "answers", "hangs up"],
        "{}",
        out.stdout
    );
    assert!(t.of_kind("disconnect").len() <= 1);
    // The agent's screen pop is the ticket in the configured instance.
    assert_eq!(
        t.variable("ticket_url"),
        Some(format!("{}/agent/tickets/10", sb.url()).into())
    );
    let note = new_comments(&sb, 10, before);
    assert_eq!(note.len(), 1, "{note:?}");
    assert!(!note[0].public);
    for fact in [
        "12125550107",
        "Keys pressed: 1",
        "talked to an agent",
        "priority 1",
    ] {
        assert!(
            note[0].body.contains(fact),
            "{fact:?} missing: {}",
            note[0].body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_agent_logged_in_offers_to_wait_or_hang_up() {
    let sb = Sandbox::start().await;
    // The caller chooses to hang up.
    let before = comment_count(&sb, 10);
    let out = call(JOHN).agents(0).press("1, 2").run(&sb).await;
    out.assert_completed();
    let t = &out.transcript;
    let q = t.queues();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0].node, "queue_caller");
    assert!(q[0].result.starts_with("no agents"), "{q:?}");
    let offer = t.plays_of("no_agents");
    assert_eq!(offer.len(), 1, "{}", out.stdout);
    assert_eq!(
        offer[0].text,
        "No agent is logged in right now. Press 1 to wait for one, or 2 to hang up."
    );
    assert_eq!(t.plays_of("goodbye").len(), 1);
    assert_eq!(t.of_kind("disconnect").len(), 1);
    assert!(t.of_kind("music").is_empty());
    assert!(t.visited("no_agents_leave"), "{}", out.stdout);
    let note = new_comments(&sb, 10, before);
    assert_eq!(note.len(), 1, "{note:?}");
    assert!(!note[0].public);
    assert!(
        note[0].body.contains("no agent was logged in"),
        "{}",
        note[0].body
    );

    // The caller chooses to wait: queued without the availability check, with music.
    let out = call(JOHN)
        .agents(0)
        .press("1, 1")
        .answer_after("never")
        .press("wait 40s, hangup")
        .run(&sb)
        .await;
    out.assert_completed();
    let t = &out.transcript;
    let q = t.queues();
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!(q[1].node, "queue_anyway");
    assert_eq!(q[1].result, "queued");
    assert_eq!(q[1].priority, 1);
    assert!(!t.of_kind("music").is_empty());
    assert!(t.visited("wait_anyway"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_caller_pressing_2_writes_nothing() {
    let sb = Sandbox::start().await;
    let out = call(UNKNOWN).press("2").run(&sb).await;
    out.assert_completed();
    assert_eq!(out.transcript.plays_of("goodbye").len(), 1);
    assert!(sb.api_requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_apologizes_and_lets_the_caller_try_again_or_hang_up() {
    let sb = Sandbox::start().await;
    let before = comment_count(&sb, 10);
    // 1 at the menu: the queue is full. 1 again: still full. 2: goodbye.
    let out = call(JOHN).queue_full().press("1, 1, 2").run(&sb).await;
    out.assert_completed();
    let t = &out.transcript;
    let full = t.plays_of("queue_full_menu");
    assert_eq!(full.len(), 2, "one apology per full queue: {}", out.stdout);
    assert!(
        full[0].text.starts_with("Sorry, all our agents are busy"),
        "{}",
        full[0].text
    );
    let q = t.queues();
    assert_eq!(q.len(), 2, "{q:?}");
    assert!(q[0].result.contains("full"), "{q:?}");
    assert_eq!(q[0].priority, 1, "John's urgent ticket keeps its priority");
    assert!(t.visited("goodbye"), "{}", out.stdout);
    assert_eq!(t.variable("queue_result"), Some("full".into()));
    assert_eq!(t.variable("queue_full_count"), Some(2.into()));
    // The note on John's ticket says why he never reached an agent.
    let notes = new_comments(&sb, 10, before);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].body.to_lowercase().contains("full"),
        "{}",
        notes[0].body
    );
}
