//! Fuzz target: the caller's SDP offer under each SRTP policy (parse, then answer what was
//! accepted: a keyed offer must get our key back) and an agent's SDP answer to a plain, an
//! optional and a required SRTP offer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringdesk_media::SrtpKey;
use ringdesk_sip::{
    build_answer, parse_answer, parse_offer_with, Codec, OfferSrtp, SdpOrigin, SrtpPolicy,
    MAX_SDP_BYTES,
};

const POLICIES: [SrtpPolicy; 3] = [SrtpPolicy::Off, SrtpPolicy::Optional, SrtpPolicy::Required];

fuzz_target!(|data: &[u8]| {
    let key = SrtpKey([7; 30]);
    for policy in POLICIES {
        if let Ok(offer) = parse_offer_with(data, policy) {
            assert!(data.len() <= MAX_SDP_BYTES);
            assert!(policy != SrtpPolicy::Off || offer.crypto.is_none());
            assert!(policy != SrtpPolicy::Required || offer.crypto.is_some());
            let local = "127.0.0.1:40000".parse().expect("address");
            let answer = build_answer(
                &offer,
                local,
                SdpOrigin {
                    session_id: 1,
                    version: 1,
                },
                &key,
            );
            assert_eq!(answer.ptime_ms, 20);
            assert!(answer.sdp.len() < 4096);
            assert_eq!(answer.srtp.is_some(), offer.crypto.is_some());
            assert_eq!(answer.srtp.map(|k| k.send), offer.crypto.map(|_| key.clone()));
        }
        let srtp = OfferSrtp {
            policy,
            key: key.clone(),
        };
        if let Ok(media) = parse_answer(data, &[Codec::Pcmu, Codec::Pcma], &srtp) {
            assert!(policy != SrtpPolicy::Required || media.srtp.is_some());
            assert!(policy != SrtpPolicy::Off || media.srtp.is_none());
        }
    }
});
