//! Pebble expressions (the part between `{{` and `}}` in Webex): a lexer and a
//! recursive-descent parser into a small syntax tree, which `pebble.rs` prints back as
//! minijinja. Only what Flow Designer expressions use: names, attributes, literals,
//! lists and maps, filters, tests, function calls, arithmetic, comparisons, `and`/`or`/
//! `not`, `equals`, `contains` and the `? :` conditional.

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    /// A string literal, unescaped; `true` when written with double quotes.
    Str(String, bool),
    Num(String),
    Op(&'static str),
}

const OPS: [&str; 24] = [
    "==", "!=", "<=", ">=", "..", "<", ">", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "?",
    "(", ")", "[", "]", "{", "}",
];

/// Splits an expression into tokens.
pub(crate) fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c == '"' || c == '\'' {
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return Err("a string is not closed".into()),
                    Some(&q) if q == c => break,
                    Some('\\') => {
                        match chars.get(i + 1) {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(&e) => s.push(e),
                            None => return Err("a string is not closed".into()),
                        }
                        i += 1;
                    }
                    Some(&ch) => s.push(ch),
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(s, c == '"'));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
                return Err(format!("unexpected character `{c}`"));
            };
            out.push(Tok::Op(op));
            i += op.len();
        }
    }
    Ok(out)
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Name(String),
    Str(String, bool),
    Num(String),
    Bool(bool),
    Null,
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Attr(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
    Filter(Box<Expr>, String, Vec<Expr>),
    /// `x is [not] test(args)`.
    Test(Box<Expr>, bool, String, Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    /// `cond ? a : b`.
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
}

/// Parses a whole expression.
pub(crate) fn parse(src: &str) -> Result<Expr, String> {
    let toks = lex(src)?;
    if toks.is_empty() {
        return Err("empty expression".into());
    }
    let mut p = Parser { toks, at: 0 };
    let e = p.expr()?;
    if p.at < p.toks.len() {
        return Err(format!("unexpected `{}`", show(&p.toks[p.at])));
    }
    Ok(e)
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Ident(s) | Tok::Num(s) => s.clone(),
        Tok::Str(s, _) => format!("{s:?}"),
        Tok::Op(o) => o.to_string(),
    }
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == w)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let yes = self.is_op(op);
        if yes {
            self.at += 1;
        }
        yes
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let yes = self.is_word(w);
        if yes {
            self.at += 1;
        }
        yes
    }

    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(match self.peek() {
                Some(t) => format!("expected `{op}`, found `{}`", show(t)),
                None => format!("expected `{op}` at the end"),
            })
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.peek().cloned() {
            Some(Tok::Ident(s)) => {
                self.at += 1;
                Ok(s)
            }
            Some(t) => Err(format!("expected a name, found `{}`", show(&t))),
            None => Err("expected a name at the end".into()),
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let c = self.or()?;
        if self.eat_op("?") {
            let a = self.expr()?;
            self.expect(":")?;
            let b = self.expr()?;
            return Ok(Expr::Cond(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut l = self.and()?;
        while self.eat_word("or") {
            l = Expr::Binary("or", Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut l = self.not()?;
        while self.eat_word("and") {
            l = Expr::Binary("and", Box::new(l), Box::new(self.not()?));
        }
        Ok(l)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, String> {
        let mut l = self.concat()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op(o)) if ["==", "!=", "<", ">", "<=", ">="].contains(o) => *o,
                Some(Tok::Ident(w)) if w == "equals" => "==",
                Some(Tok::Ident(w)) if w == "contains" => "contains",
                Some(Tok::Ident(w)) if w == "is" => "is",
                Some(Tok::Op("..")) => return Err("ranges (`..`) are not supported".into()),
                _ => return Ok(l),
            };
            self.at += 1;
            if op == "is" {
                let negated = self.eat_word("not");
                let test = self.ident()?;
                let args = if self.is_op("(") {
                    self.args()?
                } else {
                    Vec::new()
                };
                l = Expr::Test(Box::new(l), negated, test, args);
                continue;
            }
            l = Expr::Binary(op, Box::new(l), Box::new(self.concat()?));
        }
    }

    fn concat(&mut self) -> Result<Expr, String> {
        let mut l = self.add()?;
        while self.eat_op("~") {
            l = Expr::Binary("~", Box::new(l), Box::new(self.add()?));
        }
        Ok(l)
    }

    fn add(&mut self) -> Result<Expr, String> {
        let mut l = self.mul()?;
        loop {
            let op = if self.eat_op("+") {
                "+"
            } else if self.eat_op("-") {
                "-"
            } else {
                return Ok(l);
            };
            l = Expr::Binary(op, Box::new(l), Box::new(self.mul()?));
        }
    }

    fn mul(&mut self) -> Result<Expr, String> {
        let mut l = self.unary()?;
        loop {
            let op = if self.eat_op("*") {
                "*"
            } else if self.eat_op("/") {
                "/"
            } else if self.eat_op("%") {
                "%"
            } else {
                return Ok(l);
            };
            l = Expr::Binary(op, Box::new(l), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat_op("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.eat_op("+") {
            return self.unary();
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        loop {
            if self.eat_op(".") {
                let name = match self.peek().cloned() {
                    Some(Tok::Num(n)) => {
                        self.at += 1;
                        n
                    }
                    _ => self.ident()?,
                };
                e = Expr::Attr(Box::new(e), name);
            } else if self.eat_op("[") {
                let i = self.expr()?;
                self.expect("]")?;
                e = Expr::Index(Box::new(e), Box::new(i));
            } else if self.eat_op("|") {
                let name = self.ident()?;
                let args = if self.is_op("(") {
                    self.args()?
                } else {
                    Vec::new()
                };
                e = Expr::Filter(Box::new(e), name, args);
            } else {
                return Ok(e);
            }
        }
    }

    /// `( a, b, ... )`.
    fn args(&mut self) -> Result<Vec<Expr>, String> {
        self.expect("(")?;
        let mut args = Vec::new();
        while !self.eat_op(")") {
            if !args.is_empty() {
                self.expect(",")?;
            }
            args.push(self.expr()?);
        }
        Ok(args)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let Some(t) = self.peek().cloned() else {
            return Err("the expression ends too early".into());
        };
        self.at += 1;
        match t {
            Tok::Str(s, dq) => Ok(Expr::Str(s, dq)),
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Ident(w) => match w.as_str() {
                "true" | "True" => Ok(Expr::Bool(true)),
                "false" | "False" => Ok(Expr::Bool(false)),
                "null" | "none" | "None" => Ok(Expr::Null),
                _ if self.is_op("(") => Ok(Expr::Call(w.clone(), self.args()?)),
                _ => Ok(Expr::Name(w.clone())),
            },
            Tok::Op("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                while !self.eat_op("]") {
                    if !items.is_empty() {
                        self.expect(",")?;
                    }
                    items.push(self.expr()?);
                }
                Ok(Expr::List(items))
            }
            Tok::Op("{") => {
                let mut items = Vec::new();
                while !self.eat_op("}") {
                    if !items.is_empty() {
                        self.expect(",")?;
                    }
                    let k = self.expr()?;
                    self.expect(":")?;
                    items.push((k, self.expr()?));
                }
                Ok(Expr::Map(items))
            }
            other => Err(format!("unexpected `{}`", show(&other))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_exports_write() {
        assert!(matches!(
            parse("ticketID == \"null\""),
            Ok(Expr::Binary("==", _, _))
        ));
        assert!(matches!(
            parse("NewPhoneContact.ANI | replace({\"+\":\"\"})"),
            Ok(Expr::Filter(_, ref f, ref a)) if f == "replace" && a.len() == 1
        ));
        assert!(matches!(
            parse("HTTP_x.httpStatusCode / 100 == 2"),
            Ok(Expr::Binary("==", _, _))
        ));
        assert!(matches!(parse("a ? 'x' : 'y'"), Ok(Expr::Cond(..))));
        assert!(matches!(parse("x is not null"), Ok(Expr::Test(_, true, ref t, _)) if t == "null"));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse("").is_err());
        assert!(parse("a ==").is_err());
        assert!(parse("'open").is_err());
        assert!(parse("1..5").is_err());
        assert!(parse("a && b").is_err());
        assert!(parse("a b").is_err());
    }
}
