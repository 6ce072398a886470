//! End-to-end tests of what keeps ringdesk safe on a network, against the real binary:
//! whose caller ID is believed (a trusted trunk's P-Asserted-Identity is looked up; the
//! same claim from another source is refused or answered anonymously, with no Zendesk
//! request), and the admin API's tokens (a network address without one does not start;
//! the CLI uses the token `serve` generated, and a wrong one is refused).

mod voice;

use std::time::Duration;
use voice::demo;
use voice::server::{Options, Server};
use voice::sipp::Sipp;

/// How long the SIPp caller stays: past the caller lookup at the start of the flow.
const LISTEN: Duration = Duration::from_secs(3);

/// Only 127.0.0.1 is a trunk; SIPp from 127.0.0.2 is any other source.
const PBX_TRUNK: &str = "[[trunks]]\nname = \"pbx\"\naddresses = [\"127.0.0.1\"]\n";

/// The interaction records, newest first.
async fn interactions(server: &Server) -> Vec<serde_json::Value> {
    server
        .http()
        .get(server.admin_url("/interactions"))
        .send()
        .await
        .expect("GET /interactions")
        .json()
        .await
        .expect("interactions JSON")
}

/// The fail2ban filter of `docs/security.md`, as regexes (`<HOST>` → a capture).
fn fail2ban_filter() -> Vec<regex::Regex> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/security.md"
    ))
    .expect("docs/security.md");
    let (_, rest) = doc
        .split_once("failregex = ")
        .expect("a failregex in docs/security.md");
    let block = rest.split("\nignoreregex").next().unwrap_or_default();
    block
        .lines()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            regex::Regex::new(&l.replace("<HOST>", r"(?P<host>[0-9A-Fa-f.:]+)"))
                .unwrap_or_else(|e| panic!("{l}: {e}"))
        })
        .collect()
}

/// The sources the fail2ban filter would ban for the lines of `log`.
fn fail2ban_hosts(log: &str) -> Vec<String> {
    let filter = fail2ban_filter();
    log.lines()
        .filter_map(|line| filter.iter().find_map(|re| re.captures(line)))
        .map(|c| c["host"].to_owned())
        .collect()
}

#[test]
fn the_fail2ban_filter_matches_every_line_the_docs_list() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/security.md"
    ))
    .expect("docs/security.md");
    let listed = doc
        .split_once("ringdesk logs one line per refusal")
        .and_then(|(_, rest)| rest.split("```").nth(1))
        .expect("the list of refusal lines");
    let lines: Vec<String> = listed
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.replace("<ip>", "203.0.113.9")
                .replace(
                    "<no_token|bad_token|read_only_token|not_json|unknown_host>",
                    "bad_token",
                )
                .replace(
                    "<untrusted_source|trunk_auth_failed|malformed_authorization>",
                    "trunk_auth_failed",
                )
        })
        .collect();
    assert!(lines.len() >= 6, "{lines:?}");
    for line in &lines {
        let hosts = fail2ban_hosts(&format!(
            "2026-12-07T10:00:00.000000Z  WARN ringdesk: {line}"
        ));
        assert_eq!(hosts, vec!["203.0.113.9"], "{line}");
    }
    // What a client may legitimately get wrong once is not a ban reason.
    assert!(
        fail2ban_hosts("admin API refused source=203.0.113.9 reason=read_only_token").is_empty()
    );
}

/// Waits until the server has recorded `n` calls.
async fn recorded(server: &Server, n: usize) -> Vec<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let list = interactions(server).await;
        if list.len() >= n || tokio::time::Instant::now() >= deadline {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_caller_id_from_outside_the_trunk_is_not_looked_up() {
    let server = Server::start(Options {
        untrusted: Some("anonymous"),
        extra_config: Some(PBX_TRUNK.into()),
        ..Options::default()
    })
    .await;
    // A known customer's number in P-Asserted-Identity, from a source that is no trunk.
    let (john, _) = demo::JOHN;
    let run = Sipp::new("asserted_media_then_bye.xml", "support")
        .caller(john)
        .key("verstat", "TN-Validation-Passed")
        .source_ip("127.0.0.2")
        .pause(LISTEN)
        .run(server.sip_addr(), server.dir())
        .await;
    run.assert_passed("an untrusted caller is answered");
    let list = recorded(&server, 1).await;
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["ani"], "anonymous", "{:#?}", list[0]);
    assert_eq!(
        server.sandbox().stats().total,
        0,
        "no Zendesk request for a caller ID nobody vouches for"
    );
    // The same call from the trunk is believed and looked up.
    let run = Sipp::new("asserted_media_then_bye.xml", "support")
        .caller(john)
        .key("verstat", "TN-Validation-Passed")
        .pause(LISTEN)
        .run(server.sip_addr(), server.dir())
        .await;
    run.assert_passed("a trunk caller is answered");
    let list = recorded(&server, 2).await;
    let trusted = list
        .iter()
        .find(|r| r["ani"] != "anonymous")
        .unwrap_or_else(|| panic!("a record with the asserted number: {list:#?}"));
    assert!(
        trusted["ani"]
            .as_str()
            .unwrap_or_default()
            .ends_with("12125550107"),
        "{trusted:#?}"
    );
    let stats = server.sandbox().stats();
    assert!(
        stats.total > 0,
        "the trunk's caller is looked up: {stats:#?}"
    );
    assert!(
        server
            .log()
            .contains("incoming call from an untrusted source"),
        "the log says which call was not believed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_only_the_trunks_may_call() {
    let server = Server::start(Options {
        extra_config: Some(PBX_TRUNK.into()),
        ..Options::default()
    })
    .await;
    let run = Sipp::new("reject_403.xml", "support")
        .caller(demo::JOHN.0)
        .source_ip("127.0.0.2")
        .run(server.sip_addr(), server.dir())
        .await;
    run.assert_passed("403 for a source that is no trunk");
    assert_eq!(server.sandbox().stats().total, 0);
    let log = server.log();
    assert!(
        log.contains("SIP INVITE refused source=127.0.0.2 reason=untrusted_source"),
        "one line for fail2ban"
    );
    assert_eq!(
        fail2ban_hosts(&log),
        vec!["127.0.0.2"],
        "docs/security.md's filter bans it"
    );
}

/// A trunk whose callers' details may be spoken only when the carrier verified the
/// number: the note says whether the status was told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_spoken_only_to_a_verified_number() {
    let server = Server::start(Options {
        extra_config: Some(format!("{PBX_TRUNK}personal_data = \"verified\"\n")),
        ..Options::default()
    })
    .await;
    let (john, ticket) = demo::JOHN;
    for verstat in ["TN-Validation-Passed", "TN-Validation-Failed"] {
        let run = Sipp::new("asserted_media_then_bye.xml", "support")
            .caller(john)
            .key("verstat", verstat)
            .pause(LISTEN)
            .run(server.sip_addr(), server.dir())
            .await;
        run.assert_passed(verstat);
    }
    let notes = server
        .new_comments(ticket, 2, Duration::from_secs(15))
        .await;
    assert_eq!(notes.len(), 2, "{notes:#?}");
    assert!(
        notes[0].body.contains("Status told: open."),
        "{}",
        notes[0].body
    );
    assert!(
        notes[1].body.contains("Status told: none."),
        "{}",
        notes[1].body
    );
}

/// A server on a network address with no trunk listed says, at start, that only the host
/// itself may call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_address_without_trunks_is_explained_at_start() {
    let launch = voice::serve_child::Launch {
        rust_log: "info".into(),
        start_timeout: Duration::from_secs(60),
        tail_lines: 60,
    };
    let server = voice::serve_child::ServeChild::start(&launch, |_, dir| {
        format!(
            "[sip]\nlisten = \"0.0.0.0:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n[store]\npath = {:?}\n",
            dir.join("r.sqlite")
        )
    })
    .await;
    let log = server.log();
    assert!(
        log.contains(
            "is reachable from the network, but no [[trunks]] is listed: only this host may call"
        ),
        "{log}"
    );
}

/// `ringdesk` with `args`, its stdout, stderr and exit status.
async fn ringdesk(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ringdesk"))
        .args(args)
        .env_remove("RINGDESK_ADMIN_TOKEN")
        .envs(envs.iter().copied())
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run ringdesk");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_api_on_a_network_address_needs_a_token_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ringdesk.toml");
    std::fs::write(
        &config,
        format!(
            "[sip]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"0.0.0.0:0\"\n[store]\npath = {:?}\n",
            dir.path().join("r.sqlite")
        ),
    )
    .unwrap();
    let serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_ringdesk"))
        .args(["serve", "--config"])
        .arg(&config)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), serve)
        .await
        .expect("serve exits at once")
        .expect("run ringdesk");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it must not start: {stderr}");
    assert!(
        stderr.contains("[admin] listen = \"0.0.0.0:0\" is reachable from the network"),
        "{stderr}"
    );
    assert!(!dir.path().join("r.sqlite").exists(), "nothing was started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_uses_the_token_serve_wrote_and_a_wrong_one_is_refused() {
    let server = Server::start(Options::default()).await;
    let config = server.dir().join("ringdesk.toml");
    let config = config.to_str().expect("utf-8 path");
    let admin = format!("http://{}", server.admin_addr());
    let token_file = server.dir().join("ringdesk.sqlite.admin-token");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is its owner's alone");
    let (ok, stdout, stderr) = ringdesk(
        &["agent", "list", "--config", config, "--admin", &admin],
        &[],
    )
    .await;
    assert!(ok, "agent list with the generated token: {stderr}");
    assert!(stdout.starts_with("ID"), "{stdout}");
    let wrong = [("RINGDESK_ADMIN_TOKEN", "not-this-servers-token-0123456789")];
    let (ok, _, stderr) = ringdesk(
        &["agent", "list", "--config", config, "--admin", &admin],
        &wrong,
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("refused the token (401)"), "{stderr}");
    assert!(
        !stderr.contains("not-this-servers-token"),
        "the token is never echoed: {stderr}"
    );
    // Without a token the API answers nothing but its health.
    let r = reqwest::get(server.admin_url("/interactions"))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = reqwest::get(server.admin_url("/health")).await.unwrap();
    assert_eq!(r.status(), 200);
}

/// SIP over TLS with SRTP required: baresip calls `sips:` with mandatory SRTP, hears the
/// ticket status (its recording holds the whole introduction), presses 2 (RFC 4733 inside
/// SRTP) and is hung up on over its TLS connection; a capture of the loopback shows only
/// SRTP going to it (every packet 10 bytes longer than RTP, no frame of the greeting in
/// clear, which a plain call carries: see `voice_baresip`). A plain-RTP offer to the same
/// server gets 488.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_over_tls_with_srtp_hears_its_ticket_and_nothing_travels_in_clear() {
    use voice::baresip::{Baresip, Setup};
    let server = Server::start(Options {
        srtp: Some("required"),
        tls: true,
        ..Options::default()
    })
    .await;
    let tls = server.tls_addr();
    let (caller, ticket) = demo::MICHAEL;
    let capture = voice::capture::Capture::start();
    let mut phone = Baresip::start_with(
        &server.dir().join("baresip-tls"),
        &Setup {
            account: format!(
                "<sip:{caller}@127.0.0.1;transport=tls>;regint=0;audio_codecs=PCMU;mediaenc=srtp-mand"
            ),
            ca_file: Some(server.dir().join("certs/sip.crt")),
            mic: None,
            srtp: true,
        },
    )
    .await;
    let t0 = std::time::Instant::now();
    tokio::task::block_in_place(|| {
        phone.command("dial", &format!("sip:support@{tls};transport=tls"))
    });
    tokio::time::sleep_until((t0 + Duration::from_secs(13)).into()).await;
    tokio::task::block_in_place(|| phone.command("sndcode", "2"));
    // "Thank you for calling. Goodbye." and ringdesk's BYE, over the TLS connection.
    let deadline = t0 + Duration::from_secs(30);
    while !phone.log_text().contains("terminated") {
        assert!(
            std::time::Instant::now() < deadline,
            "ringdesk did not hang up after 2\n{}\n{}",
            phone.log_tail(),
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    phone.quit().await;
    let log = phone.log_text();
    assert!(
        log.contains("SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)"),
        "baresip reports SRTP: {}",
        phone.log_tail()
    );

    // What the caller heard, decrypted by baresip: the welcome, its status and the menu.
    let pcm = phone.heard_pcm();
    let frames = voice::audio::frame_rms(&pcm);
    let blocks = voice::audio::segments(&frames, voice::FRAMES_PER_SECOND);
    let intro = voice::prompts::render(
        &[
            voice::prompts::WELCOME,
            &voice::prompts::status("Michael Brown", ticket, "waiting for your reply"),
            voice::prompts::MENU,
        ],
        ringdesk_media::Codec::Pcmu,
    )
    .await;
    assert!(!blocks.is_empty(), "baresip heard nothing");
    assert!(
        blocks[0].start_s() < 1.0 && (blocks[0].len_s() - intro.sound_s()).abs() <= 0.5,
        "welcome + status + menu heard through SRTP: {}, rendered {:.2} s; blocks:\n{}",
        blocks[0],
        intro.sound_s(),
        voice::audio::describe(&blocks)
    );
    let notes = server
        .new_comments(ticket, 1, Duration::from_secs(15))
        .await;
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(
        notes[0].body.contains("Keys pressed: 2."),
        "the key pressed inside SRTP reached the flow: {:?}",
        notes[0].body
    );

    // On the wire: SRTP only.
    let to_phone = capture.udp_to(phone.rtp_ports());
    drop(capture);
    voice::capture::assert_all_srtp(&to_phone, 500, "ringdesk to the caller");
    let greeting = voice::prompts::greeting_frames().await;
    assert!(greeting.len() > 100, "the greeting has sound frames");
    assert_eq!(
        voice::prompts::frames_on_the_wire(&to_phone, &greeting),
        0,
        "no frame of the greeting travels in clear"
    );

    // A plain offer where SRTP is required: 488, no call.
    Sipp::new("reject_488.xml", "support")
        .caller(caller)
        .run(server.sip_addr(), server.dir())
        .await
        .assert_passed("a plain-RTP offer is refused with 488");
}

/// A carrier that authenticates: the trunk 127.0.0.1 has digest credentials, so an INVITE
/// is challenged (401) and answered only with the right password; a wrong one gets 403,
/// no call, and the fail2ban line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_with_credentials_must_answer_the_digest_challenge() {
    let server = Server::start(Options {
        extra_config: Some(
            "[[trunks]]\nname = \"carrier\"\naddresses = [\"127.0.0.1\"]\nusername = \"ringdesk\"\npassword = \"carrier-secret-123\"\n"
                .into(),
        ),
        ..Options::default()
    })
    .await;
    let (john, _) = demo::JOHN;
    Sipp::new("auth_then_bye.xml", "support")
        .caller(john)
        .auth("ringdesk", "carrier-secret-123")
        .pause(LISTEN)
        .run(server.sip_addr(), server.dir())
        .await
        .assert_passed("the carrier answers the challenge and its call is answered");
    assert_eq!(recorded(&server, 1).await.len(), 1, "one call recorded");
    Sipp::new("auth_refused.xml", "support")
        .caller(john)
        .auth("ringdesk", "a-guess")
        .run(server.sip_addr(), server.dir())
        .await
        .assert_passed("a wrong password is refused with 403");
    // The plain INVITE with no credentials at all is challenged, never answered.
    Sipp::new("reject_401.xml", "support")
        .caller(john)
        .run(server.sip_addr(), server.dir())
        .await
        .assert_passed("an INVITE without credentials is challenged");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        recorded(&server, 1).await.len(),
        1,
        "no other call recorded"
    );
    assert!(
        server
            .log()
            .contains("SIP INVITE refused source=127.0.0.1 reason=trunk_auth_failed"),
        "the refusal is logged"
    );
    assert_eq!(
        fail2ban_hosts(&server.log()),
        vec!["127.0.0.1"],
        "the fail2ban filter bans the source of the wrong password, once"
    );
}
