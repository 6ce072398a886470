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
    match e.detail() {
        Some(d) => d.to_string(),
        None => e.kind().to_string(),
    }
}
