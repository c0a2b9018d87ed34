//! The CPU evaluator: an expression compiled once to a small stack program over f32, in the
//! same order of operations as the generated WGSL.

use super::ast::{BinOp, CmpOp, Func, Node, Sym};
use super::wgsl::{folded_constant, integer_power};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Num(f32),
    State(usize),
    Param(usize),
    Time,
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    PowI(i32),
    Pow,
    Call(Func),
    Select(CmpOp),
}

/// The value of `node` in f64, straight from the tree: the reference the f32 evaluator and the
/// generated WGSL are tested against.
pub fn eval_f64(node: &Node, t: f64, x: &[f64], p: &[f64]) -> f64 {
    let e = |n: &Node| eval_f64(n, t, x, p);
    match node {
        Node::Num(v) => *v,
        Node::Sym(Sym::State(i)) => x[*i],
        Node::Sym(Sym::Param(k)) => p[*k],
        Node::Sym(Sym::Time) => t,
        Node::Neg(a) => -e(a),
        Node::Bin(op, a, b) => {
            let (a, b) = (e(a), e(b));
            match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                BinOp::Pow => a.powf(b),
            }
        }
        Node::Call(f, args) => f.apply_f64(&args.iter().map(e).collect::<Vec<_>>()),
        Node::If {
            cmp,
            lhs,
            rhs,
            then,
            otherwise,
        } => {
            let (l, r) = (e(lhs), e(rhs));
            let holds = cmp.holds(l, r);
            if holds {
                e(then)
            } else {
                e(otherwise)
            }
        }
    }
}

/// A compiled expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    ops: Vec<Op>,
}

/// Values the evaluator's fixed stack holds; deeper expressions are refused at compile time.
pub const MAX_STACK: usize = 64;

impl Program {
    /// Compiles `node`; `None` when it needs more than [`MAX_STACK`] stack slots.
    pub fn compile(node: &Node) -> Option<Program> {
        let mut ops = Vec::new();
        emit(node, &mut ops);
        let mut depth = 0i64;
        let mut max = 0i64;
        for op in &ops {
            depth += match op {
                Op::Num(_) | Op::State(_) | Op::Param(_) | Op::Time => 1,
                Op::Neg | Op::PowI(_) => 0,
                Op::Call(f) => 1 - f.arity() as i64,
                Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Pow => -1,
                Op::Select(_) => -3,
            };
            max = max.max(depth);
        }
        (max as usize <= MAX_STACK).then_some(Program { ops })
    }

    /// The value at time `t`, state `x`, parameters `p`.
    #[inline]
    pub fn eval(&self, t: f32, x: &[f32], p: &[f32]) -> f32 {
        let mut stack = [0.0f32; MAX_STACK];
        let mut n = 0usize;
        for op in &self.ops {
            match *op {
                Op::Num(v) => {
                    stack[n] = v;
                    n += 1;
                }
                Op::State(i) => {
                    stack[n] = x[i];
                    n += 1;
                }
                Op::Param(k) => {
                    stack[n] = p[k];
                    n += 1;
                }
                Op::Time => {
                    stack[n] = t;
                    n += 1;
                }
                Op::Neg => stack[n - 1] = -stack[n - 1],
                Op::PowI(e) => {
                    let a = stack[n - 1];
                    let mut m = a;
                    for _ in 1..e.unsigned_abs() {
                        m *= a;
                    }
                    stack[n - 1] = if e < 0 { 1.0 / m } else { m };
                }
                Op::Call(f) if f.arity() == 1 => stack[n - 1] = call1(f, stack[n - 1]),
                Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Pow | Op::Call(_) => {
                    let (a, b) = (stack[n - 2], stack[n - 1]);
                    n -= 1;
                    stack[n - 1] = match *op {
                        Op::Add => a + b,
                        Op::Sub => a - b,
                        Op::Mul => a * b,
                        Op::Div => a / b,
                        Op::Call(Func::Min) => a.min(b),
                        Op::Call(Func::Max) => a.max(b),
                        // WGSL's pow is exp2(b * log2(a)): NaN for a negative base, even when b
                        // happens to be an integer at run time. Constant integer exponents are
                        // products (Op::PowI) and take any base.
                        _ if a < 0.0 => f32::NAN,
                        _ => a.powf(b),
                    };
                }
                Op::Select(cmp) => {
                    let (lhs, rhs, then, otherwise) =
                        (stack[n - 4], stack[n - 3], stack[n - 2], stack[n - 1]);
                    n -= 3;
                    let holds = cmp.holds(lhs, rhs);
                    stack[n - 1] = if holds { then } else { otherwise };
                }
            }
        }
        stack[0]
    }
}

fn call1(f: Func, a: f32) -> f32 {
    match f {
        Func::Exp => a.exp(),
        Func::Log => a.ln(),
        Func::Sqrt => a.sqrt(),
        Func::Sin => a.sin(),
        Func::Cos => a.cos(),
        Func::Tan => a.tan(),
        Func::Tanh => a.tanh(),
        Func::Sinh => a.sinh(),
        Func::Cosh => a.cosh(),
        Func::Atan => a.atan(),
        Func::Abs => a.abs(),
        // WGSL's sign: -1, 0 or 1.
        Func::Sign => {
            if a > 0.0 {
                1.0
            } else if a < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        Func::Min | Func::Max | Func::Pow => unreachable!("two-argument functions"),
    }
}

fn emit(node: &Node, ops: &mut Vec<Op>) {
    if let Some(v) = folded_constant(node) {
        ops.push(Op::Num(v as f32));
        return;
    }
    match node {
        Node::Call(Func::Pow, args) => {
            emit(
                &Node::Bin(
                    BinOp::Pow,
                    Box::new(args[0].clone()),
                    Box::new(args[1].clone()),
                ),
                ops,
            );
        }
        Node::Num(v) => ops.push(Op::Num(*v as f32)),
        Node::Sym(Sym::State(i)) => ops.push(Op::State(*i)),
        Node::Sym(Sym::Param(k)) => ops.push(Op::Param(*k)),
        Node::Sym(Sym::Time) => ops.push(Op::Time),
        Node::Neg(a) => {
            emit(a, ops);
            ops.push(Op::Neg);
        }
        Node::Bin(op, a, b) => {
            emit(a, ops);
            if *op == BinOp::Pow {
                if let Some(n) = integer_power(b) {
                    ops.push(Op::PowI(n));
                    return;
                }
            }
            emit(b, ops);
            ops.push(match op {
                BinOp::Add => Op::Add,
                BinOp::Sub => Op::Sub,
                BinOp::Mul => Op::Mul,
                BinOp::Div => Op::Div,
                BinOp::Pow => Op::Pow,
            });
        }
        Node::Call(f, args) => {
            for a in args {
                emit(a, ops);
            }
            ops.push(if *f == Func::Pow {
                Op::Pow
            } else {
                Op::Call(*f)
            });
        }
        Node::If {
            cmp,
            lhs,
            rhs,
            then,
            otherwise,
        } => {
            for n in [lhs, rhs, then, otherwise] {
                emit(n, ops);
            }
            ops.push(Op::Select(*cmp));
        }
    }
}
