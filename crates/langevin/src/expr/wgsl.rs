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

/// The expression as WGSL in f32.
pub fn to_wgsl(node: &Node) -> String {
    emit(node, Flavour::F32)
}

/// The expression as WGSL over `real` (the virtual module `precision`): constants at full f64
/// precision and the transcendental functions as `r_exp`, `r_sin`, ... (f64 has no built-in
/// ones).
pub fn to_wgsl_real(node: &Node) -> String {
    emit(node, Flavour::Real)
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

fn emit(node: &Node, flavour: Flavour) -> String {
    use super::ast::Func;
    let to_wgsl = |n: &Node| emit(n, flavour);
    if let Some(v) = folded_constant(node) {
        return literal_in(v, flavour);
    }
    match node {
        Node::Call(Func::Pow, args) => to_wgsl(&Node::Bin(
            BinOp::Pow,
            Box::new(args[0].clone()),
            Box::new(args[1].clone()),
        )),
        Node::Num(v) => literal_in(*v, flavour),
        Node::Sym(Sym::State(i)) => format!("x[{i}]"),
        Node::Sym(Sym::Param(k)) => format!("params[{k}]"),
        Node::Sym(Sym::Time) => "t".into(),
        Node::Neg(a) => format!("(-{})", to_wgsl(a)),
        Node::Bin(BinOp::Pow, a, b) => match integer_power(b) {
            Some(n) => {
                let base = to_wgsl(a);
                let product = vec![base; n.unsigned_abs() as usize].join(" * ");
                if n < 0 {
                    format!("(1.0 / ({product}))")
                } else {
                    format!("({product})")
                }
            }
            None if flavour == Flavour::Real => {
                format!("r_pow({}, {})", to_wgsl(a), to_wgsl(b))
            }
            None => format!("pow({}, {})", to_wgsl(a), to_wgsl(b)),
        },
        Node::Bin(op, a, b) => {
            let sym = match op {
                BinOp::Add => "+",
                BinOp::Sub => "-",
                BinOp::Mul => "*",
                BinOp::Div => "/",
                BinOp::Pow => unreachable!("handled above"),
            };
            format!("({} {sym} {})", to_wgsl(a), to_wgsl(b))
        }
        Node::Call(f, args) => {
            let args: Vec<String> = args.iter().map(to_wgsl).collect();
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
            format!(
                "select({}, {}, {} {op} {})",
                to_wgsl(otherwise),
                to_wgsl(then),
                to_wgsl(lhs),
                to_wgsl(rhs)
            )
        }
    }
}
