//! Constant folding and the algebraic identities that keep derivatives readable: `0 * x = 0`,
//! `1 * x = x`, `x + 0 = x`, `x ^ 1 = x`, ... Folding follows f64 arithmetic.

use super::ast::{BinOp, Func, Node};

/// `a + b`, simplified.
pub fn add(a: Node, b: Node) -> Node {
    match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) => Node::Num(x + y),
        (Some(0.0), _) => b,
        (_, Some(0.0)) => a,
        _ => Node::Bin(BinOp::Add, Box::new(a), Box::new(b)),
    }
}

/// `a - b`, simplified.
pub fn sub(a: Node, b: Node) -> Node {
    match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) => Node::Num(x - y),
        (Some(0.0), _) => neg(b),
        (_, Some(0.0)) => a,
        _ => Node::Bin(BinOp::Sub, Box::new(a), Box::new(b)),
    }
}

/// `a * b`, simplified.
pub fn mul(a: Node, b: Node) -> Node {
    match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) => Node::Num(x * y),
        (Some(0.0), _) | (_, Some(0.0)) => Node::Num(0.0),
        (Some(1.0), _) => b,
        (_, Some(1.0)) => a,
        (Some(-1.0), _) => neg(b),
        (_, Some(-1.0)) => neg(a),
        _ => Node::Bin(BinOp::Mul, Box::new(a), Box::new(b)),
    }
}

/// `a / b`, simplified (a constant zero divisor is left alone: the parser refuses it).
pub fn div(a: Node, b: Node) -> Node {
    match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) if y != 0.0 => Node::Num(x / y),
        (Some(0.0), _) => Node::Num(0.0),
        (_, Some(1.0)) => a,
        _ => Node::Bin(BinOp::Div, Box::new(a), Box::new(b)),
    }
}

/// `a ^ b`, simplified.
pub fn pow(a: Node, b: Node) -> Node {
    match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) if x > 0.0 || y.fract() == 0.0 => Node::Num(x.powf(y)),
        (_, Some(0.0)) => Node::Num(1.0),
        (_, Some(1.0)) => a,
        _ => Node::Bin(BinOp::Pow, Box::new(a), Box::new(b)),
    }
}

/// `-a`, simplified.
pub fn neg(mut a: Node) -> Node {
    match &mut a {
        Node::Num(x) => Node::Num(-*x),
        Node::Neg(inner) => std::mem::replace(&mut **inner, Node::Num(0.0)),
        _ => Node::Neg(Box::new(a)),
    }
}

/// `a op b`, simplified.
pub fn bin(op: BinOp, a: Node, b: Node) -> Node {
    match op {
        BinOp::Add => add(a, b),
        BinOp::Sub => sub(a, b),
        BinOp::Mul => mul(a, b),
        BinOp::Div => div(a, b),
        BinOp::Pow => pow(a, b),
    }
}

/// `f(args)`, folded when every argument is constant.
pub fn call(f: Func, args: Vec<Node>) -> Node {
    let consts: Option<Vec<f64>> = args.iter().map(Node::as_num).collect();
    if let Some(v) = consts {
        if f == Func::Pow {
            return pow(Node::Num(v[0]), Node::Num(v[1]));
        }
        let value = f.apply_f64(&v);
        if value.is_finite() {
            return Node::Num(value);
        }
    }
    Node::Call(f, args)
}

/// The whole tree simplified bottom-up.
pub fn simplify(node: &Node) -> Node {
    match node {
        Node::Num(_) | Node::Sym(_) => node.clone(),
        Node::Neg(a) => neg(simplify(a)),
        Node::Bin(..) => {
            // A chain in a loop, from its bottom up (a sum may be 10^5 terms long).
            let (bottom, links) = node.chain();
            let mut acc = simplify(bottom);
            for (op, b) in links {
                acc = bin(op, acc, simplify(b));
            }
            acc
        }
        Node::Call(f, args) => call(*f, args.iter().map(simplify).collect()),
        Node::If {
            cmp,
            lhs,
            rhs,
            then,
            otherwise,
        } => {
            let (lhs, rhs) = (simplify(lhs), simplify(rhs));
            if let (Some(l), Some(r)) = (lhs.as_num(), rhs.as_num()) {
                let holds = cmp.holds(l, r);
                return simplify(if holds { then } else { otherwise });
            }
            Node::If {
                cmp: *cmp,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                then: Box::new(simplify(then)),
                otherwise: Box::new(simplify(otherwise)),
            }
        }
    }
}
