//! Every kernel composes and validates with naga for every built-in model and scheme, and the
//! host structs have the layout the WGSL structs have.

use langevin::cpu::philox_stream::NormalFill;
use langevin::gpu::sde_ensemble::compose;
use langevin::plan::Segment;
use langevin::stats::PartialMoments;
use langevin::{
    shader, CoxIngersollRoss, DoubleWell, GeometricBrownianMotion, Model, OrnsteinUhlenbeck, Scheme,
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
    m
}

#[test]
fn every_model_and_scheme_validates() {
    for model in models() {
        for scheme in Scheme::ALL {
            if let Err(e) = compose(model.as_ref(), scheme) {
                panic!("{} with {scheme}: {e}", model.name());
            }
        }
    }
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

#[test]
fn host_structs_match_wgsl_layout() {
    let [step, _] = compose(
        &OrnsteinUhlenbeck::new(1.0, 0.0, 1.0),
        Scheme::EulerMaruyama,
    )
    .unwrap();
    let (size, members) = wgsl_layout(&step.wgsl, "Segment");
    assert_eq!(size as usize, std::mem::size_of::<Segment>());
    let rust_offsets = [
        ("key", std::mem::offset_of!(Segment, key)),
        (
            "first_trajectory",
            std::mem::offset_of!(Segment, first_trajectory),
        ),
        ("trajectories", std::mem::offset_of!(Segment, trajectories)),
        ("step_begin", std::mem::offset_of!(Segment, step_begin)),
        ("step_count", std::mem::offset_of!(Segment, step_count)),
        ("flags", std::mem::offset_of!(Segment, flags)),
        ("t0", std::mem::offset_of!(Segment, t0)),
        ("dt", std::mem::offset_of!(Segment, dt)),
        (
            "sqrt_substep_dt",
            std::mem::offset_of!(Segment, sqrt_substep_dt),
        ),
        ("substeps", std::mem::offset_of!(Segment, substeps)),
        ("hist_lo", std::mem::offset_of!(Segment, hist_lo)),
        (
            "hist_inv_width",
            std::mem::offset_of!(Segment, hist_inv_width),
        ),
        ("hist_bins", std::mem::offset_of!(Segment, hist_bins)),
        (
            "hist_component",
            std::mem::offset_of!(Segment, hist_component),
        ),
    ];
    assert_eq!(members.len(), rust_offsets.len());
    for ((wname, woff), (rname, roff)) in members.iter().zip(rust_offsets) {
        assert_eq!((wname.as_str(), *woff as usize), (rname, roff));
    }

    let observe = shader::kernel(
        "ensemble_observe",
        &[("state_layout", &langevin::model::wgsl_state_layout(1))],
    )
    .unwrap();
    let (size, _) = wgsl_layout(&observe.wgsl, "Moments");
    assert_eq!(size as usize, std::mem::size_of::<PartialMoments>());

    let fill = shader::kernel("normal_fill", &[]).unwrap();
    let (size, members) = wgsl_layout(&fill.wgsl, "NormalFill");
    assert_eq!(size as usize, std::mem::size_of::<NormalFill>());
    let rust_offsets = [
        ("key", std::mem::offset_of!(NormalFill, key)),
        (
            "first_trajectory",
            std::mem::offset_of!(NormalFill, first_trajectory),
        ),
        ("stream", std::mem::offset_of!(NormalFill, stream)),
        (
            "blocks_per_trajectory",
            std::mem::offset_of!(NormalFill, blocks_per_trajectory),
        ),
        ("blocks", std::mem::offset_of!(NormalFill, blocks)),
        ("_pad", std::mem::offset_of!(NormalFill, _pad)),
    ];
    for ((wname, woff), (rname, roff)) in members.iter().zip(rust_offsets) {
        assert_eq!((wname.as_str(), *woff as usize), (rname, roff));
    }
}
