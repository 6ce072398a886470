//! Writing the flow's YAML text: a tiny value tree and a block-style emitter. Strings are
//! written plain only when that cannot be misread (no booleans, numbers or YAML syntax),
//! otherwise double-quoted with JSON escaping, which YAML reads the same way.

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Y {
    Str(String),
    /// Written as it is (numbers, durations: checked by the caller).
    Plain(String),
    Bool(bool),
    Map(Vec<(String, Y)>),
    Seq(Vec<Y>),
}

impl Y {
    pub fn str(s: impl Into<String>) -> Y {
        Y::Str(s.into())
    }

    pub fn map(pairs: Vec<(&str, Y)>) -> Y {
        Y::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
}

/// A scalar string as YAML.
pub(crate) fn scalar(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
    }
}

/// Writes `pairs` as a block mapping at `indent` spaces.
pub(crate) fn write_map(out: &mut String, indent: usize, pairs: &[(String, Y)]) {
    let pad = " ".repeat(indent);
    for (k, v) in pairs {
        out.push_str(&pad);
        out.push_str(&scalar(k));
        out.push(':');
        write_value(out, indent, v);
    }
}

/// Writes a value after `key:` (on the same line when it is a scalar or empty).
fn write_value(out: &mut String, indent: usize, v: &Y) {
    match v {
        Y::Map(pairs) if pairs.is_empty() => out.push_str(" {}\n"),
        Y::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Y::Map(pairs) => {
            out.push('\n');
            write_map(out, indent + 2, pairs);
        }
        Y::Seq(items) => {
            out.push('\n');
            let pad = " ".repeat(indent + 2);
            for item in items {
                match item {
                    Y::Map(pairs) if !pairs.is_empty() => {
                        let mut inner = String::new();
                        write_map(&mut inner, indent + 4, pairs);
                        out.push_str(&pad);
                        out.push_str("- ");
                        out.push_str(inner.trim_start());
                    }
                    other => {
                        out.push_str(&pad);
                        out.push('-');
                        write_value(out, indent + 2, other);
                    }
                }
            }
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn inline(v: &Y) -> String {
    match v {
        Y::Str(s) => scalar(s),
        Y::Plain(s) => s.clone(),
        Y::Bool(b) => b.to_string(),
        Y::Map(_) => "{}".into(),
        Y::Seq(_) => "[]".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_plain_only_when_safe() {
        assert_eq!(scalar("Greeting"), "Greeting");
        assert_eq!(scalar("/api/v2/search.json"), "/api/v2/search.json");
        assert_eq!(scalar("1"), "\"1\"");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("null"), "\"null\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("{{ x }}"), "\"{{ x }}\"");
        assert_eq!(scalar("two\nlines"), "\"two\\nlines\"");
        assert_eq!(scalar(""), "\"\"");
    }

    #[test]
    fn blocks_nest() {
        let mut out = String::new();
        let v = Y::map(vec![
            ("play", Y::map(vec![("text", Y::str("Hi {{ x }}"))])),
            ("next", Y::str("menu")),
            ("disconnect", Y::map(vec![])),
            ("retries", Y::Plain("2".into())),
            (
                "list",
                Y::Seq(vec![Y::map(vec![("a", Y::str("b")), ("c", Y::Bool(true))])]),
            ),
        ]);
        let Y::Map(pairs) = v else { unreachable!() };
        write_map(&mut out, 2, &pairs);
        assert_eq!(
            out,
            "  play:\n    text: \"Hi {{ x }}\"\n  next: menu\n  disconnect: {}\n  retries: 2\n  list:\n    - a: b\n      c: true\n"
        );
    }
}
