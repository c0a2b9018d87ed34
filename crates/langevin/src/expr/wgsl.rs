//! WGSL for an expression, in the conventions of the SDE kernel: state `x[i]`, parameters
//! `params[k]`, time `t`, all f32. Integer powers become products (defined for negative
//! bases, unlike WGSL's `pow`), mirrored exactly by the CPU evaluator.

use super::ast::{BinOp, Node, Sym};

/// The largest integer exponent written out as a product.
pub const MAX_UNROLLED_POWER: f64 = 16.0;

/// The exponent as a small integer, when `^` is written out as a product.
pub fn integer_power(exponent: &Node) -> Option<i32> {
    exponent
        .as_num()
        .or_else(|| folded_constant(exponent))
        .filter(|e| e.fract() == 0.0 && e.abs() <= MAX_UNROLLED_POWER && *e != 0.0)
        .map(|e| e as i32)
}

/// A WGSL literal for a constant (f32, with a decimal point or exponent).
pub fn literal(v: f64) -> String {
    decorated(format!("{:?}", v as f32), v)
}

/// A number's text with a decimal point, parenthesised when negative.
fn decorated(s: String, v: f64) -> String {
    let s = if s.contains(['.', 'e', 'i', 'N']) {
        s
    } else {
        format!("{s}.0")
    };
    if v < 0.0 {
        format!("({s})")
    } else {
        s
    }
}

/// A constant part folded to one f32 value, as both the WGSL and the CPU program use it (the
/// parser guarantees constant parts are finite f32 values).
pub fn folded_constant(node: &Node) -> Option<f64> {
    if matches!(node, Node::Num(_)) || !node.is_constant() {
        return None;
    }
    super::simplify::simplify(node)
        .as_num()
        .filter(|v| v.is_finite())
}

/// Links of a chain (`a + b + c ...`) written in one WGSL expression: a longer chain is bound
/// to `let`s of this many links each, so that naga, which recurses once per operand of a
/// chain, compiles a sum of any length.
pub const CHAIN_LINKS: usize = 16;

/// An expression as WGSL statements: `let` bindings (for long sums and products, and for the
/// base of a power written as a product), then the value that reads them.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    /// Lines `let <prefix><k> = ...;`, each ending in a newline, to precede the value.
    pub lets: String,
    /// The value, an expression.
    pub value: String,
}

/// The expression as WGSL in f32, as one expression: for expressions of short sums (tests and
/// small generated terms); a user's expression goes through [`to_wgsl_bound`].
pub fn to_wgsl(node: &Node) -> String {
    let mut e = Emitter::new(Flavour::F32, None, "");
    e.emit(&fold_constants(node))
}

/// The expression as WGSL over `real` (the virtual module `precision`): constants at full f64
/// precision and the transcendental functions as `r_exp`, `r_sin`, ... (f64 has no built-in
/// ones). One expression, as [`to_wgsl`].
pub fn to_wgsl_real(node: &Node) -> String {
    let mut e = Emitter::new(Flavour::Real, None, "");
    e.emit(&fold_constants(node))
}

/// The expression as WGSL in f32 with its long chains bound to `let`s named `<prefix><k>`,
/// indented by `indent`: what every generated kernel uses, so that any expression the parser
/// accepts compiles, in time linear in its length.
pub fn to_wgsl_bound(node: &Node, prefix: &str, indent: &str) -> Bound {
    bound(node, Flavour::F32, prefix, indent)
}

/// [`to_wgsl_bound`] over `real`, as [`to_wgsl_real`].
pub fn to_wgsl_real_bound(node: &Node, prefix: &str, indent: &str) -> Bound {
    bound(node, Flavour::Real, prefix, indent)
}

fn bound(node: &Node, flavour: Flavour, prefix: &str, indent: &str) -> Bound {
    let mut e = Emitter::new(flavour, Some(prefix), indent);
    let value = e.emit(&fold_constants(node));
    Bound {
        lets: e.lets,
        value,
    }
}

/// The tree with every constant part that folds to a finite value replaced by that value (as
/// [`folded_constant`] gives it), in one pass: the emitters then never fold again, which
/// would be quadratic in a long chain.
pub fn fold_constants(node: &Node) -> Node {
    let (node, constant) = fold(node);
    settle(node, constant)
}

/// A part as its parent keeps it: folded when constant.
fn settle(node: Node, constant: bool) -> Node {
    if !constant {
        return node;
    }
    match folded_constant(&node) {
        Some(v) => Node::Num(v),
        // A constant of no finite value (trees not from the parser): its parts fold instead.
        None => match &node {
            Node::Num(_) | Node::Sym(_) => node,
            _ => {
                let mut node = node;
                map_children(&mut node, |c| settle(c, true));
                node
            }
        },
    }
}

/// Replaces each child of `node` by `f(child)`.
fn map_children(node: &mut Node, f: impl Fn(Node) -> Node) {
    let swap = |b: &mut Box<Node>| {
        let c = std::mem::replace(&mut **b, Node::Num(0.0));
        **b = f(c);
    };
    match node {
        Node::Num(_) | Node::Sym(_) => {}
        Node::Neg(a) => swap(a),
        Node::Bin(_, a, b) => {
            swap(a);
            swap(b);
        }
        Node::Call(_, args) => {
            for a in args.iter_mut() {
                let c = std::mem::replace(a, Node::Num(0.0));
                *a = f(c);
            }
        }
        Node::If {
            lhs,
            rhs,
            then,
            otherwise,
            ..
        } => {
            swap(lhs);
            swap(rhs);
            swap(then);
            swap(otherwise);
        }
    }
}

/// The tree rebuilt with constant parts under non-constant parents folded, and whether the
/// whole is constant (left unfolded, for its parent to settle).
fn fold(node: &Node) -> (Node, bool) {
    match node {
        Node::Num(_) => (node.clone(), true),
        Node::Sym(_) => (node.clone(), false),
        Node::Neg(a) => {
            let (a, c) = fold(a);
            (Node::Neg(Box::new(a)), c)
        }
        Node::Bin(..) => {
            let (bottom, links) = node.chain();
            let (mut acc, mut constant) = fold(bottom);
            for (op, r) in links {
                let (r, rc) = fold(r);
                if constant && rc {
                    acc = Node::Bin(op, Box::new(acc), Box::new(r));
                } else {
                    acc = Node::Bin(op, Box::new(settle(acc, constant)), Box::new(settle(r, rc)));
                    constant = false;
                }
            }
            (acc, constant)
        }
        Node::Call(f, args) => {
            let folded: Vec<(Node, bool)> = args.iter().map(fold).collect();
            let constant = folded.iter().all(|(_, c)| *c);
            let args = folded
                .into_iter()
                .map(|(n, c)| if constant { n } else { settle(n, c) })
                .collect();
            (Node::Call(*f, args), constant)
        }
        Node::If {
            cmp,
            lhs,
            rhs,
            then,
            otherwise,
        } => {
            let parts = [lhs, rhs, then, otherwise].map(|n| fold(n));
            let constant = parts.iter().all(|(_, c)| *c);
            let [lhs, rhs, then, otherwise] =
                parts.map(|(n, c)| Box::new(if constant { n } else { settle(n, c) }));
            (
                Node::If {
                    cmp: *cmp,
                    lhs,
                    rhs,
                    then,
                    otherwise,
                },
                constant,
            )
        }
    }
}

/// How constants and functions are written.
#[derive(Clone, Copy, PartialEq)]
enum Flavour {
    /// f32 literals, WGSL's built-ins.
    F32,
    /// f64-precision (abstract) literals, the `r_*` functions of `precision`.
    Real,
}

/// A literal in `flavour`.
fn literal_in(v: f64, flavour: Flavour) -> String {
    match flavour {
        Flavour::F32 => literal(v),
        Flavour::Real => decorated(format!("{v:?}"), v),
    }
}

/// Writes WGSL for trees whose constant parts are folded ([`fold_constants`]). Every string
/// it returns is an operand: a name, a literal, a call or in parentheses.
struct Emitter<'a> {
    flavour: Flavour,
    /// The prefix of `let` names; `None` writes one expression.
    prefix: Option<&'a str>,
    indent: &'a str,
    lets: String,
    count: usize,
}

impl<'a> Emitter<'a> {
    fn new(flavour: Flavour, prefix: Option<&'a str>, indent: &'a str) -> Self {
        Emitter {
            flavour,
            prefix,
            indent,
            lets: String::new(),
            count: 0,
        }
    }

    /// `value` bound to a new `let` (when binding), its name returned.
    fn bind(&mut self, value: String) -> String {
        let Some(prefix) = self.prefix else {
            return value;
        };
        let name = format!("{prefix}{}", self.count);
        self.count += 1;
        self.lets.push_str(&format!(
            "{}let {name} = {value};
",
            self.indent
        ));
        name
    }

    fn emit(&mut self, node: &Node) -> String {
        use super::ast::Func;
        let flavour = self.flavour;
        match node {
            Node::Call(Func::Pow, args) => {
                let base = self.emit(&args[0]);
                let leaf = matches!(args[0], Node::Num(_) | Node::Sym(_));
                self.power(base, leaf, &args[1])
            }
            Node::Num(v) => literal_in(*v, flavour),
            Node::Sym(Sym::State(i)) => format!("x[{i}]"),
            Node::Sym(Sym::Param(k)) => format!("params[{k}]"),
            Node::Sym(Sym::Time) => "t".into(),
            Node::Neg(a) => format!("(-{})", self.emit(a)),
            Node::Bin(..) => self.chain(node),
            Node::Call(f, args) => {
                let args: Vec<String> = args.iter().map(|a| self.emit(a)).collect();
                let builtin = matches!(
                    f,
                    Func::Sqrt | Func::Abs | Func::Sign | Func::Min | Func::Max
                );
                let prefix = if flavour == Flavour::Real && !builtin {
                    "r_"
                } else {
                    ""
                };
                format!("{prefix}{}({})", f.name(), args.join(", "))
            }
            Node::If {
                cmp,
                lhs,
                rhs,
                then,
                otherwise,
            } => {
                let op = cmp.symbol();
                let otherwise = self.emit(otherwise);
                let then = self.emit(then);
                let lhs = self.emit(lhs);
                let rhs = self.emit(rhs);
                format!("select({otherwise}, {then}, {lhs} {op} {rhs})")
            }
        }
    }

    /// `base ^ exponent`: a product for a small integer exponent (its base bound to a `let`
    /// unless it is a name or literal (`leaf`), so that the text stays linear), else `pow`.
    fn power(&mut self, base: String, leaf: bool, exponent: &Node) -> String {
        match integer_power(exponent) {
            Some(n) => {
                let base = if n.unsigned_abs() > 1 && !leaf {
                    self.bind(base)
                } else {
                    base
                };
                let product = vec![base; n.unsigned_abs() as usize].join(" * ");
                if n < 0 {
                    format!("(1.0 / ({product}))")
                } else {
                    format!("({product})")
                }
            }
            None => {
                let exponent = self.emit(exponent);
                if self.flavour == Flavour::Real {
                    format!("r_pow({base}, {exponent})")
                } else {
                    format!("pow({base}, {exponent})")
                }
            }
        }
    }

    /// A chain `((a op b) op c) ...` written without the parentheses its left-to-right order
    /// makes redundant (`(a + b + c)`), bound to a `let` every [`CHAIN_LINKS`] links.
    fn chain(&mut self, node: &Node) -> String {
        let (bottom, links) = node.chain();
        let acc = self.emit(bottom);
        let leaf = matches!(bottom, Node::Num(_) | Node::Sym(_));
        self.links(acc, leaf, &links)
    }

    /// The links of a chain applied to `acc` (an operand; `leaf` when a name or a literal).
    fn links(&mut self, mut acc: String, mut leaf: bool, links: &[(BinOp, &Node)]) -> String {
        // Precedence of the operators at the top level of `acc`: 3 an operand, 2 `*` `/`,
        // 1 `+` `-`.
        let mut level = 3;
        let mut written = 0;
        for (i, (op, r)) in links.iter().enumerate() {
            if *op == BinOp::Pow {
                let base = if level < 3 { format!("({acc})") } else { acc };
                acc = self.power(base, leaf, r);
                level = 3;
            } else {
                let (sym, p) = match op {
                    BinOp::Add => ("+", 1),
                    BinOp::Sub => ("-", 1),
                    BinOp::Mul => ("*", 2),
                    BinOp::Div => ("/", 2),
                    BinOp::Pow => unreachable!("handled above"),
                };
                let rhs = self.emit(r);
                if level < p {
                    acc = format!("({acc})");
                }
                acc.push_str(&format!(" {sym} {rhs}"));
                level = level.min(p);
                written += 1;
                if written == CHAIN_LINKS && i + 1 < links.len() && self.prefix.is_some() {
                    acc = self.bind(acc);
                    level = 3;
                    written = 0;
                    leaf = true;
                    continue;
                }
            }
            leaf = false;
        }
        if level < 3 {
            format!("({acc})")
        } else {
            acc
        }
    }
}

/// Links of a chain one generated function holds: naga's type resolution costs a time
/// proportional to a function's expressions for each expression, so a sum of 10^5 terms is
/// cut into functions of this many links, each taking the sum so far.
pub const FUNCTION_LINKS: usize = 256;

/// WGSL for `node` in a function body, with a chain longer than [`FUNCTION_LINKS`] computed
/// by helper functions `<name><k>(<args>, acc)` declared in `functions` (to precede the
/// function that uses them): `signature` declares `args` (`"t: f32, x: State"` for `"t, x"`),
/// `ty` is the value's type, and the helpers read nothing else (parameters from module scope).
pub fn to_wgsl_split(
    node: &Node,
    real: bool,
    name: &str,
    signature: &str,
    args: &str,
    ty: &str,
) -> (String, Bound) {
    let flavour = if real { Flavour::Real } else { Flavour::F32 };
    let folded = fold_constants(node);
    let (bottom, links) = folded.chain();
    if links.len() <= FUNCTION_LINKS {
        return (
            String::new(),
            bound(&folded, flavour, &format!("{name}_"), "    "),
        );
    }
    let mut functions = String::new();
    let mut lets = String::new();
    let mut acc: Option<String> = None;
    for (k, segment) in links.chunks(FUNCTION_LINKS).enumerate() {
        let mut e = Emitter::new(flavour, Some("p"), "    ");
        let (start, leaf, input) = match &acc {
            None => (
                e.emit(bottom),
                matches!(bottom, Node::Num(_) | Node::Sym(_)),
                String::new(),
            ),
            Some(_) => ("acc".to_string(), true, format!(", acc: {ty}")),
        };
        let value = e.links(start, leaf, segment);
        functions.push_str(&format!(
            "fn {name}{k}({signature}{input}) -> {ty} {{\n{}    return {value};\n}}\n",
            e.lets
        ));
        let call = match &acc {
            None => format!("{name}{k}({args})"),
            Some(prev) => format!("{name}{k}({args}, {prev})"),
        };
        let part = format!("{name}_{k}");
        lets.push_str(&format!("    let {part} = {call};\n"));
        acc = Some(part);
    }
    (
        functions,
        Bound {
            lets,
            value: acc.unwrap_or_default(),
        },
    )
}
