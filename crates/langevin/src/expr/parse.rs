//! A recursive-descent parser from the user's text to [`Node`], resolving names against a
//! [`Scope`] and reporting errors at a byte range of the text, with suggestions.
//!
//! Precedence, lowest first: `+ -`, `* /`, unary `-`, `^` (right-associative, so `2^3^2` is
//! `2^9` and `-x^2` is `-(x^2)`). Comparisons `< <= > >=` appear only as the first argument of
//! `if(cond, a, b)`.

use super::ast::{BinOp, CmpOp, Func, Node, Sym};
use super::simplify;
use std::collections::HashMap;
use std::fmt;

/// The names an expression may use, besides `t` and `pi`.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    names: Vec<(String, Sym)>,
    /// Each name's place in `names`: a model may have hundreds of thousands of parameters.
    index: HashMap<String, usize>,
    /// The parameters' values, when known: an expression of parameters alone that is not a
    /// real number with them is refused where it is written.
    values: Vec<f64>,
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
        let mut index = HashMap::with_capacity(names.len());
        for (i, (n, _)) in names.iter().enumerate().rev() {
            // The first of a repeated name wins, as a search from the front would find it.
            index.insert(n.clone(), i);
        }
        Scope {
            names,
            index,
            values: Vec::new(),
        }
    }

    /// The scope with the parameters' values (in the order of [`Scope::new`]'s `params`):
    /// [`parse`] then refuses a part of an expression that depends on parameters alone and is
    /// not a real number with these values (`sqrt(2*D)` with `D = -0.25`), since every
    /// trajectory would be NaN.
    pub fn with_values(mut self, values: &[f64]) -> Scope {
        self.values = values.to_vec();
        self
    }

    fn lookup(&self, name: &str) -> Option<Node> {
        match name {
            "t" => Some(Node::Sym(Sym::Time)),
            "pi" => Some(Node::Num(std::f64::consts::PI)),
            _ => self.index.get(name).map(|&i| Node::Sym(self.names[i].1)),
        }
    }

    /// The value of `sym` when the parse knows it: a parameter with a value.
    fn value(&self, sym: Sym) -> Option<f64> {
        match sym {
            Sym::Param(k) => self.values.get(k).copied(),
            Sym::State(_) | Sym::Time => None,
        }
    }

    /// The name of `sym`, for messages.
    fn name_of(&self, sym: Sym) -> &str {
        self.names
            .iter()
            .find(|(_, s)| *s == sym)
            .map_or("?", |(n, _)| n.as_str())
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
/// of the f32 range, a part of parameters alone that is NaN with the values of
/// [`Scope::with_values`].
pub fn parse(source: &str, scope: &Scope) -> Result<Node, ExprError> {
    let tokens = lex(source)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        scope,
        end: source.len(),
        depth: 0,
        nan: Vec::new(),
    };
    if p.tokens.is_empty() {
        return Err(ExprError::new("empty expression", (0, source.len().max(1))));
    }
    let (node, _) = p.additive()?;
    if let Some(tok) = p.tokens.get(p.pos) {
        return Err(ExprError::new(
            format!("unexpected `{}`", tok.text),
            tok.span,
        ));
    }
    if let Some(e) = p.nan.into_iter().next() {
        return Err(e);
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
    /// Parts of parameters alone that are not real numbers with the parameters' values, in
    /// the order they end (innermost first); a branch of an `if` whose condition the values
    /// decide against drops its own. The first left is the error.
    nan: Vec<ExprError>,
}

/// What the parse knows of a part's value without a trajectory: carried up with each part so
/// that a sum of a hundred thousand terms is checked in one pass, not refolded at every `+`.
#[derive(Clone, Copy, Debug)]
struct Known {
    /// The value, when the part reads no state, no time and only parameters with values: for
    /// a constant as [`simplify`] folds it (NaN where it leaves the part unfolded), for a part
    /// with parameters as the kernels compute it.
    value: Option<f64>,
    /// Whether the part reads a parameter.
    params: bool,
}

impl Known {
    fn constant(v: f64) -> Known {
        Known {
            value: Some(v),
            params: false,
        }
    }

    fn is_nan(self) -> bool {
        self.value.is_some_and(f64::is_nan)
    }

    fn neg(self) -> Known {
        Known {
            value: self.value.map(|v| -v),
            ..self
        }
    }

    fn bin(op: BinOp, a: Known, b: Known) -> Known {
        let params = a.params || b.params;
        let value = match (a.value, b.value) {
            (Some(x), Some(y)) => Some(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                // A constant zero divisor is refused before this.
                BinOp::Div => x / y,
                BinOp::Pow if !params => {
                    // As `simplify::pow` folds (a negative base needs an integer exponent).
                    if x > 0.0 || y.fract() == 0.0 {
                        x.powf(y)
                    } else {
                        f64::NAN
                    }
                }
                BinOp::Pow => {
                    // A constant small integer exponent is a product, any other `pow`, which
                    // is NaN for a negative base (as WGSL's).
                    let product = !b.params
                        && y.fract() == 0.0
                        && y != 0.0
                        && y.abs() <= super::wgsl::MAX_UNROLLED_POWER;
                    if product || x >= 0.0 {
                        x.powf(y)
                    } else {
                        f64::NAN
                    }
                }
            }),
            _ => None,
        };
        Known { value, params }
    }

    fn call(f: Func, args: &[Known]) -> Known {
        if f == Func::Pow {
            return Known::bin(BinOp::Pow, args[0], args[1]);
        }
        let params = args.iter().any(|a| a.params);
        let values: Option<Vec<f64>> = args.iter().map(|a| a.value).collect();
        let value = values.map(|v| {
            let y = f.apply_f64(&v);
            // `simplify::call` leaves a constant call of no finite value unfolded.
            if params || y.is_finite() {
                y
            } else {
                f64::NAN
            }
        });
        Known { value, params }
    }
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
    /// `1e30 * 1e30` are refused here rather than by the shader compiler). A part of
    /// parameters alone that is NaN with their values (`origin`: its operands are not) is
    /// noted, to be refused unless it lies in a branch the values rule out.
    fn check_constant(
        &mut self,
        node: &Node,
        known: Known,
        origin: bool,
        start: usize,
    ) -> Result<(), ExprError> {
        let Some(v) = known.value else {
            return Ok(());
        };
        let end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(start, |t| t.span.1);
        let span = (start, end.max(start + 1));
        if known.params {
            if v.is_nan() && origin {
                let mut e = ExprError::new(
                    format!(
                        "this is not a real number with {}, so every trajectory would be NaN",
                        self.values_in(node)
                    ),
                    span,
                );
                e.help = Some("change the parameter's value or the expression".into());
                self.nan.push(e);
            }
            return Ok(());
        }
        if v.is_nan() {
            Err(ExprError::new("this constant is not a real number", span))
        } else if v.is_finite() && v.abs() <= f64::from(f32::MAX) {
            Ok(())
        } else {
            Err(ExprError::new(
                format!("this constant evaluates to {v:e}, outside the f32 range the kernels compute in"),
                span,
            ))
        }
    }

    /// The parameters `node` reads with their values, `a = 1, b = -0.25`.
    fn values_in(&self, node: &Node) -> String {
        let mut seen = Vec::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            match n {
                Node::Num(_) => {}
                Node::Sym(s) => {
                    if !seen.contains(s) {
                        seen.push(*s);
                    }
                }
                Node::Neg(a) => stack.push(a),
                Node::Bin(_, a, b) => stack.extend([&**b, &**a]),
                Node::Call(_, args) => stack.extend(args.iter().rev()),
                Node::If {
                    lhs,
                    rhs,
                    then,
                    otherwise,
                    ..
                } => stack.extend([&**otherwise, &**then, &**rhs, &**lhs]),
            }
        }
        seen.iter()
            .filter_map(|&s| {
                let v = self.scope.value(s)?;
                Some(format!("{} = {v}", self.scope.name_of(s)))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn additive(&mut self) -> Result<(Node, Known), ExprError> {
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
    fn sum(&mut self) -> Result<(Node, Known), ExprError> {
        let start = self.here().0;
        let (mut lhs, mut known) = self.term()?;
        loop {
            let op = if self.eat("+") {
                BinOp::Add
            } else if self.eat("-") {
                BinOp::Sub
            } else {
                break;
            };
            let (rhs, rk) = self.term()?;
            let origin = !known.is_nan() && !rk.is_nan();
            known = Known::bin(op, known, rk);
            lhs = Node::Bin(op, Box::new(lhs), Box::new(rhs));
            self.check_constant(&lhs, known, origin, start)?;
        }
        Ok((lhs, known))
    }

    fn term(&mut self) -> Result<(Node, Known), ExprError> {
        let start = self.here().0;
        let (mut lhs, mut known) = self.unary()?;
        loop {
            let op = if self.eat("*") {
                BinOp::Mul
            } else if self.peek_op() == Some("/") {
                let slash = self.here();
                self.pos += 1;
                let divisor_start = self.here().0;
                let (rhs, rk) = self.unary()?;
                let end = self
                    .tokens
                    .get(self.pos.saturating_sub(1))
                    .map_or(divisor_start, |t| t.span.1);
                let zero = if rk.params {
                    simplify::simplify(&rhs).as_num() == Some(0.0)
                } else {
                    rk.value == Some(0.0) || simplify::simplify(&rhs).as_num() == Some(0.0)
                };
                if zero {
                    let mut e = ExprError::new("division by zero", (slash.0, end));
                    e.help = Some("the divisor is a constant that equals zero".into());
                    return Err(e);
                }
                let origin = !known.is_nan() && !rk.is_nan();
                known = Known::bin(BinOp::Div, known, rk);
                lhs = Node::Bin(BinOp::Div, Box::new(lhs), Box::new(rhs));
                self.check_constant(&lhs, known, origin, divisor_start)?;
                continue;
            } else {
                break;
            };
            let (rhs, rk) = self.unary()?;
            let origin = !known.is_nan() && !rk.is_nan();
            known = Known::bin(op, known, rk);
            lhs = Node::Bin(op, Box::new(lhs), Box::new(rhs));
            self.check_constant(&lhs, known, origin, start)?;
        }
        Ok((lhs, known))
    }

    fn unary(&mut self) -> Result<(Node, Known), ExprError> {
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
            self.unary().map(|(n, k)| (Node::Neg(Box::new(n)), k.neg()))
        } else if self.eat("+") {
            self.unary()
        } else {
            self.power()
        };
        self.depth -= 1;
        node
    }

    fn power(&mut self) -> Result<(Node, Known), ExprError> {
        let start = self.here().0;
        let (base, bk) = self.atom()?;
        if self.eat("^") {
            let (exponent, ek) = self.unary()?;
            let origin = !bk.is_nan() && !ek.is_nan();
            let known = Known::bin(BinOp::Pow, bk, ek);
            let node = Node::Bin(BinOp::Pow, Box::new(base), Box::new(exponent));
            self.check_constant(&node, known, origin, start)?;
            return Ok((node, known));
        }
        Ok((base, bk))
    }

    fn atom(&mut self) -> Result<(Node, Known), ExprError> {
        let Some(tok) = self.tokens.get(self.pos).cloned() else {
            return Err(ExprError::new("expression ends early", self.here()));
        };
        self.pos += 1;
        match tok.kind {
            Kind::Num(v) => Ok((Node::Num(v), Known::constant(v))),
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
            Kind::Name => match self.scope.lookup(&tok.text) {
                Some(node) => {
                    let known = match node {
                        Node::Num(v) => Known::constant(v),
                        Node::Sym(s) => Known {
                            value: self.scope.value(s),
                            params: matches!(s, Sym::Param(_)),
                        },
                        _ => unreachable!("a name is a number or a symbol"),
                    };
                    Ok((node, known))
                }
                None => {
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
                    Err(e)
                }
            },
        }
    }

    fn call(&mut self, name: &Token) -> Result<(Node, Known), ExprError> {
        if name.text == "if" {
            let (lhs, lk) = self.sum()?;
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
            let (rhs, rk) = self.sum()?;
            self.expect(",")?;
            let before_then = self.nan.len();
            let (then, tk) = self.additive()?;
            self.expect(",")?;
            let before_otherwise = self.nan.len();
            let (otherwise, ok) = self.additive()?;
            self.expect(")")?;
            let params = lk.params || rk.params || tk.params || ok.params;
            let value = match (lk.value, rk.value) {
                (Some(l), Some(r)) if cmp.holds(l, r) => {
                    self.nan.truncate(before_otherwise);
                    tk.value
                }
                (Some(_), Some(_)) => {
                    self.nan.drain(before_then..before_otherwise);
                    ok.value
                }
                _ => None,
            };
            let node = Node::If {
                cmp,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
            };
            return Ok((node, Known { value, params }));
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
        let mut knowns = Vec::new();
        if !self.eat(")") {
            loop {
                let (arg, known) = self.additive()?;
                args.push(arg);
                knowns.push(known);
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
        let origin = !knowns.iter().any(|k| k.is_nan());
        let known = Known::call(func, &knowns);
        let node = Node::Call(func, args);
        self.check_constant(&node, known, origin, name.span.0)?;
        Ok((node, known))
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
