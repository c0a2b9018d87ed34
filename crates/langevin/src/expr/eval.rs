//! The CPU evaluator: an expression compiled once to a small stack program over f32 (or f64,
//! for the f64 kernels), in the same order of operations as the generated WGSL.

use super::ast::{BinOp, CmpOp, Func, Node, Sym};
use super::wgsl::{fold_constants, integer_power};

/// An operand read straight from the inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Leaf {
    /// A constant as the f32 WGSL writes it, and as the f64 WGSL does.
    Num(f32, f64),
    State(usize),
    Param(usize),
    Time,
}

/// A two-operand operation.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Min,
    Max,
}

/// An instruction of the accumulator machine: the top of the stack lives in a register
/// (`acc`), a load pushes it, and an operation whose right operand is a leaf reads that leaf
/// directly instead of through the stack.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    /// Push `acc`, then `acc = leaf`.
    Load(Leaf),
    Neg,
    PowI(i32),
    Call1(Func),
    /// `acc = pop() op acc`.
    Binary(Binary),
    /// `acc = acc op leaf`.
    BinaryLeaf(Binary, Leaf),
    /// Pops `then`, `rhs`, `lhs` (`acc` is `otherwise`).
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
        Node::Bin(..) => {
            let (bottom, links) = node.chain();
            let mut a = e(bottom);
            for (op, b) in links {
                let b = e(b);
                a = match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div => a / b,
                    BinOp::Pow => a.powf(b),
                };
            }
            a
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

/// A number a [`Program`] computes in: f32, or f64 for the f64 kernels.
pub trait Value: crate::real::Real {
    /// A constant: its f32 rounding, or its f64 value.
    fn literal(narrow: f32, wide: f64) -> Self;
}

impl Value for f32 {
    fn literal(narrow: f32, _: f64) -> f32 {
        narrow
    }
}

impl Value for f64 {
    fn literal(_: f32, wide: f64) -> f64 {
        wide
    }
}

/// A compiled expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    ops: Vec<Op>,
    /// The most values on the stack at once.
    depth: usize,
}

/// Values the evaluator's fixed stack holds; deeper expressions are refused at compile time.
pub const MAX_STACK: usize = 64;

/// The stack of shallow programs (nearly all of them): small enough that clearing it costs
/// nothing next to the expression.
const SHALLOW_STACK: usize = 8;

impl Program {
    /// Compiles `node`; `None` when it needs more than [`MAX_STACK`] stack slots.
    pub fn compile(node: &Node) -> Option<Program> {
        let mut ops = Vec::new();
        emit(&fold_constants(node), &mut ops);
        let mut depth = 0i64;
        let mut max = 0i64;
        for op in &ops {
            depth += match op {
                Op::Load(_) => 1,
                Op::Neg | Op::PowI(_) | Op::Call1(_) | Op::BinaryLeaf(..) => 0,
                Op::Binary(_) => -1,
                Op::Select(_) => -3,
            };
            max = max.max(depth);
        }
        (max as usize <= MAX_STACK).then_some(Program {
            ops,
            depth: max as usize,
        })
    }

    /// The value at time `t`, state `x`, parameters `p`.
    #[inline]
    pub fn eval(&self, t: f32, x: &[f32], p: &[f32]) -> f32 {
        self.eval_in(t, x, p)
    }

    /// [`Program::eval`] in `V`: f64 mirrors the WGSL over `real` ([`super::to_wgsl_real`])
    /// as f32 mirrors [`super::to_wgsl`], its functions Rust's where the device has the `r_*`
    /// of `real_f64` (which agree with them to a few ulp).
    #[inline]
    pub fn eval_in<V: Value>(&self, t: V, x: &[V], p: &[V]) -> V {
        if self.depth <= SHALLOW_STACK {
            self.run::<V, SHALLOW_STACK>(t, x, p)
        } else {
            self.run::<V, MAX_STACK>(t, x, p)
        }
    }

    fn run<V: Value, const N: usize>(&self, t: V, x: &[V], p: &[V]) -> V {
        let leaf = |l: Leaf| match l {
            Leaf::Num(narrow, wide) => V::literal(narrow, wide),
            Leaf::State(i) => x[i],
            Leaf::Param(k) => p[k],
            Leaf::Time => t,
        };
        // Slot 0 receives the undefined accumulator of the first load.
        let mut stack = [V::zero(); N];
        let mut n = 0usize;
        let mut acc = V::zero();
        for op in &self.ops {
            match *op {
                Op::Load(l) => {
                    stack[n] = acc;
                    n += 1;
                    acc = leaf(l);
                }
                Op::Neg => acc = -acc,
                Op::PowI(e) => {
                    let a = acc;
                    let mut m = a;
                    for _ in 1..e.unsigned_abs() {
                        m = m * a;
                    }
                    acc = if e < 0 { V::one() / m } else { m };
                }
                Op::Call1(f) => acc = call1(f, acc),
                Op::Binary(b) => {
                    n -= 1;
                    acc = binary(b, stack[n], acc);
                }
                Op::BinaryLeaf(b, l) => acc = binary(b, acc, leaf(l)),
                Op::Select(cmp) => {
                    let (lhs, rhs, then) = (stack[n - 3], stack[n - 2], stack[n - 1]);
                    n -= 3;
                    if cmp.holds(lhs, rhs) {
                        acc = then;
                    }
                }
            }
        }
        acc
    }
}

/// Trajectories a lane program evaluates at once.
pub const LANES: usize = 8;

/// One value per lane.
pub type Lanes = [f32; LANES];

impl Program {
    /// The value for [`LANES`] trajectories at once: component `i` of lane `l` is `x[i][l]`,
    /// its parameters `p[l]`. Each lane gets the f32 operations of [`Program::eval`] in the
    /// same order, so the same bits; the interpretation is paid once per eight and the
    /// arithmetic runs over arrays the compiler vectorises.
    pub fn eval_lanes(&self, t: f32, x: &[Lanes], p: &[&[f32]; LANES]) -> Lanes {
        if self.depth <= SHALLOW_STACK {
            self.run_lanes::<SHALLOW_STACK>(t, x, p)
        } else {
            self.run_lanes::<MAX_STACK>(t, x, p)
        }
    }

    fn run_lanes<const N: usize>(&self, t: f32, x: &[Lanes], p: &[&[f32]; LANES]) -> Lanes {
        #[inline(always)]
        fn leaf(l: Leaf, t: f32, x: &[Lanes], p: &[&[f32]; LANES]) -> Lanes {
            match l {
                Leaf::Num(v, _) => [v; LANES],
                Leaf::State(i) => x[i],
                Leaf::Param(k) => std::array::from_fn(|lane| p[lane][k]),
                Leaf::Time => [t; LANES],
            }
        }
        let mut stack = [[0.0f32; LANES]; N];
        let mut n = 0usize;
        let mut acc = [0.0f32; LANES];
        for op in &self.ops {
            match *op {
                Op::Load(l) => {
                    stack[n] = acc;
                    n += 1;
                    acc = leaf(l, t, x, p);
                }
                Op::Neg => acc.iter_mut().for_each(|a| *a = -*a),
                Op::PowI(e) => {
                    for a in &mut acc {
                        let v = *a;
                        let mut m = v;
                        for _ in 1..e.unsigned_abs() {
                            m *= v;
                        }
                        *a = if e < 0 { 1.0 / m } else { m };
                    }
                }
                Op::Call1(f) => acc.iter_mut().for_each(|a| *a = call1(f, *a)),
                Op::Binary(b) => {
                    n -= 1;
                    acc = binary_lanes(b, &stack[n], &acc);
                }
                Op::BinaryLeaf(b, l) => acc = binary_lanes(b, &acc, &leaf(l, t, x, p)),
                Op::Select(cmp) => {
                    let (lhs, rhs, then) = (stack[n - 3], stack[n - 2], stack[n - 1]);
                    n -= 3;
                    for lane in 0..LANES {
                        if cmp.holds(lhs[lane], rhs[lane]) {
                            acc[lane] = then[lane];
                        }
                    }
                }
            }
        }
        acc
    }
}

/// [`binary`] lane by lane, with the operation chosen once.
#[inline(always)]
fn binary_lanes(b: Binary, a: &Lanes, c: &Lanes) -> Lanes {
    let mut r = [0.0f32; LANES];
    match b {
        Binary::Add => (0..LANES).for_each(|l| r[l] = a[l] + c[l]),
        Binary::Sub => (0..LANES).for_each(|l| r[l] = a[l] - c[l]),
        Binary::Mul => (0..LANES).for_each(|l| r[l] = a[l] * c[l]),
        Binary::Div => (0..LANES).for_each(|l| r[l] = a[l] / c[l]),
        _ => (0..LANES).for_each(|l| r[l] = binary(b, a[l], c[l])),
    }
    r
}

#[inline]
fn binary<V: Value>(b: Binary, a: V, c: V) -> V {
    match b {
        Binary::Add => a + c,
        Binary::Sub => a - c,
        Binary::Mul => a * c,
        Binary::Div => a / c,
        Binary::Min => a.min(c),
        Binary::Max => a.max(c),
        // WGSL's pow is exp2(b * log2(a)): NaN for a negative base, even when b happens to
        // be an integer at run time. Constant integer exponents are products (Op::PowI) and
        // take any base.
        Binary::Pow if a < V::zero() => V::nan(),
        Binary::Pow => a.powf(c),
    }
}

fn call1<V: Value>(f: Func, a: V) -> V {
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
            if a > V::zero() {
                V::one()
            } else if a < V::zero() {
                -V::one()
            } else {
                V::zero()
            }
        }
        Func::Min | Func::Max | Func::Pow => unreachable!("two-argument functions"),
    }
}

/// The node as a leaf operand, if it is one (constants are folded before: [`fold_constants`]).
fn as_leaf(node: &Node) -> Option<Leaf> {
    match node {
        Node::Num(v) => Some(Leaf::Num(*v as f32, *v)),
        Node::Sym(Sym::State(i)) => Some(Leaf::State(*i)),
        Node::Sym(Sym::Param(k)) => Some(Leaf::Param(*k)),
        Node::Sym(Sym::Time) => Some(Leaf::Time),
        _ => None,
    }
}

/// `acc op b`, `acc` already computed: `b` read directly when it is a leaf.
fn emit_operand(op: Binary, b: &Node, ops: &mut Vec<Op>) {
    match as_leaf(b) {
        Some(l) => ops.push(Op::BinaryLeaf(op, l)),
        None => {
            emit(b, ops);
            ops.push(Op::Binary(op));
        }
    }
}

/// `a op b` in evaluation order: `a`, then `b` (read directly when it is a leaf).
fn emit_binary(op: Binary, a: &Node, b: &Node, ops: &mut Vec<Op>) {
    emit(a, ops);
    emit_operand(op, b, ops);
}

fn emit(node: &Node, ops: &mut Vec<Op>) {
    if let Some(l) = as_leaf(node) {
        ops.push(Op::Load(l));
        return;
    }
    match node {
        Node::Num(_) | Node::Sym(_) => unreachable!("leaves are loaded above"),
        Node::Neg(a) => {
            emit(a, ops);
            ops.push(Op::Neg);
        }
        Node::Bin(..) => {
            // A chain in a loop, from its bottom up: a long sum keeps one value on the stack.
            let (bottom, links) = node.chain();
            emit(bottom, ops);
            for (op, b) in links {
                if op == BinOp::Pow {
                    if let Some(n) = integer_power(b) {
                        ops.push(Op::PowI(n));
                        continue;
                    }
                }
                let op = match op {
                    BinOp::Add => Binary::Add,
                    BinOp::Sub => Binary::Sub,
                    BinOp::Mul => Binary::Mul,
                    BinOp::Div => Binary::Div,
                    BinOp::Pow => Binary::Pow,
                };
                emit_operand(op, b, ops);
            }
        }
        Node::Call(Func::Pow, args) => {
            // pow(a, b) is a ^ b, integer exponents included.
            let node = Node::Bin(
                BinOp::Pow,
                Box::new(args[0].clone()),
                Box::new(args[1].clone()),
            );
            emit(&node, ops);
        }
        Node::Call(Func::Min, args) => emit_binary(Binary::Min, &args[0], &args[1], ops),
        Node::Call(Func::Max, args) => emit_binary(Binary::Max, &args[0], &args[1], ops),
        Node::Call(f, args) => {
            emit(&args[0], ops);
            ops.push(Op::Call1(*f));
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
