//! Twin of `shaders/sde_adaptive.wgsl`: stochastic Heun or SRA1 with a step size per
//! trajectory on a virtual Brownian tree, one invocation per trajectory (in parallel with
//! rayon), written as in the shader. The bindings are those of `ode_adaptive`.

use super::brownian_tree::BrownianTree;
use super::ode_adaptive::{for_each_invocation, Bindings, Invocation};
use super::schemes::scheme_step;
use super::trajectory::initial_state;
use crate::adaptive::AdaptiveSegment;
use crate::model::Model;
use crate::plan::FLAG_INIT;
use crate::scheme::Scheme;
use crate::state::{State, MAX_DIM};

/// Twin of `Attempt`.
struct Attempt {
    y: State,
    err: f32,
}

/// Twin of `sde_attempt`.
#[allow(clippy::too_many_arguments)]
fn sde_attempt<M: Model + ?Sized>(
    m: &M,
    scheme: Scheme,
    p: &[f32],
    seg: &AdaptiveSegment,
    tree: &BrownianTree,
    t: f32,
    first: u32,
    end: u32,
    x: &State,
) -> Attempt {
    let piece = tree.increment(first, end);
    let h = piece.len;
    let mut dw = [0.0; MAX_DIM];
    let mut chi = [0.0; MAX_DIM];
    for i in 0..m.noise_dim() {
        dw[i] = piece.w[i];
        chi[i] = piece.k[i] / h;
    }
    let y = scheme_step(scheme, m, p, t, h, x, &dw, &chi);
    let f0 = m.drift(t, x, p);
    let g = m.noise_apply(t, x, &dw, p);
    let mut sum = 0.0f32;
    for i in 0..m.dim() {
        let e = y[i] - (x[i] + h * f0[i] + g[i]);
        let scale = seg.atol + seg.rtol * x[i].abs().max(y[i].abs());
        sum += (e / scale) * (e / scale);
    }
    Attempt {
        y,
        err: (sum / m.dim() as f32).sqrt(),
    }
}

/// Twin of the `sde_adaptive` kernel, for [`Scheme::HeunAdaptive`] or [`Scheme::Sra1Adaptive`].
pub fn sde_adaptive<M: Model + ?Sized>(m: &M, scheme: Scheme, b: Bindings<'_>) {
    let (seg, init, dim) = (b.seg, b.init, m.dim());
    let order = scheme.strong_order() as f32;
    let step_scheme = scheme.fixed_step();
    for_each_invocation(b, dim, |inv| {
        let Invocation {
            trajectory,
            params,
            state: xs,
            clock,
            counts,
        } = inv;
        let p = &params[..];
        let tree = BrownianTree {
            key: seg.key,
            trajectory,
            span: seg.span,
            depth: seg.depth,
            noise: m.noise_dim(),
        };
        let leaf = seg.span / (1u32 << seg.depth) as f32;
        let mut x = [0.0; MAX_DIM];
        let (mut pos, mut h, mut err_prev, mut accepted, mut rejected);
        if seg.flags & FLAG_INIT != 0 {
            x = initial_state(seg.key, init, dim, trajectory);
            (pos, h, err_prev, accepted, rejected) = (0u32, seg.h_init, 1e-4f32, 0u32, 0u32);
        } else {
            x[..dim].copy_from_slice(xs);
            (h, err_prev, pos) = (clock[1], clock[2], clock[3] as u32);
            (accepted, rejected) = (counts[0], counts[1]);
        }
        for _ in 0..seg.attempts {
            if pos >= seg.target_leaf || accepted + rejected >= seg.max_steps {
                break;
            }
            let remaining = seg.target_leaf - pos;
            let m_leaves = h.clamp(1.0, seg.max_leaves as f32) as u32;
            let clamped = m_leaves >= remaining;
            let ms = if clamped { remaining } else { m_leaves };
            let t = seg.t_start + pos as f32 * leaf;
            let a = sde_attempt(m, step_scheme, p, seg, &tree, t, pos, pos + ms, &x);
            if a.err <= 1.0 || ms == 1 {
                pos += ms;
                x = a.y;
                accepted += 1;
                let e = a.err.max(1e-10);
                let factor =
                    (0.9 * e.powf(-0.4 / order) * err_prev.powf(0.1 / order)).clamp(0.2, 10.0);
                err_prev = a.err.max(1e-4);
                h = if clamped {
                    (ms as f32 * factor).max(h)
                } else {
                    ms as f32 * factor
                };
            } else {
                rejected += 1;
                let shrink = if a.err.is_nan() {
                    0.2
                } else {
                    (0.9 * a.err.powf(-1.0 / order)).max(0.2)
                };
                h = ms as f32 * shrink;
            }
        }
        xs.copy_from_slice(&x[..dim]);
        let t = if pos == seg.target_leaf {
            seg.t_target
        } else {
            seg.t_start + pos as f32 * leaf
        };
        clock.copy_from_slice(&[t, h, err_prev, pos as f32]);
        counts[..2].copy_from_slice(&[accepted, rejected]);
        pos < seg.target_leaf && accepted + rejected < seg.max_steps
    });
}
