//! The expression tree shared by the code generator, the CPU evaluator and differentiation.

/// A name the expression can refer to, resolved at parse time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sym {
    /// State component `i`.
    State(usize),
    /// Parameter `k`.
    Param(usize),
    /// The time `t`.
    Time,
}

/// Binary arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^` (right-associative)
    Pow,
}

/// Comparisons, allowed as the first argument of `if`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// Whether `lhs cmp rhs` holds (false when either side is NaN, as in WGSL).
    pub fn holds<T: PartialOrd>(self, lhs: T, rhs: T) -> bool {
        match self {
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
        }
    }

    /// The operator as written (and as WGSL spells it).
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// Built-in functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// `exp(x)`
    Exp,
    /// `log(x)`, natural
    Log,
    /// `sqrt(x)`
    Sqrt,
    /// `sin(x)`
    Sin,
    /// `cos(x)`
    Cos,
    /// `tan(x)`
    Tan,
    /// `tanh(x)`
    Tanh,
    /// `sinh(x)`
    Sinh,
    /// `cosh(x)`
    Cosh,
    /// `atan(x)`
    Atan,
    /// `abs(x)`
    Abs,
    /// `sign(x)`
    Sign,
    /// `min(a, b)`
    Min,
    /// `max(a, b)`
    Max,
    /// `pow(a, b)`, the same as `a ^ b`
    Pow,
}

impl Func {
    /// Every function with its name, for parsing and suggestions.
    pub const ALL: [(Func, &'static str); 15] = [
        (Func::Exp, "exp"),
        (Func::Log, "log"),
        (Func::Sqrt, "sqrt"),
        (Func::Sin, "sin"),
        (Func::Cos, "cos"),
        (Func::Tan, "tan"),
        (Func::Tanh, "tanh"),
        (Func::Sinh, "sinh"),
        (Func::Cosh, "cosh"),
        (Func::Atan, "atan"),
        (Func::Abs, "abs"),
        (Func::Sign, "sign"),
        (Func::Min, "min"),
        (Func::Max, "max"),
        (Func::Pow, "pow"),
    ];

    /// The name as written (and as WGSL spells it).
    pub fn name(self) -> &'static str {
        Func::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }

    /// The function in f64: what constant folding computes, and the tests' reference.
    pub fn apply_f64(self, args: &[f64]) -> f64 {
        let a = args[0];
        match self {
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
            Func::Min => a.min(args[1]),
            Func::Max => a.max(args[1]),
            Func::Pow => a.powf(args[1]),
        }
    }

    /// Number of arguments.
    pub fn arity(self) -> usize {
        match self {
            Func::Min | Func::Max | Func::Pow => 2,
            _ => 1,
        }
    }
}

/// An expression.
///
/// A sum of many terms is a chain as deep as it is long (`((a + b) + c) + ...`, the order the
/// kernels add in), so every pass over a tree walks chains in loops rather than by recursion,
/// and so do `Clone`, `PartialEq` and `Drop`: a sum of 10^5 terms would overflow the stack.
#[derive(Debug)]
pub enum Node {
    /// A constant.
    Num(f64),
    /// A state component, parameter or the time.
    Sym(Sym),
    /// Unary minus.
    Neg(Box<Node>),
    /// Binary arithmetic.
    Bin(BinOp, Box<Node>, Box<Node>),
    /// A function call.
    Call(Func, Vec<Node>),
    /// `if(lhs cmp rhs, then, otherwise)`.
    If {
        /// The comparison.
        cmp: CmpOp,
        /// Left side of the comparison.
        lhs: Box<Node>,
        /// Right side of the comparison.
        rhs: Box<Node>,
        /// Value when the comparison holds.
        then: Box<Node>,
        /// Value otherwise.
        otherwise: Box<Node>,
    },
}

impl Node {
    /// The constant value, if the node is a number.
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Node::Num(v) => Some(*v),
            _ => None,
        }
    }

    /// Whether the expression mentions no state, parameter or time.
    pub fn is_constant(&self) -> bool {
        !self.any_sym(|_| true)
    }

    /// Whether the expression mentions `sym`.
    pub fn depends_on(&self, sym: Sym) -> bool {
        self.any_sym(|s| s == sym)
    }

    /// Whether some symbol of the expression satisfies `pred` (a walk with a stack of its
    /// own, whatever the depth).
    pub fn any_sym(&self, pred: impl Fn(Sym) -> bool) -> bool {
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            match node {
                Node::Num(_) => {}
                Node::Sym(s) => {
                    if pred(*s) {
                        return true;
                    }
                }
                Node::Neg(a) => stack.push(a),
                Node::Bin(_, a, b) => stack.extend([&**a, &**b]),
                Node::Call(_, args) => stack.extend(args),
                Node::If {
                    lhs,
                    rhs,
                    then,
                    otherwise,
                    ..
                } => stack.extend([&**lhs, &**rhs, &**then, &**otherwise]),
            }
        }
        false
    }

    /// The node as a chain of binary operations `((bottom op1 r1) op2 r2) ...`: its bottom (the
    /// first operand that is not itself a binary operation) and the links `(op, r)` from the
    /// bottom up. A node that is no binary operation is its own bottom, with no links.
    pub fn chain(&self) -> (&Node, Vec<(BinOp, &Node)>) {
        let mut links = Vec::new();
        let mut node = self;
        while let Node::Bin(op, a, b) = node {
            links.push((*op, &**b));
            node = a;
        }
        links.reverse();
        (node, links)
    }

    /// Moves the children out into `out`, leaving constants in their places.
    fn take_children(&mut self, out: &mut Vec<Node>) {
        let mut take = |n: &mut Box<Node>| out.push(std::mem::replace(&mut **n, Node::Num(0.0)));
        match self {
            Node::Num(_) | Node::Sym(_) => {}
            Node::Neg(a) => take(a),
            Node::Bin(_, a, b) => {
                take(a);
                take(b);
            }
            Node::Call(_, args) => out.append(args),
            Node::If {
                lhs,
                rhs,
                then,
                otherwise,
                ..
            } => {
                take(lhs);
                take(rhs);
                take(then);
                take(otherwise);
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if matches!(self, Node::Num(_) | Node::Sym(_)) {
            return;
        }
        let mut pending = Vec::new();
        self.take_children(&mut pending);
        while let Some(mut node) = pending.pop() {
            node.take_children(&mut pending);
        }
    }
}

impl Clone for Node {
    fn clone(&self) -> Node {
        match self {
            Node::Num(v) => Node::Num(*v),
            Node::Sym(s) => Node::Sym(*s),
            Node::Neg(a) => Node::Neg(a.clone()),
            Node::Bin(..) => {
                let (bottom, links) = self.chain();
                let mut node = bottom.clone();
                for (op, r) in links {
                    node = Node::Bin(op, Box::new(node), Box::new(r.clone()));
                }
                node
            }
            Node::Call(f, args) => Node::Call(*f, args.clone()),
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
                then: then.clone(),
                otherwise: otherwise.clone(),
            },
        }
    }
}

impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        let mut stack = vec![(self, other)];
        while let Some(pair) = stack.pop() {
            match pair {
                (Node::Num(a), Node::Num(b)) if a == b => {}
                (Node::Sym(a), Node::Sym(b)) if a == b => {}
                (Node::Neg(a), Node::Neg(b)) => stack.push((a, b)),
                (Node::Bin(o, a, b), Node::Bin(p, c, d)) if o == p => {
                    stack.extend([(&**a, &**c), (&**b, &**d)]);
                }
                (Node::Call(f, a), Node::Call(g, b)) if f == g && a.len() == b.len() => {
                    stack.extend(a.iter().zip(b));
                }
                (
                    Node::If {
                        cmp,
                        lhs,
                        rhs,
                        then,
                        otherwise,
                    },
                    Node::If {
                        cmp: cmp2,
                        lhs: lhs2,
                        rhs: rhs2,
                        then: then2,
                        otherwise: otherwise2,
                    },
                ) if cmp == cmp2 => stack.extend([
                    (&**lhs, &**lhs2),
                    (&**rhs, &**rhs2),
                    (&**then, &**then2),
                    (&**otherwise, &**otherwise2),
                ]),
                _ => return false,
            }
        }
        true
    }
}
