//! Cardinal numbers as a sequence of reusable spoken parts, the way IVRs have long said
//! numbers from recorded words (Asterisk's `SayNumber`).
//!
//! "You are number 4321 in line" rendered whole is a new engine run for every position;
//! spoken as parts ("four", "thousand", "three hundred", "twenty-one") it reuses a
//! vocabulary of about a hundred clips per language that stays cached. Languages without
//! a word table here return `None` and their numbers are left to the engine.
//!
//! Supported: English (`en`, any region; American style, no "and") and Brazilian
//! Portuguese (`pt-BR`, masculine forms, the "e" conjunction placed as the grammar wants).

use crate::language::Language;

/// Largest number spoken in parts (up to the millions).
pub const MAX_NUMBER: u32 = 999_999_999;

/// The spoken parts of `n`, or `None` when the language has no word table here or the
/// number is above [`MAX_NUMBER`].
pub fn number_parts(language: &Language, n: u32) -> Option<Vec<String>> {
    if n > MAX_NUMBER {
        return None;
    }
    match (language.primary(), language.region()) {
        ("en", _) => Some(english(n)),
        ("pt", Some("BR")) => Some(portuguese(n)),
        _ => None,
    }
}

/// Whether [`number_parts`] speaks numbers in this language.
pub fn speaks_numbers(language: &Language) -> bool {
    number_parts(language, 0).is_some()
}

/// `n` split into groups of three digits, highest first: (millions, thousands, units).
fn groups(n: u32) -> [u32; 3] {
    [n / 1_000_000, n / 1000 % 1000, n % 1000]
}

const EN_ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const EN_TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// 1..=99 as one part ("twenty-one").
fn english_below_100(n: u32) -> String {
    let (tens, ones) = ((n / 10) as usize, (n % 10) as usize);
    match (tens, ones) {
        (0 | 1, _) => EN_ONES[n as usize].to_owned(),
        (t, 0) => EN_TENS[t].to_owned(),
        (t, o) => format!("{}-{}", EN_TENS[t], EN_ONES[o]),
    }
}

/// 1..=999: "three hundred", "twenty-one".
fn english_group(g: u32, out: &mut Vec<String>) {
    if g >= 100 {
        out.push(format!("{} hundred", EN_ONES[(g / 100) as usize]));
    }
    if !g.is_multiple_of(100) {
        out.push(english_below_100(g % 100));
    }
}

fn english(n: u32) -> Vec<String> {
    if n == 0 {
        return vec![EN_ONES[0].to_owned()];
    }
    let mut out = Vec::new();
    let [millions, thousands, units] = groups(n);
    for (g, scale) in [(millions, Some("million")), (thousands, Some("thousand"))] {
        if g > 0 {
            english_group(g, &mut out);
            out.extend(scale.map(str::to_owned));
        }
    }
    if units > 0 {
        english_group(units, &mut out);
    }
    out
}

const PT_ONES: [&str; 20] = [
    "zero",
    "um",
    "dois",
    "três",
    "quatro",
    "cinco",
    "seis",
    "sete",
    "oito",
    "nove",
    "dez",
    "onze",
    "doze",
    "treze",
    "quatorze",
    "quinze",
    "dezesseis",
    "dezessete",
    "dezoito",
    "dezenove",
];
const PT_TENS: [&str; 10] = [
    "",
    "",
    "vinte",
    "trinta",
    "quarenta",
    "cinquenta",
    "sessenta",
    "setenta",
    "oitenta",
    "noventa",
];
const PT_HUNDREDS: [&str; 10] = [
    "",
    "cento",
    "duzentos",
    "trezentos",
    "quatrocentos",
    "quinhentos",
    "seiscentos",
    "setecentos",
    "oitocentos",
    "novecentos",
];

/// 1..=99 as one part ("vinte e um").
fn portuguese_below_100(n: u32) -> String {
    let (tens, ones) = ((n / 10) as usize, (n % 10) as usize);
    match (tens, ones) {
        (0 | 1, _) => PT_ONES[n as usize].to_owned(),
        (t, 0) => PT_TENS[t].to_owned(),
        (t, o) => format!("{} e {}", PT_TENS[t], PT_ONES[o]),
    }
}

/// 1..=999; `joined` puts the conjunction "e" before the group (it follows a larger
/// group and is the last one spoken: "mil e quinhentos", "dois mil e vinte").
fn portuguese_group(g: u32, joined: bool, out: &mut Vec<String>) {
    let (h, rest) = (g / 100, g % 100);
    let e = if joined { "e " } else { "" };
    match (h, rest) {
        (0, r) => out.push(format!("{e}{}", portuguese_below_100(r))),
        (1, 0) => out.push(format!("{e}cem")),
        (h, 0) => out.push(format!("{e}{}", PT_HUNDREDS[h as usize])),
        (h, r) => {
            out.push(format!("{e}{}", PT_HUNDREDS[h as usize]));
            out.push(format!("e {}", portuguese_below_100(r)));
        }
    }
}

fn portuguese(n: u32) -> Vec<String> {
    if n == 0 {
        return vec![PT_ONES[0].to_owned()];
    }
    let gs = groups(n);
    // The last group spoken takes "e" after a larger one when it is below a hundred or
    // a round hundred (1.500 "mil e quinhentos", 1.320 "mil trezentos e vinte").
    let first = gs.iter().position(|&g| g > 0).unwrap_or(2);
    let last = gs.iter().rposition(|&g| g > 0).unwrap_or(2);
    let mut out = Vec::new();
    for (i, &g) in gs.iter().enumerate() {
        if g == 0 {
            continue;
        }
        let joined = i == last && i != first && (g < 100 || g.is_multiple_of(100));
        match (i, g) {
            (0, 1) => out.push("um milhão".to_owned()),
            (0, g) => {
                portuguese_group(g, joined, &mut out);
                out.push("milhões".to_owned());
            }
            // "mil", never "um mil".
            (1, 1) => out.push(if joined { "e mil" } else { "mil" }.to_owned()),
            (1, g) => {
                portuguese_group(g, joined, &mut out);
                out.push("mil".to_owned());
            }
            (_, g) => portuguese_group(g, joined, &mut out),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(tag: &str, n: u32) -> String {
        number_parts(&Language::parse(tag).unwrap(), n)
            .unwrap()
            .join(" | ")
    }

    #[test]
    fn english_numbers() {
        let cases = [
            (0, "zero"),
            (7, "seven"),
            (13, "thirteen"),
            (20, "twenty"),
            (21, "twenty-one"),
            (99, "ninety-nine"),
            (100, "one hundred"),
            (105, "one hundred | five"),
            (320, "three hundred | twenty"),
            (1000, "one | thousand"),
            (1001, "one | thousand | one"),
            (4321, "four | thousand | three hundred | twenty-one"),
            (20_000, "twenty | thousand"),
            (999_999, "nine hundred | ninety-nine | thousand | nine hundred | ninety-nine"),
            (1_000_000, "one | million"),
            (2_000_017, "two | million | seventeen"),
            (MAX_NUMBER, "nine hundred | ninety-nine | million | nine hundred | ninety-nine | thousand | nine hundred | ninety-nine"),
        ];
        for (n, want) in cases {
            assert_eq!(say("en-US", n), want, "{n}");
        }
        assert_eq!(say("en-GB", 42), "forty-two", "any English region");
    }

    #[test]
    fn brazilian_portuguese_numbers() {
        let cases = [
            (0, "zero"),
            (1, "um"),
            (14, "quatorze"),
            (16, "dezesseis"),
            (21, "vinte e um"),
            (100, "cem"),
            (101, "cento | e um"),
            (110, "cento | e dez"),
            (200, "duzentos"),
            (999, "novecentos | e noventa e nove"),
            (1000, "mil"),
            (1001, "mil | e um"),
            (1020, "mil | e vinte"),
            (1100, "mil | e cem"),
            (1320, "mil | trezentos | e vinte"),
            (1500, "mil | e quinhentos"),
            (2000, "dois | mil"),
            (2345, "dois | mil | trezentos | e quarenta e cinco"),
            (21_000, "vinte e um | mil"),
            (100_000, "cem | mil"),
            (101_000, "cento | e um | mil"),
            (1_000_000, "um milhão"),
            (1_001_000, "um milhão | e mil"),
            (1_000_500, "um milhão | e quinhentos"),
            (2_300_000, "dois | milhões | e trezentos | mil"),
            (3_000_007, "três | milhões | e sete"),
        ];
        for (n, want) in cases {
            assert_eq!(say("pt-BR", n), want, "{n}");
        }
    }

    #[test]
    fn other_languages_and_large_numbers_are_left_to_the_engine() {
        let pt = Language::parse("pt-PT").unwrap();
        assert_eq!(number_parts(&pt, 5), None, "European Portuguese differs");
        assert!(!speaks_numbers(&Language::parse("es-ES").unwrap()));
        assert!(speaks_numbers(&Language::parse("en-US").unwrap()));
        let en = Language::parse("en-US").unwrap();
        assert_eq!(number_parts(&en, MAX_NUMBER + 1), None);
    }

    #[test]
    fn the_vocabulary_stays_small() {
        // Every number up to 100,000 in both languages uses a bounded set of parts: that
        // is what keeps them cached.
        for tag in ["en-US", "pt-BR"] {
            let lang = Language::parse(tag).unwrap();
            let mut vocab = std::collections::HashSet::new();
            for n in 0..=100_000 {
                vocab.extend(number_parts(&lang, n).unwrap());
            }
            assert!(vocab.len() < 250, "{tag}: {} parts", vocab.len());
        }
    }
}
