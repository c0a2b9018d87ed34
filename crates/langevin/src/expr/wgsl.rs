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
    let s = format!("{:?}", v as f32);
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

/// The expression as WGSL.
pub fn to_wgsl(node: &Node) -> String {
    if let Some(v) = folded_constant(node) {
        return literal(v);
    }
    match node {
        Node::Call(super::ast::Func::Pow, args) => to_wgsl(&Node::Bin(
            BinOp::Pow,
            Box::new(args[0].clone()),
            Box::new(args[1].clone()),
        )),
        Node::Num(v) => literal(*v),
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
            format!("{}({})", f.name(), args.join(", "))
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
