//! Every kernel composes and validates with naga for every built-in model and scheme, and the
//! host structs have the layout the WGSL structs have.

use langevin::adaptive::AdaptiveSegment;
use langevin::cpu::philox_stream::NormalFill;
use langevin::fft::FftPass;
use langevin::field::FieldParams;
use langevin::gpu::sde_ensemble::compose;
use langevin::interacting::vicsek::VicsekParams;
use langevin::plan::Segment;
use langevin::reactions::{ReactionNetwork, ReactionSpec};
use langevin::real::Precision;
use langevin::stats::PartialMoments;
use langevin::{
    shader, CoxIngersollRoss, DoubleWell, ExprModel, GeometricBrownianMotion, Model,
    OrnsteinUhlenbeck, Scheme,
};

fn models() -> Vec<Box<dyn Model>> {
    let mut m: Vec<Box<dyn Model>> = vec![
        Box::new(GeometricBrownianMotion {
            mu: 0.1,
            sigma: 0.2,
        }),
        Box::new(DoubleWell { temperature: 0.1 }),
        Box::new(CoxIngersollRoss {
            kappa: 1.0,
            theta: 0.1,
            sigma: 0.2,
        }),
    ];
    for dim in 1..=langevin::MAX_DIM {
        m.push(Box::new(
            OrnsteinUhlenbeck::new(1.0, 0.0, 1.0).with_dim(dim),
        ));
    }
    for positions in 1..=langevin::MAX_DIM / 2 {
        let q: Vec<String> = (0..positions).map(|i| format!("q{i}")).collect();
        let u = q
            .iter()
            .map(|q| format!("{q}^4/4 - {q}^2/2"))
            .collect::<Vec<_>>()
            .join(" + ");
        m.push(Box::new(
            ExprModel::underdamped("wells", &q, &[], &u, 1.0, 0.5, 2.0).unwrap(),
        ));
    }
    m.push(Box::new(
        ExprModel::new("decay", &["x".into()], &[], &["-x".into()], &[]).unwrap(),
    ));
    // An ODE with every function, integer and real powers and a branch, over four components
    // (a vector state), for the f32 and f64 kernels.
    let state: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    let drift = [
        "exp(-a) * sin(t) + cos(b) - tan(c / 10) + k",
        "log(1 + a^2) - atan(b) + tanh(c) + sinh(d / 10) - cosh(d / 10)",
        "sqrt(abs(a)) * sign(b) + min(a, b) - max(c, d) + a^-2",
        "(1 + a^2)^1.5 - if(a > b, c, d) + k^3",
    ]
    .map(String::from);
    m.push(Box::new(
        ExprModel::new("functions", &state, &[("k".into(), 0.5)], &drift, &[]).unwrap(),
    ));
    // A reaction network with every order of reaction and an explicit propensity.
    let reaction = |eq: &str, rate: Option<&str>, propensity: Option<&str>| ReactionSpec {
        eq: eq.into(),
        rate: rate.map(Into::into),
        propensity: propensity.map(Into::into),
    };
    let network = ReactionNetwork::new(
        &[("A".into(), 10), ("B".into(), 3), ("C".into(), 0)],
        &[("k".into(), 0.5), ("s".into(), 2.0)],
        &[
            reaction("0 -> A", None, Some("s / (1 + C)")),
            reaction("2A -> B", Some("k"), None),
            reaction("A + B -> C", Some("k"), None),
            reaction("3C -> A + 2B", Some("k"), None),
            reaction("B -> 0", Some("k"), None),
        ],
    )
    .unwrap();
    m.push(Box::new(
        ExprModel::reaction_network("network", network).unwrap(),
    ));
    m
}

#[test]
fn every_model_and_scheme_validates() {
    for model in models() {
        for scheme in Scheme::ALL {
            if scheme.check_model(model.as_ref()).is_err() {
                continue;
            }
            if scheme.is_adaptive() {
                langevin::gpu::ode_adaptive::compose(model.as_ref(), scheme, Precision::F32)
                    .unwrap_or_else(|e| panic!("{} with {scheme}: {e}", model.name()));
                // Dormand-Prince over f64, for every model with an f64 drift.
                if scheme == Scheme::Dopri5 && model.f64_drift().is_some() {
                    langevin::gpu::ode_adaptive::compose(model.as_ref(), scheme, Precision::F64)
                        .unwrap_or_else(|e| panic!("{} with {scheme} in f64: {e}", model.name()));
                }
                continue;
            }
            // The observation kernel with the state alone, and with two observables (one
            // reading a parameter, one an indicator) and the covariance.
            let dim = model.dim();
            let names = model.state_names();
            let params: Vec<String> = model.params().into_iter().map(|(n, _)| n).collect();
            let first = &names[0];
            let scaled = match params.first() {
                Some(p) => format!("{p} * {first}^2 + t"),
                None => format!("{first}^2 + t"),
            };
            let observables = langevin::observable::Observables::resolve(
                &[
                    ("scaled".to_string(), scaled),
                    ("above".to_string(), format!("{first} > 0")),
                ],
                &names,
                &params,
            )
            .unwrap();
            let columns = langevin::observable::Columns {
                dim,
                origin: true,
                observables: 2,
                covariance: true,
            };
            let none = langevin::observable::Observables::default();
            let only = langevin::observable::Columns::state_only(dim);
            for (track_passage, observed, columns) in
                [(false, &none, only), (true, &observables, columns)]
            {
                if let Err(e) = compose(
                    model.as_ref(),
                    scheme,
                    track_passage,
                    None,
                    observed,
                    columns,
                ) {
                    panic!(
                        "{} with {scheme} (passage {track_passage}): {e}",
                        model.name()
                    );
                }
            }
        }
    }
}

/// The stepping kernels reach the device without loops over components, noise, step groups or
/// Philox rounds (`langevin::unroll`): a driver that does not unroll them itself (NVIDIA's
/// did not) would index the state at run time and move it out of registers. The loops left
/// are those whose trip count only the run knows.
#[test]
fn stepping_kernels_keep_only_loops_of_run_time_length() {
    for model in models() {
        for scheme in Scheme::ALL {
            if scheme.check_model(model.as_ref()).is_err() || scheme.is_adaptive() {
                continue;
            }
            let only = langevin::observable::Columns::state_only(model.dim());
            let [step, _] = compose(
                model.as_ref(),
                scheme,
                true,
                None,
                &Default::default(),
                only,
            )
            .unwrap();
            for line in step.wgsl.lines().filter(|l| l.contains("for (")) {
                assert!(
                    line.contains("seg.") || line.contains("sweeps"),
                    "{} with {scheme}: `{}` left as a loop",
                    model.name(),
                    line.trim()
                );
            }
        }
    }
}

/// The replica kernels' loops over the four lanes of a Philox block are counted loops with the
/// bound tested inside, so the composer unrolls them and `xi[lane]` is a constant index.
#[test]
fn replica_kernels_unroll_their_lane_loops() {
    let objective = langevin::interacting::cbo_objective::NO_OBJECTIVE_EXPR;
    for (name, modules) in [
        ("kuramoto", vec![]),
        ("chain", vec![]),
        ("cbo", vec![("cbo_objective", objective)]),
    ] {
        let kernel = shader::kernel(name, &modules).unwrap_or_else(|e| panic!("{e}"));
        let lanes = kernel
            .wgsl
            .lines()
            .filter(|l| l.contains("for (var lane"))
            .collect::<Vec<_>>();
        assert!(lanes.is_empty(), "{name} kept {lanes:?}");
    }
}

/// Each scheme runs some model here, and refuses the models it cannot step.
#[test]
fn every_scheme_is_exercised_and_refuses_what_it_cannot_step() {
    for scheme in Scheme::ALL {
        let admitted = models()
            .iter()
            .filter(|m| scheme.check_model(m.as_ref()).is_ok())
            .count();
        assert!(admitted > 0, "{scheme} validated with no model");
    }
    let ou = OrnsteinUhlenbeck::new(1.0, 0.0, 1.0);
    let err = Scheme::Rk4.check_model(&ou).unwrap_err().to_string();
    assert!(err.contains("ODEs only"), "{err}");
    let err = Scheme::Baoab.check_model(&ou).unwrap_err().to_string();
    assert!(err.contains("underdamped"), "{err}");
}

#[test]
fn standalone_kernels_validate() {
    for name in ["philox_kat", "normal_fill"] {
        shader::kernel(name, &[]).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Byte offsets of the members of struct `name` in the composed WGSL, as naga lays them out.
fn wgsl_layout(wgsl: &str, name: &str) -> (u32, Vec<(String, u32)>) {
    let module = naga::front::wgsl::parse_str(wgsl).unwrap();
    let mut layouter = naga::proc::Layouter::default();
    layouter.update(module.to_ctx()).unwrap();
    for (handle, ty) in module.types.iter() {
        if ty.name.as_deref() == Some(name) {
            if let naga::TypeInner::Struct { members, span } = &ty.inner {
                let _ = layouter[handle];
                return (
                    *span,
                    members
                        .iter()
                        .map(|m| (m.name.clone().unwrap(), m.offset))
                        .collect(),
                );
            }
        }
    }
    panic!("no struct {name}");
}

/// Asserts that the WGSL struct `$name` in `$wgsl` has the size and member offsets of the
/// Rust struct `$ty`, member by member.
macro_rules! assert_layout {
    ($wgsl:expr, $ty:ident, [$($field:ident),* $(,)?]) => {{
        let (size, members) = wgsl_layout($wgsl, stringify!($ty));
        assert_eq!(size as usize, std::mem::size_of::<$ty>(), "size of {}", stringify!($ty));
        let rust: Vec<(String, u32)> = vec![
            $((stringify!($field).to_string(), std::mem::offset_of!($ty, $field) as u32)),*
        ];
        assert_eq!(members, rust, "members of {}", stringify!($ty));
    }};
}

#[test]
fn host_structs_match_wgsl_layout() {
    let [step, observe] = compose(
        &OrnsteinUhlenbeck::new(1.0, 0.0, 1.0),
        Scheme::EulerMaruyama,
        true,
        None,
        &Default::default(),
        langevin::observable::Columns::state_only(1),
    )
    .unwrap();
    assert_layout!(
        &step.wgsl,
        Segment,
        [
            key,
            first_trajectory,
            trajectories,
            step_begin,
            step_count,
            flags,
            t0,
            dt,
            sqrt_substep_dt,
            substeps,
            hist_lo,
            hist_inv_width,
            hist_bins,
            hist_component,
            fp_level,
            fp_component,
            fp_direction,
            average_from,
        ]
    );
    // The WGSL struct is `Moments`; its host mirror is `PartialMoments`.
    let (size, members) = wgsl_layout(&observe.wgsl, "Moments");
    assert_eq!(size as usize, std::mem::size_of::<PartialMoments>());
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["count", "mean", "m2"]);
    for scheme in [Scheme::Dopri5, Scheme::Sra1Adaptive] {
        let ou = OrnsteinUhlenbeck::new(1.0, 0.0, if scheme == Scheme::Dopri5 { 0.0 } else { 1.0 });
        let adaptive = langevin::gpu::ode_adaptive::compose(&ou, scheme, Precision::F32).unwrap();
        assert_layout!(
            &adaptive.wgsl,
            AdaptiveSegment,
            [
                key,
                first_trajectory,
                trajectories,
                flags,
                t_start,
                t_target,
                h_init,
                rtol,
                atol,
                attempts,
                max_steps,
                span,
                depth,
                target_leaf,
                max_leaves,
                target_tick_lo,
                target_tick_hi,
                tick_rate,
                t_start_lo,
                t_target_lo,
                unused,
            ]
        );
    }
    let vicsek = shader::compose("vicsek", &[]).unwrap();
    shader::validate("vicsek", &vicsek, false).unwrap();
    assert_layout!(
        &vicsek,
        VicsekParams,
        [
            key,
            particles,
            replicas,
            cells_per_side,
            box_len,
            inv_cell_len,
            radius2,
            step_len,
            loop_budget,
            pad1,
            pad2,
        ]
    );
    let fft = shader::compose("fft", &[("precision", Precision::F32.wgsl())]).unwrap();
    shader::validate("fft", &fft, false).unwrap();
    assert_layout!(
        &fft,
        FftPass,
        [
            n,
            p,
            lines,
            lines_per_field,
            field_size,
            line_stride,
            elem_stride,
            twiddle_offset,
            conj,
            scale,
            pad0,
            pad1,
        ]
    );
    let potential =
        langevin::field::Potential::new("(phi^2 - 1)^2 / 4 + a * phi", &[("a", 0.1)]).unwrap();
    let field = shader::compose(
        "field",
        &[
            ("potential", &potential.wgsl(Precision::F32)),
            ("precision", Precision::F32.wgsl()),
        ],
    )
    .unwrap();
    shader::validate("field", &field, false).unwrap();
    assert_layout!(
        &field,
        FieldParams,
        [
            key,
            nx,
            ny,
            fields,
            dealias,
            twist,
            first_field,
            dt,
            kx_unit,
            ky_unit,
            mu,
            noise,
            nu,
            lambda
        ]
    );
    let fill = shader::kernel("normal_fill", &[]).unwrap();
    assert_layout!(
        &fill.wgsl,
        NormalFill,
        [
            key,
            first_trajectory,
            stream,
            blocks_per_trajectory,
            blocks,
            _pad
        ]
    );
}

/// The f64 kernels (FFT and fields) validate with naga's FLOAT64 capability, with a potential
/// that needs every `r_*` function of the f64 precision module, and not without it.
#[test]
fn f64_kernels_validate_with_float64_only() {
    let potential = langevin::field::Potential::new(
        "exp(-phi^2) + phi * log(2 + phi^2) + sin(phi) * cos(phi) + tan(phi / 4) \
         + phi * atan(phi) + tanh(phi) + sinh(phi / 3) + abs(phi)^1.5 + sqrt(1 + phi^2)",
        &[],
    )
    .unwrap();
    let wgsl = potential.wgsl(Precision::F64);
    for f in [
        "r_exp(", "r_log(", "r_sin(", "r_cos(", "r_tan(", "r_atan(", "r_tanh(", "r_cosh(", "r_pow(",
    ] {
        assert!(wgsl.contains(f), "{f} missing from {wgsl}");
    }
    let field = shader::compose(
        "field",
        &[("potential", &wgsl), ("precision", Precision::F64.wgsl())],
    )
    .unwrap();
    shader::validate("field", &field, true).unwrap();
    assert!(shader::validate("field", &field, false).is_err());
    let fft = shader::compose("fft", &[("precision", Precision::F64.wgsl())]).unwrap();
    shader::validate("fft", &fft, true).unwrap();
}
