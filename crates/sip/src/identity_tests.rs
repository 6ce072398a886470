//! Unit tests for ANI/DNIS extraction.

use super::*;

#[test]
fn name_addr_and_addr_spec() {
    assert_eq!(
        user_part_of_header("\"Alice\" <sip:+15551234567@example.com;user=phone>;tag=abc")
            .as_deref(),
        Some("+15551234567")
    );
    assert_eq!(
        user_part_of_header("sip:1000@10.0.0.1;tag=1").as_deref(),
        Some("1000")
    );
    assert_eq!(
        user_part_of_header("<tel:+4930123;phone-context=x>").as_deref(),
        Some("+4930123")
    );
    assert_eq!(
        user_part_of_header("<sips:bob:secret@host>").as_deref(),
        Some("bob")
    );
    assert_eq!(
        user_part_of_header("<sip:5551234;npdi@host>").as_deref(),
        Some("5551234")
    );
}

#[test]
fn unusable_values() {
    assert_eq!(user_part_of_header("<sip:host.example"), None);
    assert_eq!(user_part_of_header("<mailto:a@b>"), None);
    assert_eq!(user_part_of_header(""), None);
    assert_eq!(
        user_part_of_header("<sip:example.com>").as_deref(),
        Some("")
    );
}

#[test]
fn ani_prefers_p_asserted_identity() {
    assert_eq!(
        ani(
            Some("<sip:+15550001111@carrier>"),
            Some("<sip:spoofed@x>;tag=1")
        ),
        "+15550001111"
    );
    assert_eq!(ani(Some("garbage"), Some("<sip:2000@pbx>;tag=1")), "2000");
    assert_eq!(
        ani(Some("<sip:carrier.example>"), Some("<sip:2000@pbx>")),
        "2000"
    );
    assert_eq!(ani(None, Some("<sip:2000@pbx>")), "2000");
    assert_eq!(ani(None, None), "");
}

#[test]
fn anonymous_callers_pass_through_as_is() {
    assert_eq!(
        ani(
            None,
            Some("\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1")
        ),
        "anonymous"
    );
    assert_eq!(
        ani(None, Some("\"Anonymous\" <sip:anonymous.invalid>;tag=1")),
        ""
    );
    assert_eq!(ani(None, Some("\"Anonymous\" <sip:!!@x>")), "!!");
    assert_eq!(ani(None, Some("<sip:Anonymous@x>")), "Anonymous");
}

#[test]
fn dnis_from_request_uri_then_to() {
    assert_eq!(
        dnis("sip:8005551212@ringdesk.example", Some("<sip:other@x>")),
        "8005551212"
    );
    assert_eq!(
        dnis("sip:ringdesk.example", Some("<sip:support@x>")),
        "support"
    );
    assert_eq!(dnis("garbage", None), "");
}

#[test]
fn identities_are_bounded_and_cleaned() {
    let long = format!("<sip:{}@x>", "9".repeat(500));
    assert_eq!(ani(None, Some(&long)).len(), MAX_IDENTITY_LEN);
    let multibyte = format!("<sip:{}@x>", "é".repeat(100));
    let cut = ani(None, Some(&multibyte));
    assert!(cut.len() <= MAX_IDENTITY_LEN && cut.chars().all(|c| c == 'é'));
    assert_eq!(ani(None, Some("<sip:12\r\n34\u{0}@x>")), "1234");
}
