//! SIP text for the benchmark caller: builds INVITE, ACK, BYE and 200 OK, and parses
//! what ringdesk sends back (status, Call-ID, CSeq, To tag, Contact, SDP media address).
//! Pure functions; everything received is untrusted and bounded.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

/// Largest SIP message parsed; longer input is refused.
pub const MAX_MESSAGE: usize = 8192;

/// What identifies one of our dialogs in the messages we build.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    pub from_tag: String,
    pub ani: String,
    pub service: String,
    /// ringdesk's SIP address.
    pub remote: SocketAddr,
    /// Our SIP address.
    pub local: SocketAddr,
    /// ringdesk's tag, once answered.
    pub to_tag: Option<String>,
    /// ringdesk's Contact URI, once answered (the request URI of ACK and BYE).
    pub contact: Option<String>,
}

impl Dialog {
    fn request_uri_initial(&self) -> String {
        format!("sip:{}@{}", self.service, self.remote)
    }

    fn in_dialog_uri(&self) -> String {
        self.contact
            .clone()
            .unwrap_or_else(|| self.request_uri_initial())
    }

    fn header_from(&self) -> String {
        format!(
            "\"Bench\" <sip:{}@{}>;tag={}",
            self.ani, self.local, self.from_tag
        )
    }

    fn header_to(&self) -> String {
        match &self.to_tag {
            Some(t) => format!("<{}>;tag={}", self.request_uri_initial(), t),
            None => format!("<{}>", self.request_uri_initial()),
        }
    }
}

/// The INVITE with an SDP offer (PCMU, PCMA, telephone-event 101) for `media`; with
/// `crypto` (an `a=crypto` line) the stream is RTP/SAVP.
pub fn invite(d: &Dialog, branch: &str, media: SocketAddrV4, crypto: Option<&str>) -> String {
    let sdp = format!(
        "v=0\r\no=bench 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} {proto} 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n{crypto}",
        ip = media.ip(),
        port = media.port(),
        proto = if crypto.is_some() { "RTP/SAVP" } else { "RTP/AVP" },
        crypto = crypto.unwrap_or_default(),
    );
    format!(
        "INVITE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
         From: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:bench@{local}>\r\nMax-Forwards: 70\r\n\
         Content-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{sdp}",
        ruri = d.request_uri_initial(),
        local = d.local,
        from = d.header_from(),
        to = d.header_to(),
        cid = d.call_id,
        len = sdp.len(),
    )
}

/// ACK. For a 2xx it is a new transaction (`branch` fresh, URI = Contact); for a
/// failure it reuses the INVITE's branch and URI.
pub fn ack(d: &Dialog, branch: &str, for_2xx: bool) -> String {
    let ruri = if for_2xx {
        d.in_dialog_uri()
    } else {
        d.request_uri_initial()
    };
    format!(
        "ACK {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
         From: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 1 ACK\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        local = d.local,
        from = d.header_from(),
        to = d.header_to(),
        cid = d.call_id,
    )
}

/// BYE in the dialog.
pub fn bye(d: &Dialog, branch: &str) -> String {
    format!(
        "BYE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
         From: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 2 BYE\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        ruri = d.in_dialog_uri(),
        local = d.local,
        from = d.header_from(),
        to = d.header_to(),
        cid = d.call_id,
    )
}

/// 200 OK to a request ringdesk sent us (its BYE, OPTIONS...), echoing its headers.
pub fn ok_to(req: &Message) -> String {
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    for (name, value) in &req.headers {
        if matches!(name.as_str(), "via" | "from" | "to" | "call-id" | "cseq") {
            out.push_str(&format!("{}: {}\r\n", canonical(name), value));
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

fn canonical(name: &str) -> &str {
    match name {
        "via" => "Via",
        "from" => "From",
        "to" => "To",
        "call-id" => "Call-ID",
        "cseq" => "CSeq",
        other => other,
    }
}

/// First line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Response(u16),
    Request(String),
}

/// A parsed SIP message: start line, headers (lower-case long names), body.
#[derive(Debug, Clone)]
pub struct Message {
    pub start: StartLine,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Why a datagram is not a usable SIP message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("message larger than {MAX_MESSAGE} bytes")]
    TooLarge,
    #[error("not UTF-8")]
    NotText,
    #[error("malformed start line")]
    StartLine,
}

impl Message {
    /// Parses one datagram.
    pub fn parse(data: &[u8]) -> Result<Message, ParseError> {
        if data.len() > MAX_MESSAGE {
            return Err(ParseError::TooLarge);
        }
        let text = std::str::from_utf8(data).map_err(|_| ParseError::NotText)?;
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let mut lines = head.split("\r\n");
        let first = lines.next().unwrap_or("");
        let start = if let Some(rest) = first.strip_prefix("SIP/2.0 ") {
            let code = rest
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or(ParseError::StartLine)?;
            StartLine::Response(code)
        } else {
            let method = first.split(' ').next().unwrap_or("");
            if method.is_empty() || !first.ends_with("SIP/2.0") {
                return Err(ParseError::StartLine);
            }
            StartLine::Request(method.to_string())
        };
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (long_name(n.trim()), v.trim().to_string()))
            .collect();
        Ok(Message {
            start,
            headers,
            body: body.to_string(),
        })
    }

    /// First value of a header (lower-case long name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn call_id(&self) -> Option<&str> {
        self.header("call-id")
    }

    /// Method named in CSeq.
    pub fn cseq_method(&self) -> Option<&str> {
        self.header("cseq")?.split_whitespace().nth(1)
    }

    /// The `tag` parameter of To.
    pub fn to_tag(&self) -> Option<String> {
        tag_param(self.header("to")?)
    }

    /// The URI inside Contact's angle brackets (or the bare URI).
    pub fn contact_uri(&self) -> Option<String> {
        let c = self.header("contact")?;
        let uri = match (c.find('<'), c.find('>')) {
            (Some(a), Some(b)) if a < b => c.get(a + 1..b)?,
            _ => c.split(';').next()?,
        };
        (!uri.is_empty()).then(|| uri.to_string())
    }
}

fn long_name(n: &str) -> String {
    let lower = n.to_ascii_lowercase();
    match lower.as_str() {
        "v" => "via".into(),
        "f" => "from".into(),
        "t" => "to".into(),
        "i" => "call-id".into(),
        "m" => "contact".into(),
        "l" => "content-length".into(),
        "c" => "content-type".into(),
        _ => lower,
    }
}

fn tag_param(v: &str) -> Option<String> {
    let after = v.rsplit_once('>').map_or(v, |(_, p)| p);
    after
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("tag"))
        .map(|(_, t)| t.to_string())
}

/// Media address and telephone-event payload type of an SDP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdpMedia {
    pub addr: SocketAddrV4,
    pub telephone_event: Option<u8>,
}

/// Reads `c=IN IP4` and the first `m=audio` port; `None` when either is missing.
pub fn sdp_media(body: &str) -> Option<SdpMedia> {
    let mut ip: Option<Ipv4Addr> = None;
    let mut port: Option<u16> = None;
    let mut te = None;
    for line in body.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("c=IN IP4 ") {
            ip = rest.split_whitespace().next().and_then(|s| s.parse().ok());
        } else if let Some(rest) = line.strip_prefix("m=audio ") {
            if port.is_none() {
                port = rest.split_whitespace().next().and_then(|s| s.parse().ok());
            }
        } else if let Some(rest) = line.strip_prefix("a=rtpmap:") {
            if let Some((pt, enc)) = rest.split_once(' ') {
                if enc.to_ascii_lowercase().starts_with("telephone-event") {
                    te = pt.parse().ok();
                }
            }
        }
    }
    Some(SdpMedia {
        addr: SocketAddrV4::new(ip?, port?),
        telephone_event: te,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialog() -> Dialog {
        Dialog {
            call_id: "c1@bench".into(),
            from_tag: "ft1".into(),
            ani: "+5511987650101".into(),
            service: "support".into(),
            remote: "127.0.0.1:5060".parse().unwrap(),
            local: "127.0.0.1:40000".parse().unwrap(),
            to_tag: None,
            contact: None,
        }
    }

    #[test]
    fn invite_carries_offer_and_exact_length() {
        let msg = invite(&dialog(), "z9hG4bK1", "127.0.0.1:41000".parse().unwrap(), None);
        let parsed = Message::parse(msg.as_bytes()).unwrap();
        assert_eq!(parsed.start, StartLine::Request("INVITE".into()));
        let len: usize = parsed.header("content-length").unwrap().parse().unwrap();
        assert_eq!(len, parsed.body.len());
        let m = sdp_media(&parsed.body).unwrap();
        assert_eq!(m.addr.port(), 41000);
        assert_eq!(m.telephone_event, Some(101));
        assert!(msg.contains("sip:+5511987650101@127.0.0.1:40000"));
    }

    #[test]
    fn parses_answer_with_compact_headers() {
        let raw = "SIP/2.0 200 OK\r\nv: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1\r\n\
                   f: <sip:a@b>;tag=ft1\r\nt: <sip:support@127.0.0.1:5060>;tag=rd42\r\n\
                   i: c1@bench\r\nCSeq: 1 INVITE\r\nm: <sip:ringdesk@127.0.0.1:5060;transport=udp>\r\n\
                   \r\nv=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 52000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\n";
        let m = Message::parse(raw.as_bytes()).unwrap();
        assert_eq!(m.start, StartLine::Response(200));
        assert_eq!(m.call_id(), Some("c1@bench"));
        assert_eq!(m.cseq_method(), Some("INVITE"));
        assert_eq!(m.to_tag().as_deref(), Some("rd42"));
        assert_eq!(
            m.contact_uri().as_deref(),
            Some("sip:ringdesk@127.0.0.1:5060;transport=udp")
        );
        let media = sdp_media(&m.body).unwrap();
        assert_eq!(media.addr, "127.0.0.1:52000".parse().unwrap());
        assert_eq!(media.telephone_event, Some(96));
    }

    #[test]
    fn dialog_requests_use_contact_and_tags() {
        let mut d = dialog();
        d.to_tag = Some("rd42".into());
        d.contact = Some("sip:rd@127.0.0.1:5060".into());
        let b = bye(&d, "z9hG4bK2");
        assert!(b.starts_with("BYE sip:rd@127.0.0.1:5060 SIP/2.0\r\n"));
        assert!(b.contains(";tag=rd42\r\n"));
        let a = ack(&d, "z9hG4bK1", false);
        assert!(a.starts_with("ACK sip:support@127.0.0.1:5060 SIP/2.0"));
    }

    #[test]
    fn ok_echoes_the_request() {
        let raw = "BYE sip:bench@127.0.0.1:40000 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n\
                   From: <sip:s@h>;tag=rd\r\nTo: <sip:b@h>;tag=ft1\r\nCall-ID: c1@bench\r\nCSeq: 5 BYE\r\n\r\n";
        let req = Message::parse(raw.as_bytes()).unwrap();
        let ok = ok_to(&req);
        assert!(ok.starts_with("SIP/2.0 200 OK\r\n"));
        assert!(ok.contains("CSeq: 5 BYE\r\n") && ok.contains("branch=z9hG4bKx"));
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(Message::parse(b"hello").unwrap_err(), ParseError::StartLine);
        assert_eq!(
            Message::parse(&[0xff, 0xfe]).unwrap_err(),
            ParseError::NotText
        );
        assert_eq!(
            Message::parse(&vec![b'a'; MAX_MESSAGE + 1]).unwrap_err(),
            ParseError::TooLarge
        );
        assert!(Message::parse(b"SIP/2.0 2x0 OK\r\n\r\n").is_err());
        assert!(sdp_media("v=0\r\nm=audio 1 RTP/AVP 0\r\n").is_none());
    }
}
