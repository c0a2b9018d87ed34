// Periodic 1-D lattices of L sites, one workgroup per replica, Euler-Maruyama:
//   dh_i = (f(h_{i-1}, h_i, h_{i+1}) + omega_i) dt + sqrt(D) dW_i,
// with omega_i quenched (columnar) disorder, fixed per replica and site, and f one of
//   MODEL_EW:    nu (h_{i+1} - 2 h_i + h_{i-1})                       (Edwards-Wilkinson)
//   MODEL_KPZ:   the same + (lambda / 6) (a^2 + a b + b^2), a = h_{i+1} - h_i, b = h_i - h_{i-1}
//                (Lam and Shin's discretisation of (lambda / 2) (dh/dx)^2)
//   MODEL_PHASE: nu sum over both neighbours j of [sin(h_j - h_i) + lambda (1 - cos(h_j - h_i))]
//                (phase oscillators; odd coupling at lambda = 0).
// A step reads the neighbours, so the chain is double-buffered: step s reads half s % 2 of `h`
// and writes the other, then the workgroup waits at a storage barrier. Sites are stored in
// groups of four (one vec4 of heights, one of quenched rates), a replica's last group padded:
// a group's step loads its heights, its two outer neighbours and its rates, and stores its
// new heights, once each; padding lanes stay zero and are never read as sites. At a save time the
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
// Per replica and group of four sites: the quenched rates omega_i (0 in the padding).
@group(0) @binding(1) var<storage, read> quenched: array<vec4<f32>>;
// Two halves of replicas x groups of heights: step s reads half s % 2.
@group(0) @binding(2) var<storage, read_write> h: array<vec4<f32>>;
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

// The height of site i of the replica whose groups start at `at`.
fn height(at: u32, i: u32) -> f32 {
    return h[at + i / 4u][i % 4u];
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
    let groups = (l + 3u) / 4u;
    let base = replica * groups;
    let half = seg.replicas * groups;
    if (seg.flags & FLAG_INIT) != 0u {
        // A flat start.
        for (var g = lid; g < groups; g += WORKGROUP_SIZE) {
            h[base + g] = vec4<f32>(0.0);
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
            let cur = h[src + g];
            let rates = quenched[base + g];
            // The neighbours outside the group: before its first site, and after its last
            // (site 0 past the end of the chain).
            let before = height(src, select(4u * g - 1u, l - 1u, g == 0u));
            let after = height(src, select(4u * g + 4u, 0u, 4u * g + 4u >= l));
            var next = cur;
            for (var lane = 0u; lane < 4u; lane++) {
                let i = 4u * g + lane;
                if i < l {
                    // (The clamped indices keep every unrolled copy's index in range.)
                    let left = select(before, cur[max(lane, 1u) - 1u], lane > 0u);
                    let right = select(after, cur[min(lane + 1u, 3u)], lane < 3u && i + 1u < l);
                    let rate = drift(left, cur[lane], right) + rates[lane];
                    next[lane] = cur[lane] + seg.dt * rate + amplitude * xi[lane];
                }
            }
            h[dst + g] = next;
        }
        storageBarrier();
        workgroupBarrier();
    }
    if (seg.flags & FLAG_SAVE) != 0u {
        let now = ((seg.first_step + seg.steps) & 1u) * half + base;
        var mine = 0.0;
        for (var i = lid; i < l; i += WORKGROUP_SIZE) {
            mine += height(now, i);
        }
        let mean = tree_sum(lid, vec2<f32>(mine, 0.0)).x / f32(l);
        var spread = 0.0;
        for (var i = lid; i < l; i += WORKGROUP_SIZE) {
            let d = height(now, i) - mean;
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
