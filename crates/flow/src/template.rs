//! The template engine (minijinja) as flows use it: one configured environment, the flow's
//! templates parsed once at load ([`Templates`]), rendering of templates and expressions
//! against the call's variables, and the static checks (syntax, undeclared variables) used
//! by validation.
//!
//! The call's variables reach a template as a lazy context ([`VarsContext`]): a render
//! converts only the variables it reads, not the whole variable map.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectExt, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::filters;

/// The call's variables, shared with the executor (copy on write there).
pub(crate) type Vars = Arc<crate::vars::Variables>;

/// Longest rendered text a template may produce.
pub const MAX_RENDERED: usize = 64 * 1024;
/// Instruction budget of one render (bounds loops in templates).
const FUEL: u64 = 50_000;

/// Builds the environment every flow uses: Jinja2 syntax, the ringdesk filters,
/// chainable undefined values at run time (validation is strict instead).
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Flow templates are plain text whatever they look like (a path ending in `.json`
    // must not be JSON-escaped).
    env.set_auto_escape_callback(|_| AutoEscape::None);
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

/// Name minijinja reports for an unnamed template (`render_str`); errors of precompiled
/// templates say the same, so a message does not depend on how the template was compiled.
const UNNAMED: &str = "<string>";

/// A flow's environment with its templates compiled once, at load. Every call renders the
/// same few dozen templates; parsing them per render cost more than rendering them.
#[derive(Clone)]
pub(crate) struct Templates {
    env: Environment<'static>,
    /// Template source → its name in `env`.
    names: HashMap<String, String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("compiled", &self.names.len())
            .finish()
    }
}

impl Templates {
    /// Compiles every source that is a template (others render as themselves). A source
    /// that does not compile is left out: rendering it reports the error, as before.
    pub(crate) fn new<'a>(sources: impl IntoIterator<Item = &'a str>) -> Templates {
        let mut env = environment();
        let mut names = HashMap::new();
        for source in sources {
            if !is_template(source) || names.contains_key(source) {
                continue;
            }
            let name = format!("#{}", names.len());
            if env
                .add_template_owned(name.clone(), source.to_string())
                .is_ok()
            {
                names.insert(source.to_string(), name);
            }
        }
        Templates { env, names }
    }

    /// How many templates were compiled at load.
    #[cfg(test)]
    pub(crate) fn compiled(&self) -> usize {
        self.names.len()
    }
}

#[cfg(test)]
thread_local! {
    /// Renders that had to parse their template (not compiled at load), per test thread.
    pub(crate) static PARSED_AT_RENDER: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The call's variables as a template context: a variable is converted to a template value
/// only when the template reads it.
#[derive(Debug)]
pub(crate) struct VarsContext(Vars);

impl Object for VarsContext {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.get(key.as_str()?).map(Value::from_serialize)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| Box::new(this.0.iter().map(|(k, _)| Value::from(k))))
    }
}

fn context(vars: &Vars) -> Value {
    Value::from_object(VarsContext(Arc::clone(vars)))
}

/// minijinja's error text, with the template named as `render_str` names it.
fn error_text_of(e: &minijinja::Error) -> String {
    let mut text = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    if e.name().is_some() {
        text.push_str(&format!(" (in {UNNAMED}:{})", e.line().unwrap_or(0)));
    }
    text
}

/// Renders a template. Errors are returned as text (they never contain variable values
/// beyond what minijinja reports about the template itself).
pub(crate) fn render(t: &Templates, source: &str, vars: &Vars) -> Result<String, String> {
    if !is_template(source) {
        return Ok(source.to_string());
    }
    let rendered = match t.names.get(source) {
        Some(name) => t
            .env
            .get_template(name)
            .and_then(|tmpl| tmpl.render(context(vars))),
        None => {
            #[cfg(test)]
            PARSED_AT_RENDER.with(|n| n.set(n.get() + 1));
            t.env.render_str(source, context(vars))
        }
    };
    let out = rendered.map_err(|e| format!("template error: {}", error_text_of(&e)))?;
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
pub(crate) fn eval(t: &Templates, source: &str, vars: &Vars) -> Result<Value, String> {
    let expr = t
        .env
        .compile_expression(strip_braces(source))
        .map_err(|e| format!("expression error: {e}"))?;
    expr.eval(context(vars))
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

    fn vars(v: serde_json::Value) -> Vars {
        Arc::new(crate::vars::Variables::detached(
            serde_json::from_value(v).unwrap_or_default(),
        ))
    }

    /// Renders both ways: parsed at render time and compiled at load; they must agree.
    fn r(src: &str, v: serde_json::Value) -> Result<String, String> {
        let v = vars(v);
        let parsed = render(&Templates::new([]), src, &v);
        let compiled = render(&Templates::new([src]), src, &v);
        assert_eq!(parsed, compiled, "{src}");
        compiled
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
            Ok("in progress".into())
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
        let env = Templates::new([]);
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

    #[test]
    fn compiled_templates_render_like_parsed_ones() {
        let v = json!({
            "user": {"id": 42, "name": "Ana", "locale": "pt-BR"},
            "ticket_id": "17",
            "list": [1, 2, 3],
            "default_region": "BR",
            "ani": "(11) 98765-4321",
        });
        for src in [
            "/api/v2/tickets/{{ ticket_id }}.json",
            "<b>{{ user.name }}</b> & {{ '<x>' }}",
            "{{ user.id | digits }} {{ user.missing.deep }} {{ list | length }}",
            "{% set loc = (user.locale or '') | lower %}{{ loc }}",
            "{{ ani | e164 }}",
            "{% for k in list %}{{ k }},{% endfor %}",
        ] {
            assert!(r(src, v.clone()).is_ok(), "{src}");
        }
        assert_eq!(
            r("/api/v2/tickets/{{ ticket_id }}.json", v.clone()),
            Ok("/api/v2/tickets/17.json".into()),
            "a name ending in .json must not switch on JSON escaping"
        );
        assert_eq!(
            r("<b>{{ user.name }}</b> & {{ '<x>' }}", v.clone()),
            Ok("<b>Ana</b> & <x>".into()),
            "no HTML escaping"
        );
        assert_eq!(r("{{ ani | e164 }}", v), Ok("+5511987654321".into()));
    }

    #[test]
    fn errors_read_the_same_whether_compiled_or_not() {
        let v = vars(json!({"n": 1}));
        let src = "{{ n + 'x' }}";
        let parsed = render(&Templates::new([]), src, &v);
        let compiled = render(&Templates::new([src]), src, &v);
        assert!(parsed.is_err());
        assert_eq!(parsed, compiled);
        assert!(compiled.is_err_and(|e| e.contains("(in <string>:1)")));
        // A template that does not compile is not kept; rendering it reports the error.
        let bad = "{{ n ";
        let t = Templates::new([bad]);
        assert_eq!(t.compiled(), 0);
        assert!(render(&t, bad, &v).is_err());
    }

    #[test]
    fn context_reads_variables_lazily_and_sees_updates() {
        let mut v = vars(json!({"a": "1", "obj": {"k": [1, 2]}}));
        let t = Templates::new(["{{ a }}-{{ obj.k[1] }}-{{ missing }}"]);
        let src = "{{ a }}-{{ obj.k[1] }}-{{ missing }}";
        assert_eq!(render(&t, src, &v), Ok("1-2-".into()));
        Arc::make_mut(&mut v).insert("a", json!("2"));
        assert_eq!(render(&t, src, &v), Ok("2-2-".into()));
        assert_eq!(
            Arc::strong_count(&v),
            1,
            "a render keeps no reference to the variables"
        );
    }

    /// Drives the default flow through a call with scripted answers; returns how many
    /// templates were rendered without having been compiled at load, and HTTP requests.
    fn default_flow_call(ani: &str, key: char, queue: crate::QueueResult) -> (usize, usize) {
        use crate::{Action, CallStart, Event, Executor, HttpOutcome, QueueInfo};
        use std::time::{Duration, Instant};
        let flow = Arc::new(
            crate::load_str(crate::DEFAULT_FLOW, "flows/zendesk-ticket-status.yaml").unwrap(),
        );
        assert!(flow.templates.compiled() > 20, "{:?}", flow.templates);
        PARSED_AT_RENDER.with(|n| n.set(0));
        let start = CallStart {
            call_id: "c1".into(),
            ani: ani.into(),
            dnis: "100".into(),
            headers: vec![],
            started_at: "2026-01-01T10:00:00Z".into(),
            extra: [("zendesk_url".to_string(), json!("https://x.zendesk.com"))].into(),
        };
        let mut now = Instant::now();
        let mut ex = Executor::new(flow, start, now);
        let (mut pressed, mut http, mut hung_up) = (false, 0, false);
        for round in 0..500 {
            let mut events = Vec::new();
            while let Some(a) = ex.poll_action() {
                match a {
                    Action::Play { id, .. } | Action::PlayMusic { id, .. } => {
                        events.push(Event::PlayDone { id })
                    }
                    Action::Http { id, request, .. } => {
                        http += 1;
                        let body = if request.query.iter().any(|(_, v)| v.contains("type:ticket")) {
                            json!({"results": [{"id": 7, "status": "open", "priority": "high"}]})
                        } else {
                            json!({"results": [{"id": 42, "name": "Ana", "locale": "pt-BR"}]})
                        };
                        let outcome = if request.durable {
                            HttpOutcome::Deferred
                        } else {
                            HttpOutcome::Response {
                                status: 200,
                                headers: vec![],
                                body: body.to_string(),
                                attempts: 1,
                                elapsed: Duration::ZERO,
                            }
                        };
                        events.push(Event::HttpDone { id, outcome });
                    }
                    Action::Enqueue { id, .. } => events.push(Event::QueueResult {
                        id,
                        result: queue.clone(),
                    }),
                    Action::QueueInfo { id, .. } => events.push(Event::QueueInfo {
                        id,
                        info: QueueInfo {
                            position: Some(3),
                            estimated_wait: Some(Duration::from_secs(90)),
                            agents_logged_in: 1,
                            agents_available: 0,
                            calls_queued: 3,
                            oldest_wait: None,
                        },
                    }),
                    _ => {}
                }
            }
            if ex.is_finished() {
                return (PARSED_AT_RENDER.with(|n| n.get()), http);
            }
            now += Duration::from_secs(1);
            if round == 100 && !hung_up {
                // On hold for ever: the caller gives up.
                hung_up = true;
                ex.handle_event(now, Event::CallerHangup);
            } else if !events.is_empty() {
                for e in events {
                    ex.handle_event(now, e);
                }
            } else if !pressed && ex.poll_timeout().is_some() {
                pressed = true;
                ex.handle_event(now, Event::Digit { key });
            } else if let Some(t) = ex.poll_timeout() {
                ex.handle_timeout(t.max(now));
            } else if !hung_up {
                hung_up = true;
                ex.handle_event(now, Event::CallerHangup);
            }
        }
        panic!("the call did not finish");
    }

    #[test]
    fn the_default_flow_renders_only_templates_compiled_at_load() {
        use crate::QueueResult;
        let no_agents = QueueResult::NoAgents {
            logged_in: 0,
            available: 0,
        };
        // Lookups, ticket status, menu, queue or not, hold announcements, the note.
        let known = "+5511987654321";
        assert_eq!(default_flow_call(known, '2', no_agents.clone()), (0, 3));
        assert_eq!(default_flow_call(known, '1', QueueResult::Queued), (0, 3));
        assert_eq!(default_flow_call("+14155550134", '1', no_agents).0, 0);
        // A full queue: the apology, its menu timing out, the goodbye, the note.
        let full = QueueResult::Failed {
            reason: crate::QueueFailure::Full { max_calls: 2 },
        };
        assert_eq!(default_flow_call(known, '1', full), (0, 3));
        assert_eq!(
            default_flow_call("anonymous", '9', QueueResult::Queued),
            (0, 0)
        );
        // The counter does count: a template the flow does not contain is parsed.
        let t = Templates::new([]);
        PARSED_AT_RENDER.with(|n| n.set(0));
        let _ = render(&t, "{{ a }}", &vars(json!({})));
        assert_eq!(PARSED_AT_RENDER.with(|n| n.get()), 1);
    }
}
