// Kuramoto oscillators with phase noise, one workgroup per replica of N oscillators:
//   d theta_i = (omega_i + K r sin(psi - theta_i)) dt + sqrt(2 D) dW_i,   r e^{i psi} = <e^{i theta}>.
// Each step updates every oscillator by Euler-Maruyama from the replica's sums of cos and sin,
// and sums the new phases' cos and sin on the way (per invocation, then by a tree in
// workgroup memory): the whole replica lives in one workgroup, so a dispatch runs `seg.steps`
// steps with barriers and no round trip to the host. An invocation owns the oscillators of
// groups lid, lid + WORKGROUP_SIZE, ... of four: it alone reads and writes them, so the phases
// need no storage barrier. A group is stored as vectors of four (its phases, frequencies,
// cosines and sines), so that each is one load and one store a step; a replica's last group is
// padded, and its padding lanes are stepped but never summed. The cosines and sines of the
// phases are kept, computed once per step. Phases stay in (-pi, pi] so that f32 keeps their
// resolution over long runs.
//
// Randomness: Philox counter (replica, group of 4 oscillators, step, STREAM_PHASE_NOISE) gives
// the four oscillators of a group their normals for that step; the initial phases are uniform,
// from counter (replica, group, 0, STREAM_PHASE_INIT). CPU twin:
// crates/langevin/src/cpu/kuramoto.rs (same loops, same order of sums).
#import normal
#import replica

const STREAM_PHASE_NOISE: u32 = 40u;
const STREAM_PHASE_INIT: u32 = 41u;
const TWO_PI: f32 = 6.2831853;

// Keep in sync with `KuramotoSegment` in crates/langevin/src/interacting/kuramoto.rs.
struct KuramotoSegment {
    key: vec2<u32>,
    oscillators: u32,
    replicas: u32,
    first_step: u32,
    steps: u32,
    slot: u32,
    saves: u32,
    dt: f32,
    flags: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> seg: KuramotoSegment;
// Per replica: coupling K and noise strength D.
@group(0) @binding(1) var<storage, read> coupling: array<f32>;
// Per replica and group of four oscillators: the natural frequencies (0 in the padding).
@group(0) @binding(2) var<storage, read> omega: array<vec4<f32>>;
// Per replica and group: the phases.
@group(0) @binding(3) var<storage, read_write> theta: array<vec4<f32>>;
// Per replica and group: the cosines of the phases, then their sines (2 entries a group).
@group(0) @binding(4) var<storage, read_write> trig: array<vec4<f32>>;
// Per replica and save time: (r cos psi, r sin psi).
@group(0) @binding(5) var<storage, read_write> order: array<f32>;

// The phase in (-pi, pi].
fn wrap(th: f32) -> f32 {
    return th - TWO_PI * round(th / TWO_PI);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn kuramoto(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let replica = replica_of(wid, nwg);
    // Uniform across the workgroup: the whole group leaves together, barriers stay uniform.
    if replica >= seg.replicas {
        return;
    }
    let n = seg.oscillators;
    let groups = (n + 3u) / 4u;
    let base = replica * groups;
    if (seg.flags & FLAG_INIT) != 0u {
        for (var g = lid; g < groups; g += WORKGROUP_SIZE) {
            let w = philox4x32_10(vec4<u32>(replica, g, 0u, STREAM_PHASE_INIT), seg.key);
            var th = vec4<f32>(0.0);
            for (var lane = 0u; lane < 4u; lane++) {
                th[lane] = 3.14159265 * (2.0 * uniform_open01(w[lane]) - 1.0);
            }
            theta[base + g] = th;
            trig[2u * (base + g)] = cos(th);
            trig[2u * (base + g) + 1u] = sin(th);
        }
    }
    var mine = vec2<f32>(0.0);
    for (var g = lid; g < groups; g += WORKGROUP_SIZE) {
        let c = trig[2u * (base + g)];
        let sn = trig[2u * (base + g) + 1u];
        for (var lane = 0u; lane < 4u; lane++) {
            if 4u * g + lane < n {
                mine += vec2<f32>(c[lane], sn[lane]);
            }
        }
    }
    var sums = tree_sum(lid, mine);
    let k_over_n = coupling[2u * replica] / f32(n);
    let amplitude = sqrt(2.0 * coupling[2u * replica + 1u] * seg.dt);
    for (var step = 0u; step < seg.steps; step++) {
        let s = seg.first_step + step;
        mine = vec2<f32>(0.0);
        for (var g = lid; g < groups; g += WORKGROUP_SIZE) {
            var xi = vec4<f32>(0.0);
            if amplitude > 0.0 {
                xi = box_muller4(philox4x32_10(vec4<u32>(replica, g, s, STREAM_PHASE_NOISE), seg.key));
            }
            let i = base + g;
            let om = omega[i];
            var th = theta[i];
            var c = trig[2u * i];
            var sn = trig[2u * i + 1u];
            for (var lane = 0u; lane < 4u; lane++) {
                // K r sin(psi - theta) = (K / N) (S cos theta - C sin theta).
                let pull = k_over_n * (sums.y * c[lane] - sums.x * sn[lane]);
                th[lane] = wrap(th[lane] + seg.dt * (om[lane] + pull) + amplitude * xi[lane]);
                c[lane] = cos(th[lane]);
                sn[lane] = sin(th[lane]);
                if 4u * g + lane < n {
                    mine += vec2<f32>(c[lane], sn[lane]);
                }
            }
            theta[i] = th;
            trig[2u * i] = c;
            trig[2u * i + 1u] = sn;
        }
        sums = tree_sum(lid, mine);
    }
    if (seg.flags & FLAG_SAVE) != 0u && lid == 0u {
        let at = 2u * (replica * seg.saves + seg.slot);
        order[at] = sums.x / f32(n);
        order[at + 1u] = sums.y / f32(n);
    }
}
