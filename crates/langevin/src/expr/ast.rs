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
#[derive(Clone, Debug, PartialEq)]
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
        match self {
            Node::Num(_) => true,
            Node::Sym(_) => false,
            Node::Neg(a) => a.is_constant(),
            Node::Bin(_, a, b) => a.is_constant() && b.is_constant(),
            Node::Call(_, args) => args.iter().all(Node::is_constant),
            Node::If {
                lhs,
                rhs,
                then,
                otherwise,
                ..
            } => [lhs, rhs, then, otherwise].iter().all(|n| n.is_constant()),
        }
    }

    /// Whether the expression mentions `sym`.
    pub fn depends_on(&self, sym: Sym) -> bool {
        match self {
            Node::Num(_) => false,
            Node::Sym(s) => *s == sym,
            Node::Neg(a) => a.depends_on(sym),
            Node::Bin(_, a, b) => a.depends_on(sym) || b.depends_on(sym),
            Node::Call(_, args) => args.iter().any(|a| a.depends_on(sym)),
            Node::If {
                lhs,
                rhs,
                then,
                otherwise,
                ..
            } => [lhs, rhs, then, otherwise]
                .iter()
                .any(|n| n.depends_on(sym)),
        }
    }
}
