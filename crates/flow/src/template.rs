//! The template engine (minijinja) as flows use it: one configured environment, rendering
//! of templates and expressions against the call's variables, and the static checks
//! (syntax, undeclared variables) used by validation.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::value::Value;
use minijinja::{Environment, UndefinedBehavior};

use crate::filters;

/// Longest rendered text a template may produce.
pub const MAX_RENDERED: usize = 64 * 1024;
/// Instruction budget of one render (bounds loops in templates).
const FUEL: u64 = 50_000;

/// Builds the environment every flow uses: Jinja2 syntax, the ringdesk filters,
/// chainable undefined values at run time (validation is strict instead).
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(32);
    env.add_filter("digits", filters::digits);
    env.add_filter("e164", filters::e164);
    env.add_filter("national", filters::national);
    env.add_filter("ticket_status", filters::ticket_status);
    env.add_filter("replace", filters::replace);
    env
}

/// Whether a string contains template syntax at all.
pub fn is_template(source: &str) -> bool {
    source.contains("{{") || source.contains("{%") || source.contains("{#")
}

/// Renders a template. Errors are returned as text (they never contain variable values
/// beyond what minijinja reports about the template itself).
pub(crate) fn render(
    env: &Environment<'static>,
    source: &str,
    vars: &BTreeMap<String, serde_json::Value>,
) -> Result<String, String> {
    if !is_template(source) {
        return Ok(source.to_string());
    }
    let out = env
        .render_str(source, Value::from_serialize(vars))
        .map_err(|e| format!("template error: {e}"))?;
    if out.len() > MAX_RENDERED {
        return Err(format!(
            "template produced {} bytes (limit {MAX_RENDERED})",
            out.len()
        ));
    }
    Ok(out)
}

/// Evaluates an expression (`ticket_id != ""`). A whole-string `{{ ... }}` wrapper, as
/// Webex writes expressions, is accepted and removed.
pub(crate) fn eval(
    env: &Environment<'static>,
    source: &str,
    vars: &BTreeMap<String, serde_json::Value>,
) -> Result<Value, String> {
    let expr = env
        .compile_expression(strip_braces(source))
        .map_err(|e| format!("expression error: {e}"))?;
    expr.eval(Value::from_serialize(vars))
        .map_err(|e| format!("expression error: {e}"))
}

/// `{{ x }}` → `x` when the braces wrap the whole string.
pub(crate) fn strip_braces(source: &str) -> &str {
    let t = source.trim();
    if let Some(inner) = t.strip_prefix("{{").and_then(|s| s.strip_suffix("}}")) {
        if !inner.contains("{{") && !inner.contains("}}") {
            return inner.trim();
        }
    }
    t
}

/// Checks a template: syntax errors, and the variables it reads that are not in `declared`.
pub(crate) fn check_template(
    env: &Environment<'static>,
    source: &str,
    declared: &BTreeSet<String>,
) -> Result<Vec<String>, String> {
    if !is_template(source) {
        return Ok(Vec::new());
    }
    let tmpl = env
        .template_from_str(source)
        .map_err(|e| format!("template syntax error: {}", error_text(&e)))?;
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !declared.contains(v) && !is_global(env, v))
        .collect();
    unknown.sort();
    Ok(unknown)
}

/// Checks an expression like [`check_template`].
pub(crate) fn check_expression(
    env: &Environment<'static>,
    source: &str,
    declared: &BTreeSet<String>,
) -> Result<Vec<String>, String> {
    let expr = env
        .compile_expression(strip_braces(source))
        .map_err(|e| format!("expression syntax error: {}", error_text(&e)))?;
    let mut unknown: Vec<String> = expr
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !declared.contains(v) && !is_global(env, v))
        .collect();
    unknown.sort();
    Ok(unknown)
}

fn is_global(env: &Environment<'static>, name: &str) -> bool {
    env.globals().any(|(n, _)| n == name)
}

fn error_text(e: &minijinja::Error) -> String {
    let text = match e.detail() {
        Some(d) => d.to_string(),
        None => e.kind().to_string(),
    };
    match e.line() {
        Some(line) if line > 1 => format!("{text} (line {line} of the template)"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: serde_json::Value) -> BTreeMap<String, serde_json::Value> {
        serde_json::from_value(v).unwrap_or_default()
    }

    fn r(src: &str, v: serde_json::Value) -> Result<String, String> {
        render(&environment(), src, &vars(v))
    }

    #[test]
    fn custom_filters() {
        let v = json!({"ani": "+55 (11) 98765-4321", "local": "(11) 98765-4321", "default_region": "BR", "s": "hold"});
        assert_eq!(
            r("{{ ani | digits }}", v.clone()),
            Ok("5511987654321".into())
        );
        assert_eq!(
            r("{{ ani | e164 }}", v.clone()),
            Ok("+5511987654321".into())
        );
        assert_eq!(
            r("{{ local | e164 }}", v.clone()),
            Ok("+5511987654321".into()),
            "region from variable"
        );
        assert_eq!(
            r("{{ local | e164('US') }}", v.clone()),
            Ok("".into()),
            "region from argument"
        );
        assert_eq!(r("{{ 'anonymous' | e164 }}", v.clone()), Ok("".into()));
        assert_eq!(
            r("{{ s | ticket_status('pt-BR') }}", v.clone()),
            Ok("em andamento".into())
        );
        assert_eq!(
            r("{{ s | ticket_status }}", v.clone()),
            Ok("open / in progress".into())
        );
        assert_eq!(
            r("{{ ani | replace({'+': '', ' ': ''}) }}", v.clone()),
            Ok("55(11)98765-4321".into())
        );
        assert_eq!(
            r("{{ 'a-b' | replace('-', '+') }}", v.clone()),
            Ok("a+b".into())
        );
        assert!(r("{{ 'a' | replace('a') }}", v).is_err());
    }

    #[test]
    fn undefined_values_render_empty_at_run_time() {
        assert_eq!(r("[{{ missing.deep.value }}]", json!({})), Ok("[]".into()));
        assert_eq!(r("[{{ user.id }}]", json!({"user": null})), Ok("[]".into()));
    }

    #[test]
    fn expressions_accept_webex_braces() {
        let env = environment();
        let v = vars(json!({"ticketID": "null"}));
        assert!(eval(&env, "{{ ticketID == \"null\" }}", &v)
            .map(|x| x.is_true())
            .unwrap_or(false));
        assert!(!eval(&env, "ticketID != 'null'", &v)
            .map(|x| x.is_true())
            .unwrap_or(true));
        assert_eq!(strip_braces(" {{ a }} "), "a");
        assert_eq!(strip_braces("{{ a }} and {{ b }}"), "{{ a }} and {{ b }}");
    }

    #[test]
    fn static_checks_find_unknown_variables() {
        let env = environment();
        let declared: BTreeSet<String> = ["a".to_string()].into();
        assert_eq!(
            check_template(
                &env,
                "{{ a }} {{ b | digits }}{% set c = 1 %}{{ c }}",
                &declared
            ),
            Ok(vec!["b".to_string()])
        );
        assert_eq!(check_template(&env, "no template", &declared), Ok(vec![]));
        assert!(check_template(&env, "{{ a", &declared).is_err());
        assert_eq!(
            check_expression(&env, "a and range(3)", &declared),
            Ok(vec![])
        );
    }

    #[test]
    fn runaway_templates_are_bounded() {
        let loops = "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}";
        assert!(r(loops, json!({})).is_err(), "fuel stops it");
        let big = json!({"s": "x".repeat(MAX_RENDERED + 1)});
        assert!(r("{{ s }}", big).is_err(), "output size bound");
    }
}
