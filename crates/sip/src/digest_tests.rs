//! Unit tests for digest parsing and verification, with the RFC 2617 and RFC 7616 vectors.
use super::*;

const RFC2617: &str = r#"Digest username="Mufasa", realm="testrealm@host.com",
    nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth,
    nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1",
    opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

const RFC7616: &str = r#"Digest username="Mufasa", realm="http-auth@example.org",
    uri="/dir/index.html", algorithm=SHA-256,
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001,
    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth,
    response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

#[test]
fn rfc2617_md5_vector_verifies() {
    let auth = parse_authorization(&RFC2617.replace('\n', " ")).unwrap();
    assert_eq!(auth.username, "Mufasa");
    assert_eq!(auth.algorithm, DigestAlgorithm::Md5);
    assert_eq!(auth.qop, Some((1, "0a4f113b".to_owned())));
    assert!(verify(&auth, "GET", "Circle Of Life"));
    assert!(!verify(&auth, "GET", "circle of life"));
    assert!(!verify(&auth, "POST", "Circle Of Life"));
}

#[test]
fn rfc7616_sha256_vector_verifies() {
    let auth = parse_authorization(&RFC7616.replace('\n', " ")).unwrap();
    assert_eq!(auth.algorithm, DigestAlgorithm::Sha256);
    assert!(verify(&auth, "GET", "Circle of Life"));
    assert!(!verify(&auth, "GET", "Circle Of Life"));
}

#[test]
fn without_qop_uses_rfc2069_form() {
    let mut auth = parse_authorization(
        r#"Digest username="1001", realm="ringdesk", nonce="abc", uri="sip:ringdesk", response="00""#,
    )
    .unwrap();
    assert_eq!(auth.qop, None);
    let ha1 = DigestAlgorithm::Md5.hash("1001:ringdesk:pw");
    let ha2 = DigestAlgorithm::Md5.hash("REGISTER:sip:ringdesk");
    auth.response = DigestAlgorithm::Md5.hash(&format!("{ha1}:abc:{ha2}"));
    assert!(verify(&auth, "REGISTER", "pw"));
    assert!(!verify(&auth, "REGISTER", "pw2"));
}

#[test]
fn malformed_values_are_errors_not_panics() {
    let cases = [
        ("Basic dXNlcjpwYXNz", DigestError::NotDigest),
        ("", DigestError::NotDigest),
        (
            r#"Digest username="a", realm="r""#,
            DigestError::Malformed("nonce"),
        ),
        (
            r#"Digest username="a"#,
            DigestError::Malformed("unterminated quoted value"),
        ),
        (
            "Digest username",
            DigestError::Malformed("parameter without value"),
        ),
        (
            r#"Digest username="a", realm="r", nonce="n", uri="u", response="x", algorithm=MD5-sess"#,
            DigestError::UnsupportedAlgorithm,
        ),
        (
            r#"Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth, nc=zz, cnonce="c""#,
            DigestError::Malformed("nc"),
        ),
        (
            r#"Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth-int, nc=1, cnonce="c""#,
            DigestError::Malformed("qop"),
        ),
        (
            "Digest username=\"a\u{7}\", realm=\"r\"",
            DigestError::Malformed("control character"),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_authorization(input), Err(expected), "{input}");
    }
    let huge = format!("Digest username=\"{}\"", "a".repeat(MAX_AUTHORIZATION_LEN));
    assert_eq!(parse_authorization(&huge), Err(DigestError::TooLarge));
    let many = format!("Digest {}", "a=1,".repeat(100));
    assert_eq!(parse_authorization(&many), Err(DigestError::TooLarge));
}

#[test]
fn escaped_quotes_and_case() {
    let auth = parse_authorization(
        r#"digest USERNAME="a\"b", Realm=ringdesk, nonce="n", uri="sip:x", response="ABCD", algorithm=sha-256"#,
    )
    .unwrap();
    assert_eq!(auth.username, "a\"b");
    assert_eq!(auth.realm, "ringdesk");
    assert_eq!(auth.response, "abcd");
    assert_eq!(auth.algorithm, DigestAlgorithm::Sha256);
}

#[test]
fn debug_leaves_out_the_response() {
    let auth = parse_authorization(&RFC2617.replace('\n', " ")).unwrap();
    let debug = format!("{auth:?}");
    assert!(debug.contains("Mufasa"));
    assert!(!debug.contains("6629fae4"));
}

#[test]
fn challenge_format() {
    assert_eq!(
        challenge("ringdesk", "n1", DigestAlgorithm::Sha256, true),
        r#"Digest realm="ringdesk", nonce="n1", algorithm=SHA-256, qop="auth", stale=true"#
    );
    assert!(!challenge("r", "n", DigestAlgorithm::Md5, false).contains("stale"));
}
