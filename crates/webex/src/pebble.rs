//! Pebble (Webex's template language) to minijinja (ringdesk's): templates (`Hello
//! {{ userName }}`) and expressions (`{{ ticketID == "null" }}`).
//!
//! Names are resolved by the importer ([`Resolver`]): flow variables keep their (cleaned)
//! names, `NewPhoneContact.ANI` becomes `ani`, `LookupUser.httpStatusCode` a variable
//! the HTTP node writes. Pebble-only forms are rewritten: `null` → `none`, `equals` →
//! `==`, `a contains b` → `b in a`, `c ? a : b` → `a if c else b`, the map form of
//! `replace` → one `replace(from, to)` per entry, `slice(a, b)` → `[a:b]`, `is null` →
//! `is none`, `is empty` → `not`, `min`/`max` calls → the filters. Anything else that
//! cannot be translated is reported ([`Translation::unsupported`]) and replaced by `""`
//! (a value Pebble's lenient rendering of a missing value would also give) so the flow
//! still loads; approximations are reported as notes.

use std::collections::BTreeSet;

use crate::pebble_parse::{parse, Expr};

/// How the importer answers a name in an expression.
pub(crate) trait Resolver {
    /// `head.attrs[0].attrs[1]...`: the ringdesk variable for `head` plus the first
    /// `consumed` attributes, or why it cannot be had.
    fn resolve(&mut self, head: &str, attrs: &[String]) -> Result<(String, usize), String>;
}

/// A translated template or expression, with what could not be translated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Translation {
    pub text: String,
    /// Constructs with no ringdesk equivalent (replaced so the flow still loads).
    pub unsupported: Vec<String>,
    /// Translated, but not exactly the same (e.g. `/` became `//`).
    pub notes: Vec<String>,
}

/// Filters minijinja has with Pebble's meaning.
const SAME_FILTERS: [&str; 16] = [
    "abs",
    "capitalize",
    "default",
    "first",
    "last",
    "length",
    "lower",
    "upper",
    "title",
    "trim",
    "join",
    "reverse",
    "sort",
    "urlencode",
    "split",
    "escape",
];

/// Pebble tests and their minijinja names.
const TESTS: [(&str, &str); 5] = [
    ("null", "none"),
    ("even", "even"),
    ("odd", "odd"),
    ("defined", "defined"),
    ("iterable", "iterable"),
];

/// Translates a template (text with `{{ }}`, `{% %}` and `{# #}`).
pub(crate) fn template(src: &str, r: &mut dyn Resolver) -> Translation {
    let mut t = Tr {
        r,
        out: Translation::default(),
        locals: BTreeSet::new(),
        blocks: Vec::new(),
    };
    let mut rest = src;
    let mut text = String::new();
    while let Some(at) = find_open(rest) {
        text.push_str(&rest[..at]);
        let kind = &rest[at..at + 2];
        let body_start = at + 2;
        let close = match kind {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        let Some(len) = find_close(&rest[body_start..], close) else {
            t.out
                .unsupported
                .push(format!("`{kind}` is never closed: kept as text"));
            text.push_str(&format!("{{{{ {:?} }}}}", kind));
            rest = &rest[body_start..];
            continue;
        };
        let inner = &rest[body_start..body_start + len];
        rest = &rest[body_start + len + 2..];
        match kind {
            "{#" => {}
            "{{" => {
                let (l, core, rt) = trim_markers(inner);
                let e = t.expression(core);
                text.push_str(&format!("{{{{{l} {e} {rt}}}}}"));
            }
            _ => {
                let (l, core, rt) = trim_markers(inner);
                if let Some(tag) = t.tag(core) {
                    text.push_str(&format!("{{%{l} {tag} {rt}%}}"));
                }
            }
        }
    }
    text.push_str(rest);
    while let Some(block) = t.blocks.pop() {
        t.out.unsupported.push(format!(
            "`{{% {block} %}}` is never closed: closed at the end of the text"
        ));
        text.push_str(&format!("{{% end{block} %}}"));
    }
    // The safety net: what minijinja cannot parse keeps only its plain text.
    if minijinja::Environment::new()
        .template_from_str(&text)
        .is_err()
    {
        t.out
            .unsupported
            .push("the text cannot be translated as a whole: only its plain text is kept".into());
        text = plain_text(src);
    }
    t.out.text = text;
    t.out
}

/// `src` without its tags, expressions and comments.
fn plain_text(src: &str) -> String {
    let mut out = String::new();
    let mut rest = src;
    while let Some(at) = find_open(rest) {
        out.push_str(&rest[..at]);
        let close = match &rest[at..at + 2] {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        match find_close(&rest[at + 2..], close) {
            Some(len) => rest = &rest[at + 2 + len + 2..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// Translates an expression: a whole `{{ ... }}` (as Webex writes conditions) or bare.
pub(crate) fn expression(src: &str, r: &mut dyn Resolver) -> Translation {
    let trimmed = src.trim();
    let core = match trimmed
        .strip_prefix("{{")
        .and_then(|s| s.strip_suffix("}}"))
    {
        Some(inner) if find_open(inner).is_none() => inner,
        _ if find_open(trimmed).is_some() => {
            return Translation {
                text: "false".into(),
                unsupported: vec![format!(
                    "`{trimmed}` is not one expression (text around `{{{{ }}}}`): the condition is false"
                )],
                notes: Vec::new(),
            }
        }
        _ => trimmed,
    };
    let mut t = Tr {
        r,
        out: Translation::default(),
        locals: BTreeSet::new(),
        blocks: Vec::new(),
    };
    let (_, core, _) = trim_markers(core);
    t.out.text = t.expression(core);
    if minijinja::Environment::new()
        .compile_expression(&t.out.text)
        .is_err()
    {
        t.out.unsupported.push(format!(
            "`{}` cannot be translated: the condition is false",
            t.out.text
        ));
        t.out.text = "false".into();
    }
    t.out
}

fn find_open(s: &str) -> Option<usize> {
    ["{{", "{%", "{#"].iter().filter_map(|o| s.find(o)).min()
}

/// Where `close` ends the tag body, outside string literals.
fn find_close(s: &str, close: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut quote = None;
    let mut i = 0;
    while i < b.len() {
        match quote {
            Some(q) => {
                if b[i] == b'\\' {
                    i += 1;
                } else if b[i] == q {
                    quote = None;
                }
            }
            None if b[i] == b'"' || b[i] == b'\'' => quote = Some(b[i]),
            None if s[i..].starts_with(close) => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

/// Whitespace-control markers (`{{-`, `-}}`) and the body between them.
fn trim_markers(inner: &str) -> (&'static str, &str, &'static str) {
    let (l, rest) = match inner.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", inner),
    };
    let (core, r) = match rest.strip_suffix('-') {
        Some(c) => (c, "-"),
        None => (rest, ""),
    };
    (l, core.trim(), r)
}

struct Tr<'a> {
    r: &'a mut dyn Resolver,
    out: Translation,
    /// Names bound by `{% for %}` and `{% set %}`.
    locals: BTreeSet<String>,
    /// Open `if`/`for` blocks.
    blocks: Vec<&'static str>,
}

impl Tr<'_> {
    fn expression(&mut self, src: &str) -> String {
        match parse(src) {
            Ok(e) => self.print(&e, 0),
            Err(why) => {
                self.out.unsupported.push(format!(
                    "`{src}` cannot be translated ({why}): replaced by \"\""
                ));
                "\"\"".into()
            }
        }
    }

    /// A `{% %}` tag; `None` drops it (reported).
    fn tag(&mut self, src: &str) -> Option<String> {
        let (word, rest) = src.split_once(char::is_whitespace).unwrap_or((src, ""));
        let rest = rest.trim();
        let top = self.blocks.last().copied();
        match word {
            "if" => {
                self.blocks.push("if");
                Some(format!("if {}", self.expression(rest)))
            }
            "elseif" | "elif" if top == Some("if") => {
                Some(format!("elif {}", self.expression(rest)))
            }
            "else" if top.is_some() => Some("else".into()),
            "endif" | "endfor" if Some(&word[3..]) == top => {
                self.blocks.pop();
                Some(word.to_string())
            }
            "for" => {
                let Some((var, list)) = rest.split_once(" in ") else {
                    return self.drop_tag(src);
                };
                let var = var.trim().to_string();
                let list = self.expression(list);
                self.locals.insert(var.clone());
                self.blocks.push("for");
                Some(format!("for {var} in {list}"))
            }
            "set" => {
                let Some((var, value)) = rest.split_once('=') else {
                    return self.drop_tag(src);
                };
                let var = var.trim().to_string();
                let value = self.expression(value);
                self.locals.insert(var.clone());
                Some(format!("set {var} = {value}"))
            }
            _ => self.drop_tag(src),
        }
    }

    fn drop_tag(&mut self, src: &str) -> Option<String> {
        self.out
            .unsupported
            .push(format!("tag `{{% {src} %}}` is not supported: left out"));
        None
    }

    fn unsupported(&mut self, what: String) -> String {
        self.out.unsupported.push(what);
        "\"\"".into()
    }

    /// Prints `e` as minijinja, in parentheses when it binds looser than `min`.
    fn print(&mut self, e: &Expr, min: u8) -> String {
        let (text, prec) = self.print_inner(e);
        if prec < min {
            format!("({text})")
        } else {
            text
        }
    }

    fn print_inner(&mut self, e: &Expr) -> (String, u8) {
        const PRIMARY: u8 = 9;
        match e {
            Expr::Name(_) | Expr::Attr(..) if chain(e).is_some() => {
                let (head, attrs) = chain(e).unwrap_or_default();
                (self.name(&head, &attrs), PRIMARY)
            }
            Expr::Name(n) => (n.clone(), PRIMARY),
            Expr::Attr(base, a) => (format!("{}.{a}", self.print(base, PRIMARY)), PRIMARY),
            Expr::Str(s, dq) => {
                if *dq && s.contains("#{") {
                    self.out.unsupported.push(format!(
                        "string interpolation `#{{...}}` in {s:?} is not supported: kept as text"
                    ));
                }
                (quote(s), PRIMARY)
            }
            Expr::Num(n) => (n.clone(), PRIMARY),
            Expr::Bool(b) => (b.to_string(), PRIMARY),
            Expr::Null => ("none".into(), PRIMARY),
            Expr::List(items) => {
                let items: Vec<String> = items.iter().map(|i| self.print(i, 0)).collect();
                (format!("[{}]", items.join(", ")), PRIMARY)
            }
            Expr::Map(items) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", self.print(k, 0), self.print(v, 0)))
                    .collect();
                (format!("{{{}}}", items.join(", ")), PRIMARY)
            }
            Expr::Index(base, i) => (
                format!("{}[{}]", self.print(base, PRIMARY), self.print(i, 0)),
                PRIMARY,
            ),
            Expr::Call(f, args) => (self.call(f, args), PRIMARY),
            Expr::Filter(base, f, args) => self.filter(base, f, args),
            Expr::Test(base, negated, test, args) => {
                let b = self.print(base, PRIMARY);
                if test == "empty" {
                    let t = if *negated {
                        format!("not not {b}")
                    } else {
                        format!("not {b}")
                    };
                    return (t, 3);
                }
                let Some((_, name)) = TESTS.iter().find(|(p, _)| *p == test.as_str()) else {
                    return (
                        self.unsupported(format!("test `is {test}` is not supported")),
                        PRIMARY,
                    );
                };
                let not = if *negated { "not " } else { "" };
                let args = if args.is_empty() {
                    String::new()
                } else {
                    let a: Vec<String> = args.iter().map(|a| self.print(a, 0)).collect();
                    format!("({})", a.join(", "))
                };
                (format!("{b} is {not}{name}{args}"), 4)
            }
            Expr::Not(x) => (format!("not {}", self.print(x, 3)), 3),
            Expr::Neg(x) => (format!("-{}", self.print(x, 8)), 8),
            Expr::Cond(c, a, b) => (
                format!(
                    "{} if {} else {}",
                    self.print(a, 1),
                    self.print(c, 1),
                    self.print(b, 0)
                ),
                0,
            ),
            Expr::Binary(op, l, r) => self.binary(op, l, r),
        }
    }

    fn binary(&mut self, op: &str, l: &Expr, r: &Expr) -> (String, u8) {
        let prec = match op {
            "or" => 1,
            "and" => 2,
            "==" | "!=" | "<" | ">" | "<=" | ">=" | "contains" => 4,
            "~" => 5,
            "+" | "-" => 6,
            _ => 7,
        };
        if op == "contains" {
            let (l, r) = (self.print(l, 5), self.print(r, 5));
            return (format!("{r} in {l}"), 4);
        }
        let mut op = op.to_string();
        if op == "/" {
            if matches!(r, Expr::Num(n) if !n.contains('.')) {
                op = "//".into();
                self.out.notes.push(
                    "`/` by a whole number became `//`: Pebble divides whole numbers without a \
                     remainder (a decimal left operand now loses its fraction too)"
                        .into(),
                );
            } else {
                self.out.notes.push(
                    "`/` kept: minijinja always gives a decimal result, Pebble a whole number \
                     for whole operands"
                        .into(),
                );
            }
        }
        let l = self.print(l, prec);
        let r = self.print(r, prec + 1);
        (format!("{l} {op} {r}"), prec)
    }

    fn call(&mut self, f: &str, args: &[Expr]) -> String {
        match f {
            "max" | "min" if !args.is_empty() => {
                let a: Vec<String> = args.iter().map(|a| self.print(a, 0)).collect();
                format!("[{}] | {f}", a.join(", "))
            }
            _ => self.unsupported(format!("function `{f}()` has no ringdesk equivalent")),
        }
    }

    fn filter(&mut self, base: &Expr, f: &str, args: &[Expr]) -> (String, u8) {
        const PRIMARY: u8 = 9;
        let b = self.print(base, PRIMARY);
        let args_text = |t: &mut Self, args: &[Expr]| -> String {
            if args.is_empty() {
                return String::new();
            }
            let a: Vec<String> = args.iter().map(|a| t.print(a, 0)).collect();
            format!("({})", a.join(", "))
        };
        match f {
            "replace" => match args {
                [Expr::Map(pairs)] => {
                    let mut text = b;
                    for (k, v) in pairs {
                        let (k, v) = (self.print(k, 0), self.print(v, 0));
                        text = format!("{text} | replace({k}, {v})");
                    }
                    (text, PRIMARY)
                }
                [_, _] => (format!("{b} | replace{}", args_text(self, args)), PRIMARY),
                _ => {
                    self.out
                        .unsupported
                        .push("`replace` needs a map or two arguments: left out".into());
                    (b, PRIMARY)
                }
            },
            "slice" => match args {
                [from, to] => {
                    let (from, to) = (self.print(from, 0), self.print(to, 0));
                    (format!("{b}[{from}:{to}]"), PRIMARY)
                }
                _ => {
                    self.out
                        .unsupported
                        .push("`slice` needs two arguments: left out".into());
                    (b, PRIMARY)
                }
            },
            _ if SAME_FILTERS.contains(&f) => {
                (format!("{b} | {f}{}", args_text(self, args)), PRIMARY)
            }
            _ => {
                self.out.unsupported.push(format!(
                    "filter `{f}` has no ringdesk equivalent: left out (the value is used as it is)"
                ));
                (b, PRIMARY)
            }
        }
    }

    fn name(&mut self, head: &str, attrs: &[String]) -> String {
        if self.locals.contains(head) {
            return std::iter::once(head.to_string())
                .chain(attrs.iter().cloned())
                .collect::<Vec<_>>()
                .join(".");
        }
        match self.r.resolve(head, attrs) {
            Ok((var, consumed)) => std::iter::once(var)
                .chain(attrs.iter().skip(consumed).cloned())
                .collect::<Vec<_>>()
                .join("."),
            Err(why) => self.unsupported(why),
        }
    }
}

/// `a.b.c` as `("a", ["b", "c"])`.
fn chain(e: &Expr) -> Option<(String, Vec<String>)> {
    match e {
        Expr::Name(n) => Some((n.clone(), Vec::new())),
        Expr::Attr(base, a) => {
            let (h, mut attrs) = chain(base)?;
            attrs.push(a.clone());
            Some((h, attrs))
        }
        _ => None,
    }
}

/// A minijinja string literal.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Variables as they are; `NewPhoneContact.*` and `X.httpStatusCode` like the importer.
    struct Names;
    impl Resolver for Names {
        fn resolve(&mut self, head: &str, attrs: &[String]) -> Result<(String, usize), String> {
            match (head, attrs.first().map(String::as_str)) {
                ("NewPhoneContact", Some("ANI")) => Ok(("ani".into(), 1)),
                ("LookupUser", Some("httpStatusCode")) => {
                    Ok(("LookupUser_httpStatusCode".into(), 1))
                }
                ("NewPhoneContact", _) => Err("unknown start field".into()),
                ("ticketId", _) => Err("unknown variable `ticketId`".into()),
                _ => Ok((head.into(), 0)),
            }
        }
    }

    fn t(src: &str) -> Translation {
        template(src, &mut Names)
    }

    fn e(src: &str) -> Translation {
        expression(src, &mut Names)
    }

    #[test]
    fn variables_and_outputs() {
        assert_eq!(t("Hello {{ userName}} !").text, "Hello {{ userName }} !");
        assert_eq!(t("{{NewPhoneContact.ANI}}").text, "{{ ani }}");
        assert_eq!(
            e("{{LookupUser.httpStatusCode}}").text,
            "LookupUser_httpStatusCode"
        );
        assert_eq!(t("{{ user.name }}").text, "{{ user.name }}");
        let text = "no braces, just text";
        assert_eq!(t(text).text, text);
    }

    #[test]
    fn replace_with_a_map_becomes_one_replace_per_entry() {
        assert_eq!(
            t("{{ NewPhoneContact.ANI | replace({\"+\":\"\"}) }}").text,
            "{{ ani | replace(\"+\", \"\") }}"
        );
        assert_eq!(
            t("{{ x | replace({\"+\":\"\", \" \": \"-\"}) }}").text,
            "{{ x | replace(\"+\", \"\") | replace(\" \", \"-\") }}"
        );
    }

    #[test]
    fn comparisons_and_pebble_only_forms() {
        assert_eq!(e("{{ ticketID == \"null\" }}").text, "ticketID == \"null\"");
        assert_eq!(e("{{ a equals 'x' }}").text, "a == \"x\"");
        assert_eq!(e("{{ list contains 'x' }}").text, "\"x\" in list");
        assert_eq!(e("{{ a ? 'y' : 'n' }}").text, "\"y\" if a else \"n\"");
        assert_eq!(e("{{ x is null }}").text, "x is none");
        assert_eq!(e("{{ x is not null }}").text, "x is not none");
        assert_eq!(e("{{ x is empty }}").text, "not x");
        assert_eq!(e("{{ x == null }}").text, "x == none");
        assert_eq!(e("{{ (a or b) and c }}").text, "(a or b) and c");
        assert_eq!(e("{{ s | slice(0, 3) }}").text, "s[0:3]");
        assert_eq!(e("{{ max(a, 3) }}").text, "[a, 3] | max");
        assert_eq!(e("ticketID != 'null'").text, "ticketID != \"null\"");
    }

    #[test]
    fn whole_number_division_is_noted() {
        let r = e("{{ LookupUser.httpStatusCode / 100 == 2 }}");
        assert_eq!(r.text, "LookupUser_httpStatusCode // 100 == 2");
        assert_eq!(r.notes.len(), 1);
        assert!(r.unsupported.is_empty());
    }

    #[test]
    fn tags_translate() {
        assert_eq!(
            t("{% if a == null %}x{% elseif b %}y{% else %}z{% endif %}").text,
            "{% if a == none %}x{% elif b %}y{% else %}z{% endif %}"
        );
        assert_eq!(
            t("{% for i in items %}{{ i.id }}{% endfor %}").text,
            "{% for i in items %}{{ i.id }}{% endfor %}"
        );
        assert_eq!(t("a{# note #}b").text, "ab");
        assert_eq!(t("{{- x -}}").text, "{{- x -}}");
    }

    #[test]
    fn unbalanced_blocks_are_closed_or_dropped() {
        let r = t("{% if a %}x");
        assert_eq!(r.text, "{% if a %}x{% endif %}");
        assert_eq!(r.unsupported.len(), 1, "{r:?}");
        let r = t("x{% endif %}{% else %}");
        assert_eq!(r.text, "x");
        assert_eq!(r.unsupported.len(), 2, "{r:?}");
        let r = t("{% for i in l %}{% endif %}{% endfor %}");
        assert_eq!(r.text, "{% for i in l %}{% endfor %}");
    }

    #[test]
    fn what_minijinja_cannot_parse_keeps_its_plain_text() {
        let r = t("Hi {% for 1 in x %}there{% endfor %}!");
        assert_eq!(r.text, "Hi there!");
        assert!(
            r.unsupported.iter().any(|u| u.contains("plain text")),
            "{r:?}"
        );
    }

    #[test]
    fn untranslatable_constructs_are_reported_and_replaced() {
        let r = t("Now {{ now() }}.");
        assert_eq!(r.text, "Now {{ \"\" }}.");
        assert!(r.unsupported[0].contains("now()"), "{r:?}");
        let r = t("{{ d | date('yyyy') }}");
        assert_eq!(r.text, "{{ d }}");
        assert!(r.unsupported[0].contains("filter `date`"));
        let r = t("We found {{ticketId }}.");
        assert_eq!(r.text, "We found {{ \"\" }}.");
        assert!(r.unsupported[0].contains("ticketId"));
        let r = t("{{ a && b }}");
        assert_eq!(r.text, "{{ \"\" }}");
        assert_eq!(r.unsupported.len(), 1);
        let r = t("{% macro m() %}x");
        assert_eq!(r.text, "x");
        assert_eq!(r.unsupported.len(), 1);
        let r = t("open {{ x");
        assert!(r.unsupported[0].contains("never closed"), "{r:?}");
        let r = e("{{ a }} and {{ b }}");
        assert_eq!(r.text, "false");
        assert_eq!(r.unsupported.len(), 1);
        let r = e("{{ NewPhoneContact.Foo }}");
        assert_eq!(r.text, "\"\"");
        assert_eq!(r.unsupported, vec!["unknown start field".to_string()]);
    }
}
