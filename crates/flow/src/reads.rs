//! What a flow reads of its variables, worked out once at load, and the pruning of values
//! to that: a call keeps of a JSON object (a Zendesk user or ticket from an HTTP output)
//! only the fields some template or expression of the flow can read.
//!
//! The analysis walks every template and expression the executor may evaluate (taken from
//! the flow model, so nothing rendered escapes it) with minijinja's parser. A variable is
//! read
//! - **by path** where it heads a chain of attribute lookups (`ticket.id`,
//!   `user.locale`): the value at the end of the chain is kept whole;
//! - **for its truth** where only its truthiness matters (`if user`, `ticket and ...` in a
//!   condition, `not x`): pruning keeps every object's emptiness, so truth is unchanged;
//! - **whole** anywhere else (`{{ ticket }}`, `user | tojson`, `matches | length`,
//!   `user['id']`, `for t in tickets`, `set x = user`, an argument, a method receiver...).
//!
//! A variable no template reads at all keeps no object or list (it holds `{}` or `[]`
//! instead), unless the runtime or a filter reads it ([`READ_OUTSIDE_TEMPLATES`]).
//!
//! Pruning only ever removes keys from JSON objects whose variable is read by path or for
//! its truth (only keys no path names), and the contents of objects and lists nothing
//! reads. Everything else (strings, numbers, booleans, any variable read whole) is kept as
//! is. A flow that calls `debug()` (which prints every variable) or includes, imports or
//! extends templates keeps every value whole. So a flow reads exactly what it would read
//! without pruning.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::machinery::ast::{self, Expr, Stmt};
use minijinja::machinery::{parse, parse_expr, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;

use crate::model::{Activity, Prompt, PromptPart, Text};
use crate::shape::{Reads, Shape};
use crate::template::{is_template, strip_braces};

/// Variables read outside templates, whose values are never pruned: `default_region`
/// (read by the `e164` filter), and the conventional variables the call session reads for
/// the agent's screen pop and the interaction record (`docs/flows.md`). Nothing here is
/// specific to a helpdesk: the session asks its helpdesk for the ticket's URL.
pub(crate) const READ_OUTSIDE_TEMPLATES: [&str; 5] = [
    "default_region",
    "language",
    "user_id",
    "user_name",
    "ticket_id",
];

impl Reads {
    /// Works out the reads of every template and expression of a flow: its nodes and its
    /// `language` template.
    pub(crate) fn of_flow<'a>(
        nodes: impl IntoIterator<Item = &'a Activity>,
        language: &str,
    ) -> Reads {
        let mut w = Walker::default();
        w.template(language);
        for activity in nodes {
            w.activity(activity);
        }
        w.finish()
    }
}

/// How an expression's value is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Its value.
    Value,
    /// Only whether it is true.
    Truth,
}

#[derive(Default)]
struct Walker {
    /// Variables read whole.
    whole: BTreeSet<String>,
    /// Variables read by path or for their truth.
    fields: BTreeMap<String, Shape>,
    /// Something reads every variable (or cannot be analysed): nothing is pruned.
    everything: bool,
}

impl Walker {
    fn finish(mut self) -> Reads {
        if self.everything {
            return Reads::everything();
        }
        for name in READ_OUTSIDE_TEMPLATES {
            self.whole.insert(name.to_string());
        }
        for name in &self.whole {
            self.fields.remove(name);
        }
        Reads {
            everything: false,
            whole: self.whole,
            fields: self.fields,
        }
    }

    fn activity(&mut self, activity: &Activity) {
        match activity {
            Activity::Play(p) => self.prompt(p),
            Activity::Menu(m) => {
                self.prompt(&m.prompt);
                m.no_input_prompt.iter().for_each(|p| self.prompt(p));
                m.invalid_prompt.iter().for_each(|p| self.prompt(p));
            }
            Activity::Collect(c) => c.prompt.iter().for_each(|p| self.prompt(p)),
            Activity::Http(h) => {
                self.template(&h.path);
                for (_, v) in h.query.iter().chain(&h.headers) {
                    self.template(v);
                }
                h.body.iter().for_each(|b| self.template(b));
            }
            Activity::Set(list) => list.iter().for_each(|(_, t)| self.template(t)),
            Activity::Condition(e) => self.expression(e, Use::Truth),
            Activity::Case(e) => self.expression(e, Use::Value),
            Activity::Queue(q) => {
                self.template(&q.name);
                self.template(&q.priority);
                q.skills.iter().for_each(|s| self.template(s));
            }
            Activity::QueueInfo(q) => self.template(&q.queue),
            Activity::Disconnect(reason) => reason.iter().for_each(|r| self.template(r)),
            Activity::Music(_) | Activity::End => {}
        }
    }

    fn prompt(&mut self, p: &Prompt) {
        p.language.iter().for_each(|l| self.template(l));
        for part in &p.parts {
            match part {
                PromptPart::Text(Text::Plain(t)) => self.template(t),
                PromptPart::Text(Text::ByLanguage(list)) => {
                    list.iter().for_each(|(_, t)| self.template(t))
                }
                PromptPart::Audio(_) => {}
            }
        }
    }

    // `SyntaxConfig` is a unit struct unless minijinja's `custom_syntax` is on.
    #[allow(clippy::default_constructed_unit_structs)]
    fn template(&mut self, source: &str) {
        if !is_template(source) {
            return;
        }
        match parse(
            source,
            "<flow>",
            SyntaxConfig::default(),
            WhitespaceConfig::default(),
        ) {
            Ok(stmt) => self.stmt(&stmt),
            Err(_) => self.everything = true,
        }
    }

    fn expression(&mut self, source: &str, used: Use) {
        match parse_expr(strip_braces(source)) {
            Ok(expr) => self.expr(&expr, used),
            Err(_) => self.everything = true,
        }
    }

    fn var(&mut self, name: &str, used: Use) {
        if name == "debug" {
            // `debug()` prints every variable.
            self.everything = true;
        }
        match used {
            Use::Value => {
                self.whole.insert(name.to_string());
            }
            Use::Truth => {
                self.fields
                    .entry(name.to_string())
                    .or_insert_with(|| Shape::Fields(BTreeMap::new()));
            }
        }
    }

    fn path(&mut self, name: &str, path: &[&str]) {
        self.fields
            .entry(name.to_string())
            .or_insert_with(|| Shape::Fields(BTreeMap::new()))
            .add_path(path);
    }

    fn stmts(&mut self, body: &[Stmt<'_>]) {
        body.iter().for_each(|s| self.stmt(s));
    }

    fn stmt(&mut self, s: &Stmt<'_>) {
        match s {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => self.expr(&e.expr, Use::Value),
            Stmt::EmitRaw(_) => {}
            Stmt::ForLoop(f) => {
                self.expr(&f.target, Use::Value);
                self.expr(&f.iter, Use::Value);
                f.filter_expr.iter().for_each(|e| self.expr(e, Use::Value));
                self.stmts(&f.body);
                self.stmts(&f.else_body);
            }
            Stmt::IfCond(c) => {
                self.expr(&c.expr, Use::Truth);
                self.stmts(&c.true_body);
                self.stmts(&c.false_body);
            }
            Stmt::WithBlock(w) => {
                for (target, value) in &w.assignments {
                    self.expr(target, Use::Value);
                    self.expr(value, Use::Value);
                }
                self.stmts(&w.body);
            }
            Stmt::Set(set) => {
                self.expr(&set.target, Use::Value);
                self.expr(&set.expr, Use::Value);
            }
            Stmt::SetBlock(set) => {
                self.expr(&set.target, Use::Value);
                set.filter.iter().for_each(|e| self.expr(e, Use::Value));
                self.stmts(&set.body);
            }
            Stmt::AutoEscape(a) => {
                self.expr(&a.enabled, Use::Value);
                self.stmts(&a.body);
            }
            Stmt::FilterBlock(f) => {
                self.expr(&f.filter, Use::Value);
                self.stmts(&f.body);
            }
            Stmt::Block(b) => self.stmts(&b.body),
            Stmt::Macro(m) => self.macro_decl(m),
            Stmt::CallBlock(c) => {
                self.call(&c.call);
                self.macro_decl(&c.macro_decl);
            }
            Stmt::Do(d) => self.call(&d.call),
            // Another template would read the context with its own reads.
            Stmt::Extends(_) | Stmt::Include(_) | Stmt::Import(_) | Stmt::FromImport(_) => {
                self.everything = true
            }
            // Statements of minijinja features not enabled today (loop controls...):
            // nothing is pruned rather than guess what they read.
            #[allow(unreachable_patterns)]
            _ => self.everything = true,
        }
    }

    fn macro_decl(&mut self, m: &ast::Macro<'_>) {
        m.args.iter().for_each(|a| self.expr(a, Use::Value));
        m.defaults.iter().for_each(|d| self.expr(d, Use::Value));
        self.stmts(&m.body);
    }

    fn call(&mut self, c: &ast::Call<'_>) {
        match &c.expr {
            // A method call needs its receiver whole.
            Expr::GetAttr(g) => self.expr(&g.expr, Use::Value),
            other => self.expr(other, Use::Value),
        }
        self.args(&c.args);
    }

    fn expr(&mut self, e: &Expr<'_>, used: Use) {
        match e {
            Expr::Var(v) => self.var(v.id, used),
            Expr::Const(_) => {}
            Expr::GetAttr(g) => {
                // `a.b.c`: a path when the chain starts at a variable.
                let mut names = vec![g.name];
                let mut head = &g.expr;
                while let Expr::GetAttr(inner) = head {
                    names.push(inner.name);
                    head = &inner.expr;
                }
                match head {
                    Expr::Var(v) => {
                        if v.id == "debug" {
                            self.everything = true;
                        }
                        names.reverse();
                        self.path(v.id, &names);
                    }
                    other => self.expr(other, Use::Value),
                }
            }
            Expr::UnaryOp(u) => match u.op {
                ast::UnaryOpKind::Not => self.expr(&u.expr, Use::Truth),
                ast::UnaryOpKind::Neg => self.expr(&u.expr, Use::Value),
            },
            Expr::BinOp(b) => {
                let operands = match (b.op, used) {
                    // In a test of truth, `a and b` and `a or b` only test their operands.
                    (ast::BinOpKind::ScAnd | ast::BinOpKind::ScOr, Use::Truth) => Use::Truth,
                    _ => Use::Value,
                };
                self.expr(&b.left, operands);
                self.expr(&b.right, operands);
            }
            Expr::Compare(c) => {
                self.expr(&c.expr, Use::Value);
                c.ops.iter().for_each(|op| self.expr(&op.expr, Use::Value));
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr, Use::Truth);
                self.expr(&i.true_expr, used);
                i.false_expr.iter().for_each(|f| self.expr(f, used));
            }
            Expr::Filter(f) => {
                f.expr.iter().for_each(|e| self.expr(e, Use::Value));
                self.args(&f.args);
            }
            Expr::Test(t) => {
                self.expr(&t.expr, Use::Value);
                self.args(&t.args);
            }
            Expr::GetItem(g) => {
                self.expr(&g.expr, Use::Value);
                self.expr(&g.subscript_expr, Use::Value);
            }
            Expr::Slice(s) => {
                self.expr(&s.expr, Use::Value);
                for e in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(e, Use::Value);
                }
            }
            Expr::Call(c) => self.call(c),
            Expr::List(l) => l.items.iter().for_each(|i| self.expr(i, Use::Value)),
            Expr::Map(m) => m
                .keys
                .iter()
                .chain(&m.values)
                .for_each(|e| self.expr(e, Use::Value)),
        }
    }

    fn args(&mut self, args: &[ast::CallArg<'_>]) {
        for arg in args {
            match arg {
                ast::CallArg::Pos(e)
                | ast::CallArg::Kwarg(_, e)
                | ast::CallArg::PosSplat(e)
                | ast::CallArg::KwargSplat(e) => self.expr(e, Use::Value),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value as Json};

    fn fields(list: &[(&str, Shape)]) -> Shape {
        Shape::Fields(
            list.iter()
                .map(|(k, s)| (k.to_string(), s.clone()))
                .collect(),
        )
    }

    /// The reads of one template (`{{ }}`/`{% %}` text) or one condition/case expression.
    fn reads_of(template: &str) -> Reads {
        let mut w = Walker::default();
        w.template(template);
        w.finish()
    }

    fn reads_of_expr(expr: &str, used: Use) -> Reads {
        let mut w = Walker::default();
        w.expression(expr, used);
        w.finish()
    }

    #[test]
    fn paths_truth_and_whole_reads() {
        let r = reads_of("{{ user.id }} {{ user.org.name }}{% if ticket %}x{% endif %}");
        assert_eq!(
            r.shape("user"),
            Some(fields(&[
                ("id", Shape::Whole),
                ("org", fields(&[("name", Shape::Whole)]))
            ]))
        );
        assert_eq!(
            r.shape("ticket"),
            Some(fields(&[])),
            "read for its truth only"
        );
        // A whole read anywhere wins over paths.
        for whole in [
            "{{ user.id }}{{ user }}",
            "{{ user | tojson }}",
            "{{ user | length }}",
            "{{ user['id'] }}",
            "{{ user.0 }}",
            "{% for k in user %}{{ k }}{% endfor %}",
            "{% set u = user %}{{ u.id }}",
            "{% with u = user %}{{ u.id }}{% endwith %}",
            "{{ [user][0].id }}",
            "{{ (user or {}).id }}",
            "{{ user.items() }}",
            "{{ user.id.upper() if user else '' }}{{ user.name.x() }}{{ user.get('a') }}",
            "{{ user is mapping }}",
            "{{ 'id' in user }}",
            "{{ user == {} }}",
            "{% macro m(u) %}{{ u.id }}{% endmacro %}{{ m(user) }}",
            "{{ user if true else 1 }}",
        ] {
            assert_eq!(reads_of(whole).shape("user"), None, "{whole}");
        }
    }

    #[test]
    fn truth_is_a_truth_only_in_a_test_of_truth() {
        let cond = reads_of_expr("ticket and ticket.id", Use::Truth);
        assert_eq!(cond.shape("ticket"), Some(fields(&[("id", Shape::Whole)])));
        // The same text as a `case` (its value is used): `ticket` may be the value.
        assert_eq!(
            reads_of_expr("ticket and ticket.id", Use::Value).shape("ticket"),
            None
        );
        assert_eq!(reads_of("{{ ticket or 'none' }}").shape("ticket"), None);
        let r = reads_of_expr("'known' if user and not other else 'unknown'", Use::Value);
        assert_eq!(r.shape("user"), Some(fields(&[])));
        assert_eq!(r.shape("other"), Some(fields(&[])));
        assert_eq!(
            reads_of_expr("{{ user }}", Use::Truth).shape("user"),
            Some(fields(&[])),
            "Webex braces around a condition"
        );
    }

    #[test]
    fn some_templates_make_the_whole_flow_keep_everything() {
        for everything in [
            "{{ user.id }}{{ debug() }}",
            "{{ user.id }}{% include 'other' %}",
            "{{ user.id }}{% import 'm' as m %}",
            "{{ user.id }}{% from 'm' import x %}",
            "{% extends 'base' %}{{ user.id }}",
            "{{ user.id }}{{ oops",
        ] {
            assert_eq!(reads_of(everything), Reads::everything(), "{everything}");
        }
        // Variables the runtime and filters read are never pruned.
        let r = reads_of("{{ user_id.x }}{{ ticket_id.x }}{{ default_region.x }}{{ other.x }}");
        for name in READ_OUTSIDE_TEMPLATES {
            assert_eq!(r.shape(name), None, "{name}");
        }
        assert!(r.shape("other").is_some());
    }

    #[test]
    fn a_variable_nothing_reads_keeps_no_object_or_list() {
        let r = reads_of("{{ user.name }}");
        assert_eq!(r.shape("headers"), Some(Shape::Nothing));
        assert_eq!(r.shape("ticket_id"), None, "the runtime reads it");
        assert_eq!(Reads::everything().shape("headers"), None);
        let nothing = Shape::Nothing;
        assert_eq!(nothing.prune(json!({"x-a": "1"})), json!({}));
        assert_eq!(nothing.prune(json!([1, 2])), json!([]));
        for kept in [json!("text"), json!(5), json!(true), json!(null)] {
            assert_eq!(nothing.prune(kept.clone()), kept);
        }
    }

    #[test]
    fn pruning_keeps_the_fields_read_and_every_object_emptiness() {
        let shape = fields(&[
            ("id", Shape::Whole),
            ("org", fields(&[("name", Shape::Whole)])),
            ("tags", fields(&[("x", Shape::Whole)])),
        ]);
        let user = json!({
            "id": 7, "name": "Ana", "notes": "x".repeat(500),
            "org": {"name": "Acme", "domain": "acme.example"},
            "tags": ["vip"],
        });
        assert_eq!(
            shape.prune(user),
            json!({"id": 7, "org": {"name": "Acme"}, "tags": ["vip"]}),
            "lists and other non-objects are kept whole"
        );
        // An object none of whose fields are read stays non-empty (true), an empty one empty.
        assert_eq!(
            shape.prune(json!({"b": {"big": 1}, "a": 2})),
            json!({"a": null})
        );
        assert_eq!(shape.prune(json!({})), json!({}));
        for other in [json!(null), json!("text"), json!(3), json!([{"id": 1}])] {
            assert_eq!(shape.prune(other.clone()), other);
        }
        assert_eq!(Shape::Whole.prune(json!({"a": 1})), json!({"a": 1}));
    }

    #[test]
    fn the_default_flow_keeps_only_what_it_says_of_the_user_and_the_ticket() {
        let flow =
            crate::load_str(crate::DEFAULT_FLOW, "flows/zendesk-ticket-status.yaml").unwrap();
        let reads = Reads::of_flow(flow.nodes.values().map(|n| &n.activity), &flow.language);
        let leaf =
            |names: &[&str]| fields(&names.iter().map(|n| (*n, Shape::Whole)).collect::<Vec<_>>());
        assert_eq!(reads.shape("user"), Some(leaf(&["id", "locale", "name"])));
        assert_eq!(
            reads.shape("ticket"),
            Some(leaf(&["id", "priority", "status"]))
        );
        assert_eq!(reads.shape("matches"), None, "`matches | length`");
        assert_eq!(reads.shape("headers"), Some(Shape::Nothing), "never read");
        assert_eq!(reads.shape("note"), None, "in the note's request body");
    }

    // ----- the executor keeps what a flow reads, and the flow reads the same -----

    use crate::io::{Action, CallStart, Event, HttpOutcome, LogEntry, QueueInfo, QueueResult};
    use crate::vars::VarLayout;
    use crate::{Executor, Flow};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// The same flow with nothing pruned.
    fn unpruned(flow: &Flow) -> Flow {
        let mut whole = flow.clone();
        whole.var_layout = Arc::new(VarLayout::new(&flow.variables, &Reads::everything()));
        whole
    }

    /// A Zendesk end-user as search returns it: far more than a flow reads.
    fn zendesk_user(id: u64, name: &str, locale: &str) -> Json {
        json!({
            "id": id, "url": format!("https://x.zendesk.com/api/v2/users/{id}.json"),
            "name": name, "email": "ana@example.com", "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-06-01T00:00:00Z", "time_zone": "Brasilia", "iana_time_zone":
            "America/Sao_Paulo", "phone": "+5511987654321", "shared_phone_number": false,
            "photo": null, "locale_id": 19, "locale": locale, "organization_id": 12,
            "role": "end-user", "verified": true, "external_id": null, "tags": ["vip", "br"],
            "alias": "", "active": true, "shared": false, "shared_agent": false,
            "last_login_at": null, "two_factor_auth_enabled": null, "signature": null,
            "details": "", "notes": "Prefers Portuguese. ".repeat(20), "role_type": null,
            "custom_role_id": null, "moderator": false, "ticket_restriction": "requested",
            "only_private_comments": false, "restricted_agent": true, "suspended": false,
            "default_group_id": null, "report_csv": false,
            "user_fields": {"plan": "gold", "segment": "retail"}
        })
    }

    fn zendesk_ticket(id: u64, status: &str, priority: &str) -> Json {
        json!({
            "url": format!("https://x.zendesk.com/api/v2/tickets/{id}.json"), "id": id,
            "external_id": null, "via": {"channel": "email", "source": {"from": {}, "to": {},
            "rel": null}}, "created_at": "2024-05-02T10:00:00Z", "updated_at":
            "2024-06-10T14:30:00Z", "type": "incident", "subject": "Cobrança em duplicidade",
            "raw_subject": "Cobrança em duplicidade", "description": "Fui cobrada duas vezes. "
            .repeat(30), "priority": priority, "status": status, "recipient": null,
            "requester_id": 42, "submitter_id": 42, "assignee_id": 2, "organization_id": 12,
            "group_id": 5, "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [],
            "forum_topic_id": null, "problem_id": null, "has_incidents": false,
            "is_public": true, "due_at": null, "tags": ["billing"], "custom_fields":
            [{"id": 1, "value": "x"}, {"id": 2, "value": null}], "satisfaction_rating": null,
            "sharing_agreement_ids": [], "fields": [], "followup_ids": [],
            "brand_id": 1, "allow_channelback": false, "allow_attachments": true
        })
    }

    /// Drives a call with scripted answers; returns every action (variables logged by
    /// name only, their values apart) and the variables at the end.
    fn call(
        flow: Flow,
        ani: &str,
        keys: &str,
        user: Json,
        ticket: Json,
    ) -> (Vec<String>, Vec<(String, Json)>) {
        let start = CallStart {
            call_id: "c1".into(),
            ani: ani.into(),
            dnis: "100".into(),
            headers: vec![("X-Customer".into(), "abc".into())],
            started_at: "2026-01-01T10:00:00Z".into(),
            extra: [("zendesk_url".to_string(), json!("https://x.zendesk.com"))].into(),
        };
        let mut now = Instant::now();
        let mut ex = Executor::new(Arc::new(flow), start, now);
        let mut keys = keys.chars();
        let (mut out, mut values) = (Vec::new(), Vec::new());
        for round in 0..300 {
            let mut events = Vec::new();
            while let Some(a) = ex.poll_action() {
                match &a {
                    Action::Log(LogEntry::VariableSet { name, value }) => {
                        values.push((name.clone(), value.clone()));
                        out.push(format!("set {name}"));
                        continue;
                    }
                    Action::Play { id, .. } | Action::PlayMusic { id, .. } => {
                        events.push(Event::PlayDone { id: *id })
                    }
                    Action::Http { id, request, .. } => {
                        let body = if request.query.iter().any(|(_, v)| v.contains("type:ticket")) {
                            json!({"results": [ticket.clone()], "count": 1})
                        } else {
                            json!({"results": [user.clone()], "count": 1})
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
                        events.push(Event::HttpDone { id: *id, outcome });
                    }
                    Action::Enqueue { id, .. } => events.push(Event::QueueResult {
                        id: *id,
                        result: QueueResult::Queued,
                    }),
                    Action::QueueInfo { id, .. } => events.push(Event::QueueInfo {
                        id: *id,
                        info: QueueInfo {
                            position: Some(2),
                            estimated_wait: Some(Duration::from_secs(90)),
                            ..QueueInfo::default()
                        },
                    }),
                    _ => {}
                }
                out.push(format!("{a:?}"));
            }
            if ex.is_finished() {
                let vars = ex
                    .variables()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()));
                values.extend(vars);
                return (out, values);
            }
            now += Duration::from_secs(1);
            if round == 120 {
                ex.handle_event(now, Event::CallerHangup);
            } else if !events.is_empty() {
                for e in events {
                    ex.handle_event(now, e);
                }
            } else if let Some(key) = ex.poll_timeout().and(keys.next()) {
                ex.handle_event(now, Event::Digit { key });
            } else if let Some(t) = ex.poll_timeout() {
                ex.handle_timeout(t.max(now));
            } else {
                ex.handle_event(now, Event::CallerHangup);
            }
        }
        panic!("the call did not finish");
    }

    fn default_flow() -> Flow {
        crate::load_str(crate::DEFAULT_FLOW, "flows/zendesk-ticket-status.yaml").unwrap()
    }

    #[test]
    fn the_default_flow_does_the_same_with_pruned_values() {
        let flow = default_flow();
        let cases = [
            (
                "+5511987654321",
                "1",
                zendesk_user(42, "Ana", "pt-BR"),
                zendesk_ticket(7, "hold", "urgent"),
            ),
            (
                "+14155550134",
                "2",
                zendesk_user(43, "Bob", "en-US"),
                zendesk_ticket(8, "pending", "low"),
            ),
            (
                "+14155550134",
                "",
                zendesk_user(44, "Cy", "fr"),
                json!(null),
            ),
            (
                "+14155550134",
                "1",
                json!({"shared_phone_number": true}),
                json!(null),
            ),
            // None of the fields read: still a (true) user; a ticket without an id.
            (
                "+14155550134",
                "1",
                json!({"email": "a@example.com"}),
                json!({"subject": "x"}),
            ),
            ("anonymous", "1", json!(null), json!(null)),
        ];
        for (ani, keys, user, ticket) in cases {
            let (pruned_actions, pruned_vars) =
                call(flow.clone(), ani, keys, user.clone(), ticket.clone());
            let (actions, vars) = call(unpruned(&flow), ani, keys, user, ticket);
            assert_eq!(pruned_actions, actions, "{ani}");
            assert!(actions.iter().any(|a| a.starts_with("Play")), "{ani}");
            // Every variable the same, but the user and the ticket (kept: only what is read).
            assert_eq!(pruned_vars.len(), vars.len());
            for ((name, kept), (_, full)) in pruned_vars.iter().zip(&vars) {
                match (name.as_str(), full) {
                    ("user" | "ticket", Json::Object(full)) => {
                        let Json::Object(kept) = kept else {
                            panic!("{name}: {kept}");
                        };
                        assert!(kept.len() <= 3, "{name}: {kept:?}");
                        for (k, v) in kept {
                            // A field read, or the one that keeps an object non-empty.
                            let placeholder = kept.len() == 1 && v.is_null();
                            assert!(full.get(k) == Some(v) || placeholder, "{name}.{k}");
                        }
                    }
                    // The default flow never reads the SIP headers.
                    ("headers", _) => {
                        assert_eq!(full, &json!({"x-customer": "abc"}));
                        assert_eq!(kept, &json!({}));
                    }
                    _ => assert_eq!(kept, full, "{name}"),
                }
            }
        }
    }

    #[test]
    fn a_field_the_flow_reads_is_kept_and_one_it_does_not_is_gone() {
        let flow = default_flow();
        let user = zendesk_user(42, "Ana", "pt-BR");
        let ticket = zendesk_ticket(7, "open", "high");
        let (actions, vars) = call(flow, "+5511987654321", "2", user, ticket);
        let last = |name: &str| {
            vars.iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            last("user"),
            json!({"id": 42, "name": "Ana", "locale": "pt-BR"}),
            "read: `user.id`, `user.name`, `user.locale`; gone: email, notes, user_fields..."
        );
        assert_eq!(
            last("ticket"),
            json!({"id": 7, "status": "open", "priority": "high"})
        );
        assert!(
            actions
                .iter()
                .any(|a| a.contains("Olá Ana. O seu chamado número 7 está aberto.")),
            "{actions:#?}"
        );
    }

    #[test]
    fn a_flow_that_uses_the_whole_object_keeps_it_whole() {
        let yaml = |text: &str| {
            format!(
                r#"
name: t
start: get
nodes:
  get:
    http: {{ connector: zendesk, path: /x, outputs: {{ user: "$.user" }} }}
    exits: {{ ok: say, error: say }}
  say:
    play: "{text}"
    next: done
  done:
    end: {{}}
"#
            )
        };
        let user = json!({"id": 1, "name": "Ana", "email": "ana@example.com"});
        for (text, kept) in [
            ("{{ user.name }}", json!({"name": "Ana"})),
            ("{{ user.email }} {{ user }}", user.clone()),
            (
                "{% for k, v in user | items %}{{ k }}{% endfor %}",
                user.clone(),
            ),
            ("{{ user | tojson }}", user.clone()),
        ] {
            let flow = crate::load_str(&yaml(text), "t.yaml").unwrap();
            let mut ex = Executor::new(Arc::new(flow), CallStart::default(), Instant::now());
            let mut http = None;
            while let Some(a) = ex.poll_action() {
                if let Action::Http { id, .. } = a {
                    http = Some(id);
                }
            }
            let outcome = HttpOutcome::Response {
                status: 200,
                headers: vec![],
                body: json!({ "user": user }).to_string(),
                attempts: 1,
                elapsed: Duration::ZERO,
            };
            ex.handle_event(
                Instant::now(),
                Event::HttpDone {
                    id: http.unwrap(),
                    outcome,
                },
            );
            assert_eq!(ex.variables().get("user"), Some(&kept), "{text}");
        }
    }
}
