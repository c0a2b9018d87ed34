//! A recursive-descent parser from the user's text to [`Node`], resolving names against a
//! [`Scope`] and reporting errors at a byte range of the text, with suggestions.
//!
//! Precedence, lowest first: `+ -`, `* /`, unary `-`, `^` (right-associative, so `2^3^2` is
//! `2^9` and `-x^2` is `-(x^2)`). Comparisons `< <= > >=` appear only as the first argument of
//! `if(cond, a, b)`.

use super::ast::{BinOp, CmpOp, Func, Node, Sym};
use super::simplify;
use std::fmt;

/// The names an expression may use, besides `t` and `pi`.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    names: Vec<(String, Sym)>,
}

impl Scope {
    /// A scope with state variables and parameters, in order.
    pub fn new(states: &[impl AsRef<str>], params: &[impl AsRef<str>]) -> Scope {
        let mut names: Vec<(String, Sym)> = states
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_ref().to_string(), Sym::State(i)))
            .collect();
        names.extend(
            params
                .iter()
                .enumerate()
                .map(|(k, n)| (n.as_ref().to_string(), Sym::Param(k))),
        );
        Scope { names }
    }

    fn lookup(&self, name: &str) -> Option<Node> {
        match name {
            "t" => Some(Node::Sym(Sym::Time)),
            "pi" => Some(Node::Num(std::f64::consts::PI)),
            _ => self
                .names
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| Node::Sym(*s)),
        }
    }

    fn known(&self) -> impl Iterator<Item = &str> {
        self.names
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(["t", "pi"])
    }
}

/// A mistake in an expression, located in its text.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    /// What is wrong.
    pub message: String,
    /// Byte range of the offending text.
    pub span: (usize, usize),
    /// A suggestion, such as a correctly spelt name.
    pub help: Option<String>,
}

impl ExprError {
    fn new(message: impl Into<String>, span: (usize, usize)) -> Self {
        ExprError {
            message: message.into(),
            span,
            help: None,
        }
    }

    /// The error under `origin` (a file and field), with the expression and a caret line.
    pub fn render(&self, origin: &str, source: &str) -> String {
        let start = source[..self.span.0.min(source.len())].chars().count();
        let width = source[self.span.0.min(source.len())..self.span.1.min(source.len())]
            .chars()
            .count()
            .max(1);
        let mut out = format!(
            "{origin}: {}\n    {source}\n    {}{}",
            self.message,
            " ".repeat(start),
            "^".repeat(width)
        );
        if let Some(help) = &self.help {
            out.push_str(&format!("\n  help: {help}"));
        }
        out
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at column {}", self.message, self.span.0 + 1)?;
        if let Some(h) = &self.help {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ExprError {}

/// Parses `source` with the names of `scope`.
///
/// # Errors
/// [`ExprError`] at the offending text: a syntax error, an unknown name or function (with the
/// closest known one), a wrong number of arguments, a constant divided by zero, a number out
/// of the f32 range.
pub fn parse(source: &str, scope: &Scope) -> Result<Node, ExprError> {
    let tokens = lex(source)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        scope,
        end: source.len(),
        depth: 0,
    };
    if p.tokens.is_empty() {
        return Err(ExprError::new("empty expression", (0, source.len().max(1))));
    }
    let node = p.additive()?;
    if let Some(tok) = p.tokens.get(p.pos) {
        return Err(ExprError::new(
            format!("unexpected `{}`", tok.text),
            tok.span,
        ));
    }
    Ok(node)
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Num(f64),
    Name,
    Op,
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    text: String,
    span: (usize, usize),
}

fn lex(source: &str) -> Result<Vec<Token>, ExprError> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit()))
        {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                let mut j = i + 1;
                if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j].is_ascii_digit() {
                    i = j;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text = &source[start..i];
            let value: f64 = text
                .parse()
                .map_err(|_| ExprError::new(format!("malformed number `{text}`"), (start, i)))?;
            if value != 0.0
                && !(f64::from(f32::MIN_POSITIVE)..=f64::from(f32::MAX)).contains(&value)
            {
                return Err(ExprError::new(
                    format!("number `{text}` is outside the f32 range the kernels compute in"),
                    (start, i),
                ));
            }
            tokens.push(Token {
                kind: Kind::Num(value),
                text: text.to_string(),
                span: (start, i),
            });
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            tokens.push(Token {
                kind: Kind::Name,
                text: source[start..i].to_string(),
                span: (start, i),
            });
            continue;
        }
        let two = source.get(i..i + 2);
        let op = if two == Some("<=") || two == Some(">=") {
            two.unwrap()
        } else if "+-*/^(),<>".contains(c) {
            &source[i..i + 1]
        } else {
            let len = c
                .len_utf8()
                .max(source[i..].chars().next().map_or(1, char::len_utf8));
            return Err(ExprError::new(
                format!("unexpected character `{}`", &source[i..i + len]),
                (i, i + len),
            ));
        };
        i += op.len();
        tokens.push(Token {
            kind: Kind::Op,
            text: op.to_string(),
            span: (start, i),
        });
    }
    Ok(tokens)
}

/// The deepest nesting of parentheses, signs, powers and calls an expression may have: the
/// parser, the symbolic derivative and the generated WGSL (which naga parses with a recursion
/// limit of its own) all recurse once per level.
pub const MAX_NESTING: u32 = 64;

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    scope: &'a Scope,
    end: usize,
    /// Levels of `unary` entered and not left: every nesting passes through it.
    depth: u32,
}

impl Parser<'_> {
    fn peek_op(&self) -> Option<&str> {
        self.tokens
            .get(self.pos)
            .filter(|t| t.kind == Kind::Op)
            .map(|t| t.text.as_str())
    }

    fn eat(&mut self, op: &str) -> bool {
        if self.peek_op() == Some(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn here(&self) -> (usize, usize) {
        self.tokens
            .get(self.pos)
            .map_or((self.end, self.end + 1), |t| t.span)
    }

    fn expect(&mut self, op: &str) -> Result<(), ExprError> {
        if self.eat(op) {
            Ok(())
        } else {
            let found = self
                .tokens
                .get(self.pos)
                .map_or("the end".to_string(), |t| format!("`{}`", t.text));
            Err(ExprError::new(
                format!("expected `{op}`, found {found}"),
                self.here(),
            ))
        }
    }

    /// A constant part of an expression must be a finite f32 (`sqrt(-1)`, `log(0)` or
    /// `1e30 * 1e30` are refused here rather than by the shader compiler).
    fn check_constant(&self, node: &Node, start: usize) -> Result<(), ExprError> {
        if !node.is_constant() {
            return Ok(());
        }
        let end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(start, |t| t.span.1);
        match simplify::simplify(node).as_num() {
            Some(v) if v.is_finite() && v.abs() <= f64::from(f32::MAX) => Ok(()),
            Some(v) => Err(ExprError::new(
                format!("this constant evaluates to {v:e}, outside the f32 range the kernels compute in"),
                (start, end.max(start + 1)),
            )),
            None => Err(ExprError::new(
                "this constant is not a real number",
                (start, end.max(start + 1)),
            )),
        }
    }

    fn additive(&mut self) -> Result<Node, ExprError> {
        let lhs = self.sum()?;
        if let Some(cmp @ ("<" | "<=" | ">" | ">=")) = self.peek_op() {
            return Err(ExprError::new(
                format!("comparison `{cmp}` is only allowed as the first argument of `if`"),
                self.here(),
            ));
        }
        Ok(lhs)
    }

    /// Terms joined by `+` and `-`; a comparison may follow (inside `if`).
    fn sum(&mut self) -> Result<Node, ExprError> {
        let start = self.here().0;
        let mut lhs = self.term()?;
        loop {
            let op = if self.eat("+") {
                BinOp::Add
            } else if self.eat("-") {
                BinOp::Sub
            } else {
                break;
            };
            let rhs = self.term()?;
            lhs = Node::Bin(op, Box::new(lhs), Box::new(rhs));
            self.check_constant(&lhs, start)?;
        }
        Ok(lhs)
    }

    fn term(&mut self) -> Result<Node, ExprError> {
        let start = self.here().0;
        let mut lhs = self.unary()?;
        loop {
            if self.eat("*") {
                let rhs = self.unary()?;
                lhs = Node::Bin(BinOp::Mul, Box::new(lhs), Box::new(rhs));
                self.check_constant(&lhs, start)?;
            } else if self.peek_op() == Some("/") {
                let slash = self.here();
                self.pos += 1;
                let start = self.here().0;
                let rhs = self.unary()?;
                let end = self
                    .tokens
                    .get(self.pos.saturating_sub(1))
                    .map_or(start, |t| t.span.1);
                if simplify::simplify(&rhs).as_num() == Some(0.0) {
                    let mut e = ExprError::new("division by zero", (slash.0, end));
                    e.help = Some("the divisor is a constant that equals zero".into());
                    return Err(e);
                }
                lhs = Node::Bin(BinOp::Div, Box::new(lhs), Box::new(rhs));
                self.check_constant(&lhs, start)?;
            } else {
                break;
            }
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(ExprError::new(
                format!(
                    "nested deeper than {MAX_NESTING} levels (parentheses, signs, powers and calls)"
                ),
                self.here(),
            ));
        }
        let node = if self.eat("-") {
            self.unary().map(|n| Node::Neg(Box::new(n)))
        } else if self.eat("+") {
            self.unary()
        } else {
            self.power()
        };
        self.depth -= 1;
        node
    }

    fn power(&mut self) -> Result<Node, ExprError> {
        let start = self.here().0;
        let base = self.atom()?;
        if self.eat("^") {
            let exponent = self.unary()?;
            let node = Node::Bin(BinOp::Pow, Box::new(base), Box::new(exponent));
            self.check_constant(&node, start)?;
            return Ok(node);
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Node, ExprError> {
        let Some(tok) = self.tokens.get(self.pos).cloned() else {
            return Err(ExprError::new("expression ends early", self.here()));
        };
        self.pos += 1;
        match tok.kind {
            Kind::Num(v) => Ok(Node::Num(v)),
            Kind::Op if tok.text == "(" => {
                let inner = self.additive()?;
                self.expect(")")?;
                Ok(inner)
            }
            Kind::Op => Err(ExprError::new(
                format!("unexpected `{}`", tok.text),
                tok.span,
            )),
            Kind::Name if self.peek_op() == Some("(") => {
                self.pos += 1;
                self.call(&tok)
            }
            Kind::Name => self.scope.lookup(&tok.text).ok_or_else(|| {
                let mut e = ExprError::new(format!("unknown name `{}`", tok.text), tok.span);
                if Func::ALL.iter().any(|(_, n)| *n == tok.text) || tok.text == "if" {
                    e.help = Some(format!(
                        "`{}` is a function: write `{}(...)`",
                        tok.text, tok.text
                    ));
                } else {
                    e.help = closest(&tok.text, self.scope.known())
                        .map(|s| format!("did you mean `{s}`?"));
                }
                e
            }),
        }
    }

    fn call(&mut self, name: &Token) -> Result<Node, ExprError> {
        if name.text == "if" {
            let lhs = self.sum()?;
            let cmp = match self.peek_op() {
                Some("<") => CmpOp::Lt,
                Some("<=") => CmpOp::Le,
                Some(">") => CmpOp::Gt,
                Some(">=") => CmpOp::Ge,
                _ => {
                    return Err(ExprError::new(
                        "`if` needs a comparison (`<`, `<=`, `>`, `>=`) as its first argument",
                        self.here(),
                    ))
                }
            };
            self.pos += 1;
            let rhs = self.sum()?;
            self.expect(",")?;
            let then = self.additive()?;
            self.expect(",")?;
            let otherwise = self.additive()?;
            self.expect(")")?;
            return Ok(Node::If {
                cmp,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
            });
        }
        let Some(func) = Func::ALL
            .iter()
            .find(|(_, n)| *n == name.text)
            .map(|(f, _)| *f)
        else {
            let mut e = ExprError::new(format!("unknown function `{}`", name.text), name.span);
            e.help = closest(&name.text, Func::ALL.iter().map(|(_, n)| *n).chain(["if"]))
                .map(|s| format!("did you mean `{s}`?"));
            return Err(e);
        };
        let mut args = Vec::new();
        if !self.eat(")") {
            loop {
                args.push(self.additive()?);
                if self.eat(")") {
                    break;
                }
                self.expect(",")?;
            }
        }
        if args.len() != func.arity() {
            let end = self.tokens[self.pos - 1].span.1;
            return Err(ExprError::new(
                format!(
                    "`{}` takes {} argument{}, got {}",
                    name.text,
                    func.arity(),
                    if func.arity() == 1 { "" } else { "s" },
                    args.len()
                ),
                (name.span.0, end),
            ));
        }
        let node = Node::Call(func, args);
        self.check_constant(&node, name.span.0)?;
        Ok(node)
    }
}

/// The known name closest to `name` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3) && *d < k.len().max(name.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(prev + usize::from(ca != *cb));
            prev = cur;
        }
    }
    row[b.len()]
}
