//! Symbolic differentiation, so that Milstein (and gradients of potentials) work on models
//! written as text without the user writing derivatives.

use super::ast::{BinOp, Func, Node, Sym};
use super::simplify::{add, call, div, mul, neg, pow, simplify, sub};

/// `d node / d sym`, simplified. Piecewise functions (`abs`, `sign`, `min`, `max`, `if`)
/// differentiate branch by branch; `sign` has derivative 0 away from 0.
pub fn diff(node: &Node, sym: Sym) -> Node {
    simplify(&d(node, sym))
}

fn d(node: &Node, x: Sym) -> Node {
    if !node.depends_on(x) {
        return Node::Num(0.0);
    }
    match node {
        Node::Num(_) => Node::Num(0.0),
        Node::Sym(s) => Node::Num(if *s == x { 1.0 } else { 0.0 }),
        Node::Neg(a) => neg(d(a, x)),
        Node::Bin(..) => {
            // A chain in a loop, from its bottom up: the derivative of each prefix from that of
            // the one below (a sum may be 10^5 terms long; operands are cloned only where a
            // product or quotient rule needs them).
            let mut spine = Vec::new();
            let mut bottom = node;
            while let Node::Bin(_, a, _) = bottom {
                spine.push(bottom);
                bottom = a;
            }
            let mut da = d(bottom, x);
            for link in spine.into_iter().rev() {
                let Node::Bin(op, a, b) = link else {
                    unreachable!("the spine holds binary operations")
                };
                let (a, b) = (&**a, &**b);
                da = match op {
                    BinOp::Add => add(da, d(b, x)),
                    BinOp::Sub => sub(da, d(b, x)),
                    BinOp::Mul => add(times(da, b), by(a, d(b, x))),
                    BinOp::Div => div(sub(times(da, b), by(a, d(b, x))), mul(b.clone(), b.clone())),
                    BinOp::Pow => d_pow(a, da, b, x),
                };
            }
            da
        }
        Node::Call(f, args) => {
            let u = args[0].clone();
            let du = d(&u, x);
            match f {
                Func::Exp => mul(call(Func::Exp, vec![u]), du),
                Func::Log => div(du, u),
                Func::Sqrt => div(du, mul(Node::Num(2.0), call(Func::Sqrt, vec![u]))),
                Func::Sin => mul(call(Func::Cos, vec![u]), du),
                Func::Cos => neg(mul(call(Func::Sin, vec![u]), du)),
                Func::Tan => {
                    let t = call(Func::Tan, vec![u]);
                    mul(add(Node::Num(1.0), mul(t.clone(), t)), du)
                }
                Func::Tanh => {
                    let t = call(Func::Tanh, vec![u]);
                    mul(sub(Node::Num(1.0), mul(t.clone(), t)), du)
                }
                Func::Sinh => mul(call(Func::Cosh, vec![u]), du),
                Func::Cosh => mul(call(Func::Sinh, vec![u]), du),
                Func::Atan => div(du, add(Node::Num(1.0), mul(u.clone(), u))),
                Func::Abs => mul(call(Func::Sign, vec![u]), du),
                Func::Sign => Node::Num(0.0),
                Func::Min | Func::Max => {
                    let v = args[1].clone();
                    let dv = d(&v, x);
                    let cmp = if *f == Func::Min {
                        super::ast::CmpOp::Le
                    } else {
                        super::ast::CmpOp::Ge
                    };
                    Node::If {
                        cmp,
                        lhs: Box::new(u),
                        rhs: Box::new(v),
                        then: Box::new(du),
                        otherwise: Box::new(dv),
                    }
                }
                Func::Pow => d_pow(&u, du, &args[1], x),
            }
        }
        Node::If {
            cmp,
            lhs,
            rhs,
            then,
            otherwise,
        } => Node::If {
            cmp: *cmp,
            lhs: lhs.clone(),
            rhs: rhs.clone(),
            then: Box::new(d(then, x)),
            otherwise: Box::new(d(otherwise, x)),
        },
    }
}

/// `du * v` (in that order), with `v` cloned only when `du` is not zero.
fn times(du: Node, v: &Node) -> Node {
    if du.as_num() == Some(0.0) {
        return Node::Num(0.0);
    }
    mul(du, v.clone())
}

/// `v * du` (in that order), with `v` cloned only when `du` is not zero.
fn by(v: &Node, du: Node) -> Node {
    if du.as_num() == Some(0.0) {
        return Node::Num(0.0);
    }
    mul(v.clone(), du)
}

/// `d(a^b)` given `da`: the power rule for a constant exponent, else `a^b (b' ln a + b a'/a)`.
fn d_pow(a: &Node, da: Node, b: &Node, x: Sym) -> Node {
    if !b.depends_on(x) {
        let exponent = simplify(b);
        let lowered = sub(exponent.clone(), Node::Num(1.0));
        return mul(mul(exponent, pow(a.clone(), lowered)), da);
    }
    let whole = pow(a.clone(), b.clone());
    let inner = add(
        mul(d(b, x), call(Func::Log, vec![a.clone()])),
        div(mul(b.clone(), da), a.clone()),
    );
    mul(whole, inner)
}
