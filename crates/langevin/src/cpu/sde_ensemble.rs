//! Twin of `shaders/sde_ensemble.wgsl`: one call is one dispatch over a batch, invocation by
//! invocation (in parallel with rayon), each written as in the shader.

use super::schemes::scheme_step;
use super::sde_lanes::{euler_maruyama_lanes, lane, rk4_lanes};
use super::trajectory::{add_index, initial_state};
use crate::event::Event;
use crate::expr::eval::LANES;
use crate::model::{group_steps, Model};
use crate::philox::{
    box_muller4, box_muller4_lanes, philox4x32_10, philox4x32_10_lanes, NormalStream,
    STREAM_BROWNIAN,
};
use crate::plan::{Segment, FLAG_FIRST_PASSAGE, FLAG_INIT, FLAG_TIME_AVERAGE};
use crate::scheme::Scheme;
use crate::state::{State, MAX_DIM};
use crate::sweep::apply_sweep;
use crate::twin::{LaneParams, LaneState, LaneTerms};
use rayon::prelude::*;

pub use crate::twin::EnsembleBindings as Bindings;

/// Twin of the private sums `sum_x`, `comp_x`, `sum_x2`, `comp_x2`: per component, in the
/// order of the `time_sums` buffer.
struct TimeSums<'s> {
    sums: Option<&'s mut [f32]>,
}

impl TimeSums<'_> {
    /// Twin of `kahan_add` on sum `k` (0: x, 1: x^2) of component `i`.
    fn kahan_add(&mut self, i: usize, k: usize, v: f32) {
        if let Some(s) = self.sums.as_deref_mut() {
            let at = 4 * i + 2 * k;
            let y = v - s[at + 1];
            let t = s[at] + y;
            s[at + 1] = (t - s[at]) - y;
            s[at] = t;
        }
    }
}

struct Invocation<'a, M: Model + ?Sized> {
    seg: &'a Segment,
    model: &'a M,
    scheme: Scheme,
    params: &'a [f32],
    noise: usize,
    normals: usize,
    group_steps: u32,
    event: Option<&'a Event>,
    observables: &'a crate::observable::Observables,
}

/// Twin of `INV_SQRT3`.
const INV_SQRT3: f32 = 0.577_350_269_189_625_8_f64 as f32;

impl<M: Model + ?Sized> Invocation<'_, M> {
    /// Twin of `beyond_level`.
    fn beyond_level(&self, x: &State) -> bool {
        let seg = self.seg;
        let v = x[seg.fp_component as usize];
        if seg.fp_direction == 1 {
            v <= seg.fp_level
        } else {
            v >= seg.fp_level
        }
    }

    /// Twin of `watched`.
    fn watched(&self, t: f32, x: &State) -> bool {
        match self.event {
            Some(e) => e.holds(t, x, self.params),
            None => self.beyond_level(x),
        }
    }

    /// Twin of `record_passage`.
    fn record_passage(&self, hit: &mut f32, x: &State, steps_done: u32) {
        let seg = self.seg;
        let t = seg.t0 + steps_done as f32 * seg.dt;
        if seg.flags & FLAG_FIRST_PASSAGE != 0 && *hit < 0.0 && self.watched(t, x) {
            *hit = t;
        }
    }

    /// Twin of `average_step`.
    fn average_step(&self, sums: &mut TimeSums<'_>, x: &State, steps_done: u32) {
        let seg = self.seg;
        if seg.flags & FLAG_TIME_AVERAGE != 0 && steps_done > seg.average_from {
            let dim = self.model.dim();
            for (i, v) in x[..dim].iter().enumerate() {
                sums.kahan_add(i, 0, *v);
                sums.kahan_add(i, 1, v * v);
            }
            let k = self.observables.len();
            if k > 0 {
                let mut o = [0.0f32; crate::observable::MAX_AVERAGED];
                let t = seg.t0 + steps_done as f32 * seg.dt;
                self.observables
                    .observable_values(t, &x[..dim], self.params, &mut o[..k]);
                for (j, v) in o[..k].iter().enumerate() {
                    sums.kahan_add(dim + j, 0, *v);
                    sums.kahan_add(dim + j, 1, v * v);
                }
            }
        }
    }

    /// Twin of `advance`.
    fn advance(&self, x: &State, next: State, hit: f32) -> State {
        if self.event.is_some_and(Event::stops) && hit >= 0.0 {
            *x
        } else {
            next
        }
    }

    fn step(&self, s: u32, x: &State, dw: &State, chi: &State) -> State {
        let seg = self.seg;
        scheme_step(
            self.scheme,
            self.model,
            self.params,
            seg.t0 + s as f32 * seg.dt,
            seg.dt,
            x,
            dw,
            chi,
        )
    }

    /// Twin of `step_by_stream`.
    fn step_by_stream(&self, stream: &mut NormalStream, s: u32, x: &State) -> State {
        let (seg, noise, normals) = (self.seg, self.noise, self.normals);
        let levy = normals > noise;
        let h = seg.dt / seg.substeps as f32;
        let mut raw = [0.0f32; MAX_DIM];
        let mut area = [0.0f32; MAX_DIM];
        for j in 0..seg.substeps * u32::from(self.scheme.draws_noise()) {
            let first = (s * seg.substeps + j) * normals as u32;
            for i in 0..noise {
                let a = stream.normal_at(first + i as u32);
                if levy {
                    let b = stream.normal_at(first + (noise + i) as u32);
                    let w = raw[i] * seg.sqrt_substep_dt;
                    area[i] += w * h + 0.5 * h * seg.sqrt_substep_dt * (a + b * INV_SQRT3);
                }
                raw[i] += a;
            }
        }
        let mut dw = [0.0; MAX_DIM];
        let mut chi = [0.0; MAX_DIM];
        for i in 0..noise {
            dw[i] = raw[i] * seg.sqrt_substep_dt;
            chi[i] = area[i] / seg.dt;
        }
        self.step(s, x, &dw, &chi)
    }

    /// Twin of `step_group`.
    fn step_group(
        &self,
        trajectory: [u32; 2],
        s: u32,
        x_in: &State,
        hit: &mut f32,
        sums: &mut TimeSums<'_>,
    ) -> State {
        let (seg, noise, normals) = (self.seg, self.noise, self.normals);
        let group_normals = self.group_steps as usize * normals;
        let mut z = [0.0f32; 8 * MAX_DIM];
        let first_block = (s * normals as u32) >> 2;
        let blocks = if self.scheme.draws_noise() {
            group_normals / 4
        } else {
            0
        };
        for b in 0..blocks {
            let ctr = [
                trajectory[0],
                trajectory[1],
                first_block + b as u32,
                STREAM_BROWNIAN,
            ];
            let n = box_muller4(philox4x32_10(ctr, seg.key));
            for (lane, v) in n.iter().enumerate() {
                z[4 * b + lane] = v * seg.sqrt_substep_dt;
            }
        }
        let mut x = *x_in;
        for u in 0..self.group_steps {
            let mut dw = [0.0; MAX_DIM];
            let mut chi = [0.0; MAX_DIM];
            let at = u as usize * normals;
            for i in 0..noise {
                dw[i] = z[at + i];
                if normals > noise {
                    chi[i] = 0.5 * (dw[i] + z[at + noise + i] * INV_SQRT3);
                }
            }
            x = self.advance(&x, self.step(s + u, &x, &dw, &chi), *hit);
            self.record_passage(hit, &x, s + u + 1);
            self.average_step(sums, &x, s + u + 1);
        }
        x
    }
}

/// The kernel for eight trajectories in lockstep ([`super::sde_lanes`]): the same random
/// numbers, steps and passage records as the invocations of [`sde_ensemble`], lane by lane.
struct LaneRun<'a, M: Model + ?Sized> {
    inv: &'a Invocation<'a, M>,
    terms: &'a dyn LaneTerms,
    scheme: Scheme,
    dim: usize,
    init: &'a [f32],
    sweep: &'a [u32],
}

impl<M: Model + ?Sized> LaneRun<'_, M> {
    fn step(&self, p: &LaneParams<'_>, s: u32, x: &LaneState, dw: &LaneState) -> LaneState {
        let seg = self.inv.seg;
        let t = seg.t0 + s as f32 * seg.dt;
        match self.scheme {
            Scheme::Rk4 => rk4_lanes(self.terms, self.dim, p, t, seg.dt, x),
            _ => euler_maruyama_lanes(self.terms, self.dim, p, t, seg.dt, x, dw),
        }
    }

    /// Twin of `record_passage` (without an event, whose runs do not come here: `watched` is
    /// `beyond_level`) for the lanes in use, reading the watched component in place.
    fn record(&self, hit: &mut [f32; LANES], x: &LaneState, count: usize, steps_done: u32) {
        let seg = self.inv.seg;
        if seg.flags & FLAG_FIRST_PASSAGE == 0 {
            return;
        }
        let t = seg.t0 + steps_done as f32 * seg.dt;
        let v = &x[seg.fp_component as usize];
        for l in 0..count {
            let beyond = if seg.fp_direction == 1 {
                v[l] <= seg.fp_level
            } else {
                v[l] >= seg.fp_level
            };
            if hit[l] < 0.0 && beyond {
                hit[l] = t;
            }
        }
    }

    fn run(&self, state: &mut [f32], passage: &mut [f32], origin: Option<&mut [f32]>) {
        let (inv, dim) = (self.inv, self.dim);
        let seg = inv.seg;
        let origins: Vec<Option<&mut [f32]>> = match origin {
            Some(o) => o[..state.len()].chunks_mut(LANES * dim).map(Some).collect(),
            None => (0..passage.len().div_ceil(LANES)).map(|_| None).collect(),
        };
        state
            .par_chunks_mut(LANES * dim)
            .zip(passage.par_chunks_mut(LANES))
            .zip(origins.into_par_iter())
            .enumerate()
            .for_each(|(chunk, ((xs, passages), origin))| {
                // Lanes past the end of the batch repeat the last trajectory and are dropped.
                let count = passages.len();
                let trajectory: [[u32; 2]; LANES] = std::array::from_fn(|l| {
                    add_index(
                        seg.first_trajectory,
                        (chunk * LANES + l.min(count - 1)) as u32,
                    )
                });
                let swept: Vec<Vec<f32>> = if self.sweep[0] == 0 {
                    Vec::new()
                } else {
                    trajectory
                        .iter()
                        .map(|&tr| {
                            let mut p = inv.params.to_vec();
                            apply_sweep(self.sweep, tr, &mut p);
                            p
                        })
                        .collect()
                };
                let p: LaneParams<'_> = std::array::from_fn(|l| {
                    if swept.is_empty() {
                        inv.params
                    } else {
                        &swept[l][..]
                    }
                });
                let mut hit = [-1.0f32; LANES];
                let mut x: LaneState = [[0.0; LANES]; MAX_DIM];
                for l in 0..LANES {
                    let own = l.min(count - 1);
                    let xl = if seg.flags & FLAG_INIT != 0 {
                        initial_state(seg.key, self.init, dim, trajectory[l])
                    } else {
                        let mut xl = [0.0; MAX_DIM];
                        xl[..dim].copy_from_slice(&xs[own * dim..(own + 1) * dim]);
                        if seg.flags & FLAG_FIRST_PASSAGE != 0 {
                            hit[l] = passages[own];
                        }
                        xl
                    };
                    for i in 0..dim {
                        x[i][l] = xl[i];
                    }
                }
                if seg.flags & FLAG_INIT != 0 {
                    self.record(&mut hit, &x, count, 0);
                    if let Some(o) = origin {
                        for l in 0..count {
                            o[l * dim..(l + 1) * dim].copy_from_slice(&lane(&x, l, dim)[..dim]);
                        }
                    }
                }
                let mut streams: [NormalStream; LANES] = std::array::from_fn(|l| {
                    NormalStream::new(seg.key, trajectory[l], STREAM_BROWNIAN)
                });
                // RK4 reads no increments and draws none, as in the shader.
                let noise = if self.scheme.draws_noise() {
                    inv.noise
                } else {
                    0
                };
                let mut s = seg.step_begin;
                let end = seg.step_begin + seg.step_count;
                // Twin of `step_by_stream` (one substep, no Levy area), lane by lane.
                let single = |s: u32, x: &LaneState, streams: &mut [NormalStream; LANES]| {
                    let mut dw = [[0.0; LANES]; MAX_DIM];
                    for (l, stream) in streams.iter_mut().enumerate() {
                        for i in 0..noise {
                            let raw = 0.0 + stream.normal_at(s * noise as u32 + i as u32);
                            dw[i][l] = raw * seg.sqrt_substep_dt;
                        }
                    }
                    self.step(&p, s, x, &dw)
                };
                while s < end && s % inv.group_steps != 0 {
                    x = single(s, &x, &mut streams);
                    s += 1;
                    self.record(&mut hit, &x, count, s);
                }
                // Twin of `step_group`: whole Philox blocks for `group_steps` steps.
                let group_normals = inv.group_steps as usize * noise;
                while s + inv.group_steps <= end {
                    let mut z = [[0.0f32; LANES]; 8 * MAX_DIM];
                    let first_block = (s * noise as u32) >> 2;
                    for b in 0..group_normals / 4 {
                        let ctr = [
                            trajectory.map(|tr| tr[0]),
                            trajectory.map(|tr| tr[1]),
                            [first_block + b as u32; LANES],
                            [STREAM_BROWNIAN; LANES],
                        ];
                        let normals = box_muller4_lanes(&philox4x32_10_lanes(&ctr, seg.key));
                        for (k, lanes) in normals.iter().enumerate() {
                            for l in 0..LANES {
                                z[4 * b + k][l] = lanes[l] * seg.sqrt_substep_dt;
                            }
                        }
                    }
                    for u in 0..inv.group_steps {
                        let mut dw = [[0.0; LANES]; MAX_DIM];
                        let at = u as usize * noise;
                        dw[..noise].copy_from_slice(&z[at..at + noise]);
                        x = self.step(&p, s + u, &x, &dw);
                        self.record(&mut hit, &x, count, s + u + 1);
                    }
                    s += inv.group_steps;
                }
                while s < end {
                    x = single(s, &x, &mut streams);
                    s += 1;
                    self.record(&mut hit, &x, count, s);
                }
                for l in 0..count {
                    xs[l * dim..(l + 1) * dim].copy_from_slice(&lane(&x, l, dim)[..dim]);
                    if seg.flags & FLAG_FIRST_PASSAGE != 0 {
                        passages[l] = hit[l];
                    }
                }
            });
    }
}

/// Twin of the `sde_ensemble` kernel: advances every trajectory of the batch by the segment.
/// Generic so that each model's terms inline into the loop (`twin::CpuTwin` reaches
/// it from a `dyn Model`).
pub fn sde_ensemble<M: Model + ?Sized>(model: &M, scheme: Scheme, b: Bindings<'_>) {
    let dim = model.dim();
    let seg = b.seg;
    let n = seg.trajectories as usize;
    let inv = Invocation {
        seg,
        model,
        scheme,
        params: b.params,
        event: b.event,
        noise: model.noise_dim(),
        normals: model.noise_dim() * scheme.normals_per_noise(),
        group_steps: group_steps(model.noise_dim() * scheme.normals_per_noise()) as u32,
        observables: b.observables,
    };
    let init = b.init;
    let sweep = b.sweep;
    if let Some(terms) = model.lane_terms().filter(|_| b.lanes) {
        let lockstep = matches!(scheme, Scheme::EulerMaruyama | Scheme::Rk4)
            && b.event.is_none()
            && seg.substeps == 1
            && inv.normals == inv.noise
            && seg.flags & FLAG_TIME_AVERAGE == 0;
        if lockstep {
            let lanes = LaneRun {
                inv: &inv,
                terms,
                scheme,
                dim,
                init,
                sweep,
            };
            lanes.run(&mut b.state[..n * dim], &mut b.passage[..n], b.origin);
            return;
        }
    }
    let origins: Vec<Option<&mut [f32]>> = match b.origin {
        Some(o) => o[..n * dim].chunks_mut(dim).map(Some).collect(),
        None => (0..n).map(|_| None).collect(),
    };
    let averaged = dim + b.observables.len();
    let time_sums: Vec<Option<&mut [f32]>> = match b.time_sums {
        Some(o) => o[..4 * n * averaged]
            .chunks_mut(4 * averaged)
            .map(Some)
            .collect(),
        None => (0..n).map(|_| None).collect(),
    };
    b.state[..n * dim]
        .par_chunks_mut(dim)
        .zip(b.passage[..n].par_iter_mut())
        .zip(origins.into_par_iter().zip(time_sums.into_par_iter()))
        .enumerate()
        .for_each(|(local_index, ((xs, passage), (origin, sums)))| {
            let mut sums = TimeSums { sums };
            let trajectory = add_index(seg.first_trajectory, local_index as u32);
            // Twin of the private `params` and `apply_sweep`: a copy only when something is
            // swept.
            let own: Vec<f32>;
            let swept;
            let inv = if sweep[0] == 0 {
                &inv
            } else {
                let mut p = inv.params.to_vec();
                apply_sweep(sweep, trajectory, &mut p);
                own = p;
                swept = Invocation {
                    params: &own,
                    ..inv
                };
                &swept
            };
            let mut hit = -1.0f32;
            let mut x = if seg.flags & FLAG_INIT != 0 {
                let x = initial_state(seg.key, init, dim, trajectory);
                inv.record_passage(&mut hit, &x, 0);
                if let Some(o) = origin {
                    o.copy_from_slice(&x[..dim]);
                }
                if let Some(s) = sums.sums.as_deref_mut() {
                    // The kernel's private sums start at zero.
                    s.fill(0.0);
                }
                x
            } else {
                let mut x = [0.0; MAX_DIM];
                x[..dim].copy_from_slice(xs);
                if seg.flags & FLAG_FIRST_PASSAGE != 0 {
                    hit = *passage;
                }
                x
            };
            let mut noise = NormalStream::new(seg.key, trajectory, STREAM_BROWNIAN);
            let mut s = seg.step_begin;
            let end = seg.step_begin + seg.step_count;
            if seg.substeps == 1 {
                while s < end && s % inv.group_steps != 0 {
                    x = inv.advance(&x, inv.step_by_stream(&mut noise, s, &x), hit);
                    s += 1;
                    inv.record_passage(&mut hit, &x, s);
                    inv.average_step(&mut sums, &x, s);
                }
                while s + inv.group_steps <= end {
                    x = inv.step_group(trajectory, s, &x, &mut hit, &mut sums);
                    s += inv.group_steps;
                }
            }
            while s < end {
                x = inv.advance(&x, inv.step_by_stream(&mut noise, s, &x), hit);
                s += 1;
                inv.record_passage(&mut hit, &x, s);
                inv.average_step(&mut sums, &x, s);
            }
            xs.copy_from_slice(&x[..dim]);
            if seg.flags & FLAG_FIRST_PASSAGE != 0 {
                *passage = hit;
            }
        });
}
