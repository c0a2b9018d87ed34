// Periodic 1-D lattices of L sites, one workgroup per replica, Euler-Maruyama:
//   dh_i = (f(h_{i-1}, h_i, h_{i+1}) + omega_i) dt + sqrt(D) dW_i,
// with omega_i quenched (columnar) disorder, fixed per replica and site, and f one of
//   MODEL_EW:    nu (h_{i+1} - 2 h_i + h_{i-1})                       (Edwards-Wilkinson)
//   MODEL_KPZ:   the same + (lambda / 6) (a^2 + a b + b^2), a = h_{i+1} - h_i, b = h_i - h_{i-1}
//                (Lam and Shin's discretisation of (lambda / 2) (dh/dx)^2)
//   MODEL_PHASE: nu sum over both neighbours j of [sin(h_j - h_i) + lambda (1 - cos(h_j - h_i))]
//                (phase oscillators; odd coupling at lambda = 0).
// A step reads the neighbours, so the chain is double-buffered: step s reads half s % 2 of `h`
// and writes the other, then the workgroup waits at a storage barrier. At a save time the
// replica's mean height and its roughness w^2 = <(h - <h>)^2> are reduced in two passes.
//
// Randomness: Philox counter (replica, group of 4 sites, step, STREAM_CHAIN_NOISE) gives the
// four sites of a group their normals. CPU twin: crates/langevin/src/cpu/chain.rs.
#import normal
#import replica

const STREAM_CHAIN_NOISE: u32 = 43u;
const MODEL_EW: u32 = 0u;
const MODEL_KPZ: u32 = 1u;
const MODEL_PHASE: u32 = 2u;

// Keep in sync with `ChainSegment` in crates/langevin/src/interacting/chain.rs.
struct ChainSegment {
    key: vec2<u32>,
    sites: u32,
    replicas: u32,
    first_step: u32,
    steps: u32,
    slot: u32,
    saves: u32,
    dt: f32,
    flags: u32,
    model: u32,
    nu: f32,
    lambda: f32,
    noise: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> seg: ChainSegment;
// Per replica and site: the quenched rate omega_i.
@group(0) @binding(1) var<storage, read> quenched: array<f32>;
// Two halves of replicas x sites heights: step s reads half s % 2.
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
// Per replica and save time: (mean height, w^2).
@group(0) @binding(3) var<storage, read_write> rough: array<f32>;

// The drift of a site from its left neighbour, itself and its right neighbour.
fn drift(left: f32, x: f32, right: f32) -> f32 {
    let a = right - x;
    let b = x - left;
    if seg.model == MODEL_KPZ {
        return seg.nu * (a - b) + seg.lambda / 6.0 * (a * a + a * b + b * b);
    }
    if seg.model == MODEL_PHASE {
        return seg.nu * (sin(a) - sin(b) + seg.lambda * (2.0 - cos(a) - cos(b)));
    }
    return seg.nu * (a - b);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn chain(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let replica = replica_of(wid, nwg);
    if replica >= seg.replicas {
        return;
    }
    let l = seg.sites;
    let base = replica * l;
    let half = seg.replicas * l;
    let groups = (l + 3u) / 4u;
    if (seg.flags & FLAG_INIT) != 0u {
        // A flat start.
        for (var i = lid; i < l; i += WORKGROUP_SIZE) {
            h[base + i] = 0.0;
        }
        storageBarrier();
        workgroupBarrier();
    }
    let amplitude = sqrt(seg.noise * seg.dt);
    for (var step = 0u; step < seg.steps; step++) {
        let s = seg.first_step + step;
        let src = (s & 1u) * half + base;
        let dst = half - (s & 1u) * half + base;
        for (var g = lid; g < groups; g += WORKGROUP_SIZE) {
            let xi = box_muller4(philox4x32_10(vec4<u32>(replica, g, s, STREAM_CHAIN_NOISE), seg.key));
            for (var lane = 0u; lane < 4u; lane++) {
                if 4u * g + lane < l {
                    let i = 4u * g + lane;
                    let x = h[src + i];
                    let left = h[src + select(i - 1u, l - 1u, i == 0u)];
                    let right = h[src + select(i + 1u, 0u, i + 1u == l)];
                    let rate = drift(left, x, right) + quenched[base + i];
                    h[dst + i] = x + seg.dt * rate + amplitude * xi[lane];
                }
            }
        }
        storageBarrier();
        workgroupBarrier();
    }
    if (seg.flags & FLAG_SAVE) != 0u {
        let now = ((seg.first_step + seg.steps) & 1u) * half + base;
        var mine = 0.0;
        for (var i = lid; i < l; i += WORKGROUP_SIZE) {
            mine += h[now + i];
        }
        let mean = tree_sum(lid, vec2<f32>(mine, 0.0)).x / f32(l);
        var spread = 0.0;
        for (var i = lid; i < l; i += WORKGROUP_SIZE) {
            let d = h[now + i] - mean;
            spread += d * d;
        }
        let w2 = tree_sum(lid, vec2<f32>(spread, 0.0)).x / f32(l);
        if lid == 0u {
            let at = 2u * (replica * seg.saves + seg.slot);
            rough[at] = mean;
            rough[at + 1u] = w2;
        }
    }
}
