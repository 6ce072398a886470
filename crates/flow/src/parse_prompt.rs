//! Reading prompts (`play`, menu and collect prompts) from YAML: a plain string, a
//! per-language map, or a mapping with `text`/`audio`/`segments`/`language`/`voice`.

use marked_yaml::Node;

use crate::diag::Diags;
use crate::model::{Prompt, PromptPart, Text};
use crate::parse_common::Refs;
use crate::yaml::{node_pos, pos, scalar_str, Fields};

const PROMPT_KEYS: [&str; 7] = [
    "text",
    "audio",
    "segments",
    "language",
    "voice",
    "interruptible",
    "wait",
];

/// Reads a prompt. `interruptible` is the default when the prompt does not say.
pub(crate) fn parse_prompt(
    d: &mut Diags,
    refs: &mut Refs,
    n: &Node,
    node: &str,
    interruptible: bool,
) -> Option<Prompt> {
    let structured = n
        .as_mapping()
        .is_some_and(|m| m.keys().any(|k| PROMPT_KEYS.contains(&k.as_str())));
    if !structured {
        let text = parse_text(d, refs, n, node)?;
        return Some(Prompt {
            parts: vec![PromptPart::Text(text)],
            language: None,
            voice: None,
            interruptible,
            wait: true,
        });
    }
    let m = n.as_mapping()?;
    let f = Fields::new(m, Some(node), node_pos(n));
    f.check_keys(d, "prompt", &PROMPT_KEYS);
    let mut parts = Vec::new();
    let has_text = f.get("text").is_some();
    let has_audio = f.get("audio").is_some();
    let has_segments = f.get("segments").is_some();
    if (has_text || has_audio) && has_segments || has_text && has_audio {
        d.error(
            node_pos(n),
            Some(node),
            "a prompt has either `text`, `audio` or `segments` (use `segments` to play several)",
        );
    }
    if let Some(t) = f.get("text") {
        parts.extend(parse_text(d, refs, t, node).map(PromptPart::Text));
    } else if let Some(a) = f.get("audio") {
        parts.extend(parse_audio(d, a, node));
    } else if let Some(s) = f.get("segments") {
        match s.as_sequence() {
            Some(seq) if !seq.is_empty() => {
                for item in seq.iter() {
                    parts.extend(parse_segment(d, refs, item, node));
                }
            }
            _ => d.error(
                node_pos(s),
                Some(node),
                "`segments` must be a non-empty list of `text:` or `audio:` entries",
            ),
        }
    }
    let language = f.str(d, "language");
    if let (Some(l), Some(n)) = (&language, f.get("language")) {
        refs.template(l, node_pos(n), node);
    }
    Some(Prompt {
        parts,
        language,
        voice: f.str(d, "voice"),
        interruptible: f.bool(d, "interruptible", interruptible),
        wait: f.bool(d, "wait", true),
    })
}

fn parse_segment(d: &mut Diags, refs: &mut Refs, item: &Node, node: &str) -> Option<PromptPart> {
    let Some(m) = item.as_mapping() else {
        return parse_text(d, refs, item, node).map(PromptPart::Text);
    };
    let f = Fields::new(m, Some(node), node_pos(item));
    f.check_keys(d, "segment", &["text", "audio"]);
    match (f.get("text"), f.get("audio")) {
        (Some(t), None) => parse_text(d, refs, t, node).map(PromptPart::Text),
        (None, Some(a)) => parse_audio(d, a, node),
        _ => {
            d.error(
                node_pos(item),
                Some(node),
                "a segment has exactly one of `text` or `audio`",
            );
            None
        }
    }
}

fn parse_audio(d: &mut Diags, n: &Node, node: &str) -> Option<PromptPart> {
    let file = scalar_str(d, n, Some(node), "audio")?;
    if file.trim().is_empty() {
        d.error(node_pos(n), Some(node), "`audio` needs a file name");
        return None;
    }
    Some(PromptPart::Audio(file))
}

/// Text: a string, or a map from language tag to string.
pub(crate) fn parse_text(d: &mut Diags, refs: &mut Refs, n: &Node, node: &str) -> Option<Text> {
    if let Some(s) = n.as_scalar() {
        refs.template(s.as_str(), node_pos(n), node);
        return Some(Text::Plain(s.as_str().to_string()));
    }
    let Some(m) = n.as_mapping() else {
        d.error(
            node_pos(n),
            Some(node),
            "text must be a string or a map from language (e.g. en-US) to string",
        );
        return None;
    };
    if m.is_empty() {
        d.error(node_pos(n), Some(node), "text has no language entries");
        return None;
    }
    let mut list = Vec::new();
    for (lang, value) in m.iter() {
        let tag = lang.as_str();
        let valid_tag = !tag.is_empty()
            && tag.len() <= 35
            && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid_tag {
            d.error(
                pos(lang.span()),
                Some(node),
                format!("`{tag}` is not a language tag (write e.g. en-US or pt-BR)"),
            );
            continue;
        }
        let Some(text) = scalar_str(d, value, Some(node), tag) else {
            continue;
        };
        refs.template(&text, node_pos(value), node);
        list.push((tag.to_string(), text));
    }
    Some(Text::ByLanguage(list))
}
