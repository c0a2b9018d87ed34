//! The potential `V(phi)` of a field: an expression in `phi` and named parameters, with `V'`
//! and `V''` by symbolic differentiation. `V'` is compiled into the kernels (virtual module
//! `potential`, `fn dv(phi: real) -> real`) and into the twin's evaluator (f32 as the kernel
//! computes it, or f64); `V` and `V''` are evaluated in f64 on the host (energies, the
//! stability bound, model A's linear part).

use crate::error::{Error, Result};
use crate::expr::{self, Node, Program, Scope, Sym};
use crate::real::{Precision, Real};

/// A parsed potential.
#[derive(Clone, Debug)]
pub struct Potential {
    /// The text of V.
    pub text: String,
    /// Parameter names and values.
    pub params: Vec<(String, f64)>,
    v: Node,
    dv: Node,
    d2v: Node,
    dv_program: Program,
}

impl Potential {
    /// Parses `text` in `phi` and `params`.
    ///
    /// # Errors
    /// [`Error::Expression`] naming `model.potential`; [`Error::Limit`] for an expression
    /// too deep to evaluate.
    pub fn new(text: &str, params: &[(&str, f64)]) -> Result<Potential> {
        let names: Vec<&str> = params.iter().map(|(n, _)| *n).collect();
        let scope = Scope::new(&["phi"], &names);
        let v = expr::parse(text, &scope).map_err(|e| Error::Expression {
            field: "model.potential".into(),
            rendered: e.render("model.potential", text),
        })?;
        if v.depends_on(Sym::Time) {
            return Err(Error::invalid(
                "model.potential",
                text,
                "a potential does not depend on time t",
            ));
        }
        let dv = expr::diff(&v, Sym::State(0));
        let d2v = expr::diff(&dv, Sym::State(0));
        let dv_program = Program::compile(&dv)
            .ok_or_else(|| Error::Limit("model.potential: V' nests too deeply".into()))?;
        Ok(Potential {
            text: text.to_string(),
            params: params.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
            v,
            dv,
            d2v,
            dv_program,
        })
    }

    fn values(&self) -> Vec<f64> {
        self.params.iter().map(|(_, v)| *v).collect()
    }

    /// V(phi) in f64.
    pub fn value(&self, phi: f64) -> f64 {
        expr::eval_f64(&self.v, 0.0, &[phi], &self.values())
    }

    /// V'(phi) in f64.
    pub fn derivative(&self, phi: f64) -> f64 {
        expr::eval_f64(&self.dv, 0.0, &[phi], &self.values())
    }

    /// V''(phi) in f64.
    pub fn second_derivative(&self, phi: f64) -> f64 {
        expr::eval_f64(&self.d2v, 0.0, &[phi], &self.values())
    }

    /// Twin of the generated `dv`: V'(phi) in f32 as the kernel computes it.
    pub fn dv_f32(&self, phi: f32, params: &[f32]) -> f32 {
        self.dv_program.eval(0.0, &[phi], params)
    }

    /// Twin of the generated `dv` in `R`: f32 as [`Potential::dv_f32`] (`params` are
    /// [`Potential::params_f32`]), f64 as [`Potential::derivative`].
    pub fn dv_as<R: Real>(&self, phi: R, params: &[f32]) -> R {
        match R::PRECISION {
            Precision::F32 => R::real(f64::from(self.dv_f32(phi.wide() as f32, params))),
            Precision::F64 => R::real(self.derivative(phi.wide())),
        }
    }

    /// The parameters as the kernel holds them.
    pub fn params_f32(&self) -> Vec<f32> {
        self.params.iter().map(|(_, v)| *v as f32).collect()
    }

    /// The virtual module `potential` for kernels of `precision` (over `real`).
    pub fn wgsl(&self, precision: Precision) -> String {
        let (values, body): (Vec<String>, expr::Bound) = match precision {
            Precision::F32 => (
                self.params_f32()
                    .iter()
                    .map(|v| expr::wgsl::literal(f64::from(*v)))
                    .collect(),
                expr::to_wgsl_bound(&self.dv, "v_", "    "),
            ),
            Precision::F64 => (
                self.values().iter().map(|v| format!("{v:?}")).collect(),
                expr::to_wgsl_real_bound(&self.dv, "v_", "    "),
            ),
        };
        let values: Vec<String> = values
            .into_iter()
            .chain(std::iter::once("0.0".to_string()))
            .collect();
        format!(
            "// V = {}; V' by symbolic differentiation.\nfn dv(phi: real) -> real {{\n    \
             var x: array<real, 1>;\n    x[0] = phi;\n    \
             var params = array<real, {}>({});\n{}    return {};\n}}\n",
            crate::shader::comment_text(&self.text),
            values.len(),
            values.join(", "),
            body.lets,
            body.value
        )
    }
}
