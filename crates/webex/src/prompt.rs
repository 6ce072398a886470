//! The prompt of a `play-message` or `ivr-menu` activity: its TTS texts (Pebble
//! templates) and audio files, in order, with the language taken from the voice name
//! (`en-US-Standard-C` → `en-US`). Voices, speaking rate and volume are reported: the
//! speech engine is ringdesk's (`[tts]`), not Google's.

use serde_json::Value;

use crate::export::Activity;
use crate::import::{place, Ctx};
use crate::yaml::Y;

/// The prompt as a YAML mapping (`text`/`segments`, `language`), plus `extra` keys.
pub(crate) fn prompt(cx: &mut Ctx, a: &Activity, extra: Vec<(&str, Y)>) -> Y {
    let mut parts: Vec<Y> = Vec::new();
    let tts = a.flag("toggle").unwrap_or(true);
    let key = if tts { "promptsTts" } else { "prompts" };
    let list = match a.prop(key) {
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    };
    for (i, item) in list.iter().enumerate() {
        let path = format!("{}[{i}]", a.prop_path(key));
        let (kind, value) = match item {
            Value::String(s) => (if tts { "tts" } else { "audio" }, s.clone()),
            Value::Object(o) => {
                let kind = o.get("type").and_then(Value::as_str).unwrap_or(if tts {
                    "tts"
                } else {
                    "audio"
                });
                let value = o
                    .get("value")
                    .or_else(|| o.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                (
                    if kind == "tts" { "tts" } else { "audio" },
                    value.to_string(),
                )
            }
            _ => continue,
        };
        if kind == "tts" {
            let text = cx.template(a, &format!("{path}.value"), &value);
            parts.push(Y::map(vec![("text", Y::str(text))]));
        } else if value.contains("{{") {
            cx.report.push_unsupported(
                place(a, &path),
                format!(
                    "audio file chosen by an expression (`{value}`) is not supported: left out"
                ),
            );
        } else if !value.is_empty() {
            cx.report.push_config(
                place(a, &path),
                format!("audio file `{value}`: put it where ringdesk reads prompt audio"),
            );
            parts.push(Y::map(vec![("audio", Y::str(value))]));
        }
    }
    if let Some(v) = a
        .prop("promptDynamic")
        .filter(|v| !matches!(v, Value::String(s) if s.is_empty()))
    {
        cx.report.push_unsupported(
            place(a, &a.prop_path("promptDynamic")),
            format!("audio prompt variable `{v}` is not supported: left out"),
        );
    }
    if parts.is_empty() {
        cx.report.push_defect(
            place(a, &a.prop_path(key)),
            "the prompt is empty: nothing is played",
        );
    }
    let mut pairs: Vec<(String, Y)> = match parts.len() {
        1 => match parts.pop() {
            Some(Y::Map(p)) => p,
            _ => Vec::new(),
        },
        0 => vec![("text".into(), Y::str(""))],
        _ => vec![("segments".into(), Y::Seq(parts))],
    };
    if let Some(voice) = a.text("voiceLanguage") {
        let language: Vec<&str> = voice.split('-').take(2).collect();
        if language.len() == 2
            && language
                .iter()
                .all(|p| p.chars().all(|c| c.is_ascii_alphabetic()))
        {
            pairs.push(("language".into(), Y::str(language.join("-"))));
        }
        if cx.once(format!("voice {voice}")) {
            cx.report.push_config(
                place(a, &a.prop_path("voiceLanguage")),
                format!(
                    "voice `{voice}`: spoken by the engine ringdesk routes this language to \
                 ([tts.languages]); one line for all activities using it"
                ),
            );
        }
    }
    for (field, neutral) in [("speakingRate", "1"), ("volumeGainDb", "0")] {
        if let Some(v) = a.text(field) {
            if v.parse::<f64>().ok() != neutral.parse::<f64>().ok() {
                cx.report.push_unsupported(
                    place(a, &a.prop_path(field)),
                    format!("{field} {v} is not supported: spoken at the engine's default"),
                );
            }
        }
    }
    pairs.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
    Y::Map(pairs)
}
