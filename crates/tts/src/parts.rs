//! Splits a prompt's text at its numbers so each piece can be rendered and cached on
//! its own: the words around a number are shared by every caller, and the number is
//! spoken from [`crate::numbers`]' small vocabulary.
//!
//! Only plain cardinals are split: a run of ASCII digits standing alone (after a space,
//! an opening bracket or quote, or at the start; before a space, closing punctuation or
//! the end). Decimals, times, grouped digits ("1,234"), codes with leading zeros, signed
//! numbers and numbers joined to letters ("3rd", "A12") are left to the engine, which
//! reads them better in context. A text with more than [`MAX_NUMBERS`] numbers is left
//! whole (it is not a short announcement).

use std::time::Duration;

use crate::audio::Audio;
use crate::language::Language;
use crate::numbers::{number_parts, MAX_NUMBER};

/// Most numbers split out of one text.
pub const MAX_NUMBERS: usize = 8;
/// Silence kept before each rendered part.
pub const PART_LEAD: Duration = Duration::from_millis(5);
/// Silence kept after each rendered part.
pub const PART_TAIL: Duration = Duration::from_millis(40);
/// Samples quieter than this (about -42 dBFS) count as the engine's silence.
pub const PART_SILENCE: i16 = 256;

/// A rendered part trimmed of the engine's pauses: engines end every utterance with
/// ~300 ms of silence, which would break a sentence spoken in parts into single words.
pub fn trim_part(audio: &Audio) -> Audio {
    audio.trim_silence(PART_SILENCE, PART_LEAD, PART_TAIL)
}

/// One piece of a split prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Words of the prompt between numbers (varies with the prompt).
    Text(String),
    /// A word of a number's vocabulary (bounded: worth keeping).
    Word(String),
}

impl Part {
    /// The text to render.
    pub fn text(&self) -> &str {
        match self {
            Part::Text(t) | Part::Word(t) => t,
        }
    }
}

/// The text split around its numbers, or `None` when there is nothing to split (no
/// plain number, a language without number words, too many numbers).
pub fn split_numbers(text: &str, language: &Language) -> Option<Vec<Part>> {
    let numbers = find_numbers(text)?;
    let mut parts = Vec::new();
    let mut at = 0;
    for (start, end, n) in numbers {
        push_text(&mut parts, &text[at..start]);
        let words = number_parts(language, n)?;
        parts.extend(words.into_iter().map(Part::Word));
        at = end;
    }
    push_text(&mut parts, &text[at..]);
    Some(parts)
}

/// Keeps a stretch of text if it has something to say (punctuation alone is dropped,
/// and so is punctuation left at its start by the number before it).
fn push_text(parts: &mut Vec<Part>, text: &str) {
    let t = text
        .trim_start_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
        .trim_end();
    if t.chars().any(char::is_alphanumeric) {
        parts.push(Part::Text(t.to_owned()));
    }
}

/// Byte ranges and values of the plain numbers in `text`; `None` if there are none or
/// more than [`MAX_NUMBERS`].
fn find_numbers(text: &str) -> Option<Vec<(usize, usize, u32)>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let before = text[..start].chars().next_back();
        let after = text[i..].chars().next();
        let after_next = text[i..].chars().nth(1);
        if stands_alone(before, after, after_next) {
            let digits = &text[start..i];
            let leading_zero = digits.len() > 1 && digits.starts_with('0');
            match digits.parse::<u32>() {
                Ok(n) if n <= MAX_NUMBER && !leading_zero => found.push((start, i, n)),
                _ => {}
            }
        }
    }
    (!found.is_empty() && found.len() <= MAX_NUMBERS).then_some(found)
}

/// Whether a digit run between `before` and `after` (and the character after that) is
/// a plain number.
fn stands_alone(before: Option<char>, after: Option<char>, after_next: Option<char>) -> bool {
    let before_ok = before.is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '"' | '\''));
    let after_ok = match after {
        None => true,
        Some(c) if c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '!' | '?' | ';') => true,
        // "3." ends a sentence, "3.5" is a decimal; likewise "3," and "1,234", "10:30".
        Some('.' | ',' | ':') => !after_next.is_some_and(|c| c.is_ascii_digit()),
        Some(_) => false,
    };
    before_ok && after_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, tag: &str) -> Option<Vec<String>> {
        split_numbers(text, &Language::parse(tag).unwrap()).map(|parts| {
            parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => format!("T:{t}"),
                    Part::Word(w) => format!("W:{w}"),
                })
                .collect()
        })
    }

    #[test]
    fn a_queue_announcement_splits_at_its_numbers() {
        assert_eq!(
            split(
                "You are number 4321 in line. Your estimated wait is about 3 minutes. Thank you for holding.",
                "en-US"
            )
            .unwrap(),
            [
                "T:You are number",
                "W:four",
                "W:thousand",
                "W:three hundred",
                "W:twenty-one",
                "T:in line. Your estimated wait is about",
                "W:three",
                "T:minutes. Thank you for holding.",
            ]
        );
        assert_eq!(
            split("Você é o número 12 na fila.", "pt-BR").unwrap(),
            ["T:Você é o número", "W:doze", "T:na fila."]
        );
    }

    #[test]
    fn numbers_at_the_edges_and_before_punctuation() {
        assert_eq!(split("42", "en-US").unwrap(), ["W:forty-two"]);
        assert_eq!(
            split("Line 7.", "en-US").unwrap(),
            ["T:Line", "W:seven"],
            "punctuation alone is not rendered"
        );
        assert_eq!(
            split("(3) items, 5, done", "en-US").unwrap(),
            ["W:three", "T:items,", "W:five", "T:done"]
        );
    }

    #[test]
    fn numbers_the_engine_reads_better_are_left_alone() {
        for text in [
            "version 3.5 is out",
            "at 10:30 today",
            "1,234 callers",
            "code 0042",
            "the 3rd caller",
            "ticket A12",
            "minus -4 degrees",
            "call 5551234567",
            "no numbers here",
            "",
        ] {
            assert_eq!(split(text, "en-US"), None, "{text:?}");
        }
        assert_eq!(split("You are number 5", "es-ES"), None, "no word table");
        let many = "1 2 3 4 5 6 7 8 9";
        assert_eq!(split(many, "en-US"), None, "too many numbers");
        assert_eq!(split("1 2 3 4 5 6 7 8", "en-US").unwrap().len(), 8);
    }

    #[test]
    fn never_panics_on_odd_text() {
        let lang = Language::parse("en-US").unwrap();
        for text in [
            "é1é",
            "1é",
            "é 1",
            "１２",
            "9999999999 1",
            "\u{0}5\u{0}",
            "5 .",
        ] {
            let _ = split_numbers(text, &lang);
        }
        assert_eq!(split("é 1", "en-US").unwrap(), ["T:é", "W:one"]);
    }
}
