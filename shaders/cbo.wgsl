// Consensus-based optimisation (Pinnau, Totzeck, Tse and Martin 2017; anisotropic noise:
// Carrillo, Jin, Li and Zhu 2021), one workgroup per independent run of N particles in d
// dimensions. A step: the objective of every particle, its minimum over the run (tree), the
// weights exp(-alpha (f_i - min f)) and the consensus c = sum w_i x_i / sum w_i (a tree of
// d + 1 sums), then
//   x_i <- x_i - lambda dt (x_i - c) + sigma sqrt(dt) |x_i - c| xi_i,
// with |x_i - c| the Euclidean norm (isotropic) or taken per coordinate (anisotropic), and
// alpha multiplied by `alpha_growth` per step up to `alpha_max` (CBXpy's schedule). A run
// stops (its particles stay where they are) at the first step whose consensus has an
// objective below `energy_tol`, or moved less than `diff_tol` in every coordinate since the
// step before; `halt` keeps the previous consensus and that step across dispatches.
//
// The objective is built in (sphere, Rastrigin, Ackley) or an expression compiled into
// `objective_expr` (the virtual module `cbo_objective`).
//
// Randomness: Philox counter (run, particle * ceil(d / 4) + j, step, STREAM_CBO) gives the
// particle's normals 4j to 4j + 3 of that step; the initial positions are uniform in
// [init_lo, init_hi] from counter (run, particle * ceil(d / 4) + j, 0, STREAM_CBO_INIT). CPU
// twin: crates/langevin/src/cpu/cbo.rs.
#import normal
#import replica
#import cbo_objective

const STREAM_CBO: u32 = 45u;
const STREAM_CBO_INIT: u32 = 46u;
const MAX_DIM_CBO: u32 = 32u;
const OBJECTIVE_SPHERE: u32 = 0u;
const OBJECTIVE_RASTRIGIN: u32 = 1u;
const OBJECTIVE_ACKLEY: u32 = 2u;
const OBJECTIVE_EXPR: u32 = 3u;

// Keep in sync with `CboSegment` in crates/langevin/src/interacting/cbo.rs.
struct CboSegment {
    key: vec2<u32>,
    particles: u32,
    replicas: u32,
    first_step: u32,
    steps: u32,
    slot: u32,
    saves: u32,
    dt: f32,
    flags: u32,
    dim: u32,
    objective: u32,
    lambda: f32,
    sigma: f32,
    alpha: f32,
    alpha_growth: f32,
    alpha_max: f32,
    anisotropic: u32,
    init_lo: f32,
    init_hi: f32,
    shift: f32,
    energy_tol: f32,
    diff_tol: f32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> seg: CboSegment;
// Per run, particle and coordinate: the positions.
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
// Per run and particle: the objective at the last step.
@group(0) @binding(2) var<storage, read_write> fx: array<f32>;
// Per run: the consensus of the last step taken (MAX_DIM_CBO values), then the step at which
// the run stopped plus 1 (0 while it runs; the u32's bits).
@group(0) @binding(3) var<storage, read_write> halt: array<f32>;
// Per run and save time: the consensus (d values), the objective there, the stopping step
// plus 1 (bits).
@group(0) @binding(4) var<storage, read_write> consensus: array<f32>;

var<workgroup> lowest: array<f32, WORKGROUP_SIZE>;
var<workgroup> sums: array<f32, 2112>; // WORKGROUP_SIZE * (MAX_DIM_CBO + 1)
var<private> acc: array<f32, 33>;
var<private> c: array<f32, 32>;

// The objective from the sums over the coordinates v = x - shift of v^2 and cos(2 pi v).
fn objective_of(sum_sq: f32, sum_cos: f32) -> f32 {
    let d = f32(seg.dim);
    if seg.objective == OBJECTIVE_RASTRIGIN {
        return 10.0 * d + sum_sq - 10.0 * sum_cos;
    }
    if seg.objective == OBJECTIVE_ACKLEY {
        return -20.0 * exp(-0.2 * sqrt(sum_sq / d)) - exp(sum_cos / d) + 20.0 + 2.7182817;
    }
    return sum_sq;
}

// The objective at the particle whose coordinates start at `at`.
fn objective(at: u32) -> f32 {
    if seg.objective == OBJECTIVE_EXPR {
        var v: array<f32, 32>;
        for (var k = 0u; k < seg.dim; k++) {
            v[k] = x[at + k] - seg.shift;
        }
        return objective_expr(&v);
    }
    var sum_sq = 0.0;
    var sum_cos = 0.0;
    for (var k = 0u; k < seg.dim; k++) {
        let v = x[at + k] - seg.shift;
        sum_sq += v * v;
        sum_cos += cos(6.2831853 * v);
    }
    return objective_of(sum_sq, sum_cos);
}

// The objective at the consensus `c`.
fn objective_at_consensus() -> f32 {
    if seg.objective == OBJECTIVE_EXPR {
        var v: array<f32, 32>;
        for (var k = 0u; k < seg.dim; k++) {
            v[k] = c[k] - seg.shift;
        }
        return objective_expr(&v);
    }
    var sum_sq = 0.0;
    var sum_cos = 0.0;
    for (var k = 0u; k < seg.dim; k++) {
        let v = c[k] - seg.shift;
        sum_sq += v * v;
        sum_cos += cos(6.2831853 * v);
    }
    return objective_of(sum_sq, sum_cos);
}

fn tree_min(lid: u32, mine: f32) -> f32 {
    lowest[lid] = mine;
    workgroupBarrier();
    for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride >>= 1u) {
        if lid < stride {
            lowest[lid] = min(lowest[lid], lowest[lid + stride]);
        }
        workgroupBarrier();
    }
    let m = lowest[0];
    workgroupBarrier();
    return m;
}

// The consensus into `c` from every invocation's `acc` (d weighted sums, then the weights).
fn reduce_consensus(lid: u32) {
    let d = seg.dim;
    let w = MAX_DIM_CBO + 1u;
    for (var k = 0u; k <= d; k++) {
        sums[lid * w + k] = acc[k];
    }
    workgroupBarrier();
    for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride >>= 1u) {
        if lid < stride {
            for (var k = 0u; k <= d; k++) {
                sums[lid * w + k] += sums[(lid + stride) * w + k];
            }
        }
        workgroupBarrier();
    }
    for (var k = 0u; k < d; k++) {
        c[k] = sums[k] / sums[d];
    }
    workgroupBarrier();
}

// The consensus of run `run` (positions from `base`) at weight `alpha`, into `c`.
fn consensus_of(lid: u32, run: u32, base: u32, alpha: f32) {
    let n = seg.particles;
    let d = seg.dim;
    var mine = 3.4e38;
    for (var i = lid; i < n; i += WORKGROUP_SIZE) {
        let f = objective(base + i * d);
        fx[run * n + i] = f;
        mine = min(mine, f);
    }
    let f_min = tree_min(lid, mine);
    for (var k = 0u; k <= d; k++) {
        acc[k] = 0.0;
    }
    for (var i = lid; i < n; i += WORKGROUP_SIZE) {
        let w = exp(-alpha * (fx[run * n + i] - f_min));
        for (var k = 0u; k < d; k++) {
            acc[k] += w * x[base + i * d + k];
        }
        acc[d] += w;
    }
    reduce_consensus(lid);
}

// alpha at step s: CBXpy's geometric schedule, capped.
fn alpha_at(s: u32) -> f32 {
    return min(seg.alpha * pow(seg.alpha_growth, f32(s)), seg.alpha_max);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn cbo(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let run = replica_of(wid, nwg);
    if run >= seg.replicas {
        return;
    }
    let n = seg.particles;
    let d = seg.dim;
    let blocks = (d + 3u) / 4u;
    let base = run * n * d;
    if (seg.flags & FLAG_INIT) != 0u {
        for (var i = lid; i < n; i += WORKGROUP_SIZE) {
            for (var j = 0u; j < blocks; j++) {
                let w = philox4x32_10(vec4<u32>(run, i * blocks + j, 0u, STREAM_CBO_INIT), seg.key);
                for (var lane = 0u; lane < 4u; lane++) {
                    if 4u * j + lane < d {
                        x[base + i * d + 4u * j + lane] =
                            seg.init_lo + (seg.init_hi - seg.init_lo) * uniform_open01(w[lane]);
                    }
                }
            }
        }
    }
    let kept = run * (MAX_DIM_CBO + 1u);
    var stopped_at = 0u;
    var previous: array<f32, 32>;
    if (seg.flags & FLAG_INIT) == 0u {
        stopped_at = bitcast<u32>(halt[kept + MAX_DIM_CBO]);
        for (var k = 0u; k < d; k++) {
            previous[k] = halt[kept + k];
        }
    }
    for (var step = 0u; step < seg.steps; step++) {
        let s = seg.first_step + step;
        consensus_of(lid, run, base, alpha_at(s));
        if stopped_at == 0u {
            // Every invocation holds the same consensus, so all take the same decision.
            var moved = 0.0;
            for (var k = 0u; k < d; k++) {
                moved = max(moved, abs(c[k] - previous[k]));
                previous[k] = c[k];
            }
            if objective_at_consensus() < seg.energy_tol || (s > 0u && moved < seg.diff_tol) {
                stopped_at = s + 1u;
            }
        }
        let drift = seg.lambda * seg.dt;
        let kick = seg.sigma * sqrt(seg.dt);
        // A stopped run's invocations skip the moves (no barrier in there).
        let first = select(lid, n, stopped_at != 0u);
        for (var i = first; i < n; i += WORKGROUP_SIZE) {
            let at = base + i * d;
            var norm = 0.0;
            for (var k = 0u; k < d; k++) {
                let diff = x[at + k] - c[k];
                norm += diff * diff;
            }
            norm = sqrt(norm);
            for (var j = 0u; j < blocks; j++) {
                let xi = box_muller4(philox4x32_10(vec4<u32>(run, i * blocks + j, s, STREAM_CBO), seg.key));
                for (var lane = 0u; lane < 4u; lane++) {
                    if 4u * j + lane < d {
                        let k = 4u * j + lane;
                        let diff = x[at + k] - c[k];
                        let scale = select(norm, abs(diff), seg.anisotropic != 0u);
                        x[at + k] = x[at + k] - drift * diff + kick * scale * xi[lane];
                    }
                }
            }
        }
    }
    if lid == 0u {
        for (var k = 0u; k < d; k++) {
            halt[kept + k] = previous[k];
        }
        halt[kept + MAX_DIM_CBO] = bitcast<f32>(stopped_at);
    }
    if (seg.flags & FLAG_SAVE) != 0u {
        // The consensus of the positions reached, at the next step's alpha.
        consensus_of(lid, run, base, alpha_at(seg.first_step + seg.steps));
        if lid == 0u {
            let at = (run * seg.saves + seg.slot) * (d + 2u);
            for (var k = 0u; k < d; k++) {
                consensus[at + k] = c[k];
            }
            consensus[at + d] = objective_at_consensus();
            consensus[at + d + 1u] = bitcast<f32>(stopped_at);
        }
    }
}
