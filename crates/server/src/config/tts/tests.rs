//! `[tts]` from config text: the defaults, a language on an engine of its own, and every
//! refusal with the file and line of the `[tts]` table.

use super::*;
use crate::config::Config;
use std::time::Duration;

fn tts(text: &str) -> TtsConfig {
    Config::parse(text, "r.toml").unwrap().tts
}

fn err(text: &str) -> String {
    Config::parse(text, "r.toml").unwrap_err().to_string()
}

#[test]
fn without_a_tts_section_espeak_ng_speaks_every_language_with_its_defaults() {
    let t = tts("");
    assert_eq!(t, TtsConfig::default());
    assert_eq!(t.default_engine(), "espeak-ng");
    assert_eq!(
        t.engine("espeak-ng"),
        Some(&EngineSettings::EspeakNg(EspeakSettings::default()))
    );
    assert_eq!(t.languages().count(), 0);
    assert_eq!(t.describe(), "other languages → espeak-ng");
    let router = t.router();
    assert_eq!(router.engines().len(), 1);
    // Before its check, espeak-ng's identity is its bare name.
    assert_eq!(router.cache_identity(), "espeak-ng");
    // An empty [tts] and the documented defaults written out are the same thing.
    assert_eq!(tts("[tts]\n"), t);
    assert_eq!(
        tts("[tts]\ndefault = \"espeak-ng\"\n[tts.engines.espeak-ng]\n[tts.languages]\n"),
        t
    );
}

#[test]
fn the_shipped_example_documents_the_defaults() {
    assert_eq!(
        Config::parse(crate::config::EXAMPLE, "config.example.toml")
            .unwrap()
            .tts,
        TtsConfig::default()
    );
}

#[test]
fn a_language_gets_an_engine_of_its_own() {
    let t = tts("[tts]\n\
         default = \"espeak-ng\"\n\
         [tts.engines.espeak-ng]\n\
         timeout = \"5s\"\n\
         [tts.engines.espeak-pt]\n\
         kind = \"espeak-ng\"\n\
         program = \"/opt/espeak-pt/bin/espeak-ng\"\n\
         max_concurrent = 1\n\
         [tts.languages]\n\
         \"pt_br\" = \"espeak-pt\"\n\
         \"en\" = \"espeak-ng\"\n");
    let langs: Vec<(String, &str)> = t.languages().map(|(l, n)| (l.to_string(), n)).collect();
    assert_eq!(
        langs,
        [
            ("en".to_string(), "espeak-ng"),
            ("pt-BR".to_string(), "espeak-pt")
        ]
    );
    let Some(EngineSettings::EspeakNg(pt)) = t.engine("espeak-pt") else {
        panic!("{t:?}");
    };
    assert_eq!(pt.max_concurrent, 1);
    assert_eq!(pt.timeout, EspeakSettings::default().timeout);
    let Some(EngineSettings::EspeakNg(main)) = t.engine("espeak-ng") else {
        panic!("{t:?}");
    };
    assert_eq!(main.timeout, Duration::from_secs(5));
    assert_eq!(
        t.describe(),
        "en → espeak-ng, pt-BR → espeak-pt (espeak-ng), other languages → espeak-ng"
    );
    // One instance per engine name: the default and "en" share one.
    let router = t.router();
    assert_eq!(router.engines().len(), 2);
    let pt_br = Language::parse("pt-BR").unwrap();
    let en_us = Language::parse("en-US").unwrap();
    assert!(!Arc::ptr_eq(
        router.engine_for(&pt_br),
        router.engine_for(&en_us)
    ));
}

#[test]
fn unknown_engines_and_names_nothing_defines_are_refused() {
    let e = err("[sip]\nmax_calls = 5\n\n[tts]\ndefault = \"piper\"\n");
    assert_eq!(
        e,
        "r.toml:4:1: [tts] default = \"piper\": no engine of that name (configured: \"espeak-ng\")"
    );
    let e = err("[tts.engines.festival]\nvoice = \"kal\"\n");
    assert!(
        e.starts_with("r.toml:1:")
            && e.contains(
                "[tts.engines.festival]: unknown engine \"festival\" (known: \"espeak-ng\", \
                 \"piper\")"
            ),
        "{e}"
    );
    let e = err("[tts.engines.speech]\nkind = \"festival\"\n");
    assert!(
        e.contains("unknown variant `festival`, expected `espeak-ng` or `piper`"),
        "{e}"
    );
    // Piper, unlike the built-in espeak-ng, is used only when it has a section.
    let e = err("[tts.languages]\n\"en-US\" = \"piper\"\n");
    assert!(e.contains("add a [tts.engines.piper] section"), "{e}");
    let e = err("[tts.languages]\n\"pt-BR\" = \"espeak-pt\"\n");
    assert_eq!(
        e,
        "r.toml:1:2: [tts.languages] \"pt-BR\" = \"espeak-pt\": no engine of that name \
         (configured: \"espeak-ng\"); add a [tts.engines.espeak-pt] section"
    );
    let e = err("[tts.engines.\"a b\"]\n");
    assert!(e.contains("\"a b\": an engine name is"), "{e}");
}

#[test]
fn bad_language_tags_and_settings_are_refused() {
    let e = err("[tts.languages]\n\"português\" = \"espeak-ng\"\n");
    assert!(
        e.contains("[tts.languages] \"português\": not a language tag"),
        "{e}"
    );
    let e = err("[tts.languages]\n\"pt_br\" = \"espeak-ng\"\n\"pt-BR\" = \"espeak-ng\"\n");
    assert!(
        e.contains("\"pt-BR\" and \"pt_br\" are the same language"),
        "{e}"
    );
    let e = err("[tts.engines.espeak-ng]\ntimeout = \"0s\"\n");
    assert!(
        e.contains("[tts.engines.espeak-ng] timeout = 0s: expected more than 0"),
        "{e}"
    );
    let e = err("[tts.engines.espeak-ng]\nprogam = \"espeak\"\n");
    assert!(
        e.contains("[tts.engines.espeak-ng] unknown field `progam`"),
        "{e}"
    );
    let e = err("[tts]\nvoice = \"en-us\"\n");
    assert!(
        e.starts_with("r.toml:") && e.contains("unknown field `voice`"),
        "{e}"
    );
}

#[test]
fn piper_speaks_english_and_espeak_ng_the_rest() {
    let t = tts("[tts]\n\
         [tts.engines.piper]\n\
         workers = 1\n\
         [tts.engines.piper-pt]\n\
         kind = \"piper\"\n\
         model = \"voices/pt_BR-mine-medium.onnx\"\n\
         [tts.languages]\n\
         \"en\" = \"piper\"\n\
         \"pt-PT\" = \"piper-pt\"\n");
    let Some(EngineSettings::Piper(en)) = t.engine("piper") else {
        panic!("{t:?}");
    };
    assert_eq!(en.workers, 1);
    assert_eq!(en.model, None, "the joe voice package's model");
    let Some(EngineSettings::Piper(pt)) = t.engine("piper-pt") else {
        panic!("{t:?}");
    };
    assert_eq!(
        pt.model.as_deref(),
        Some(std::path::Path::new("voices/pt_BR-mine-medium.onnx"))
    );
    assert_eq!(
        t.describe(),
        "en → piper, pt-PT → piper-pt (piper), other languages → espeak-ng"
    );
    let router = t.router();
    assert_eq!(router.engines().len(), 3);
    // Before its check, Piper's identity is its bare name.
    let en_us = Language::parse("en-US").unwrap();
    assert_eq!(router.cache_identity_for(&en_us), "piper");
    let pt_br = Language::parse("pt-BR").unwrap();
    assert_eq!(router.cache_identity_for(&pt_br), "espeak-ng");
}

/// The example's Piper section, uncommented, is exactly the defaults an engine of that
/// kind gets.
#[test]
fn the_examples_piper_section_shows_the_defaults() {
    let example = crate::config::EXAMPLE;
    let start = example
        .find("# [tts.engines.piper]")
        .expect("a Piper example");
    let section: String = example[start..]
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("# "))
        // `model` has no default path to show (the joe voice package's file): it shows
        // a user's own voice instead.
        .filter(|l| !l.starts_with("model = "))
        .filter(|l| {
            l.starts_with('[')
                || l.split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let t = tts(&format!("{section}\n"));
    let Some(EngineSettings::Piper(p)) = t.engine("piper") else {
        panic!("{section}");
    };
    assert_eq!(p, &super::super::tts_engines::PiperSettings::default());
    for key in [
        "python",
        "workers",
        "rate",
        "timeout",
        "start_timeout",
        "max_output_bytes",
    ] {
        assert!(
            section.contains(&format!("\n{key} = ")),
            "{key} in {section}"
        );
    }
    assert!(example[start..].contains("# model = "), "model documented");
}
