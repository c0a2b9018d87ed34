// Kuramoto oscillators with phase noise, one workgroup per replica of N oscillators:
//   d theta_i = (omega_i + K r sin(psi - theta_i)) dt + sqrt(2 D) dW_i,   r e^{i psi} = <e^{i theta}>.
// Each step updates every oscillator by Euler-Maruyama from the replica's sums of cos and sin,
// and sums the new phases' cos and sin on the way (per invocation, then by a tree in
// workgroup memory): the whole replica lives in one workgroup, so a dispatch runs `seg.steps`
// steps with barriers and no round trip to the host. An invocation owns the oscillators of
// groups lid, lid + WORKGROUP_SIZE, ... of four: it alone reads and writes them, so the phases
// need no storage barrier. Each phase's (cos, sin) is kept beside it in `trig`, computed once
// per step. Phases stay in (-pi, pi] so that f32 keeps their resolution over long runs.
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
// Per replica and oscillator: the natural frequency.
@group(0) @binding(2) var<storage, read> omega: array<f32>;
// Per replica and oscillator: the phase.
@group(0) @binding(3) var<storage, read_write> theta: array<f32>;
// Per replica and oscillator: (cos, sin) of the phase.
@group(0) @binding(4) var<storage, read_write> trig: array<vec2<f32>>;
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
    let base = replica * n;
    let groups = (n + 3u) / 4u;
    if (seg.flags & FLAG_INIT) != 0u {
        for (var g = lid; g < groups; g += WORKGROUP_SIZE) {
            let w = philox4x32_10(vec4<u32>(replica, g, 0u, STREAM_PHASE_INIT), seg.key);
            for (var lane = 0u; lane < 4u; lane++) {
                if 4u * g + lane < n {
                    let th = 3.14159265 * (2.0 * uniform_open01(w[lane]) - 1.0);
                    theta[base + 4u * g + lane] = th;
                    trig[base + 4u * g + lane] = vec2<f32>(cos(th), sin(th));
                }
            }
        }
    }
    var mine = vec2<f32>(0.0);
    for (var g = lid; g < groups; g += WORKGROUP_SIZE) {
        for (var lane = 0u; lane < 4u; lane++) {
            if 4u * g + lane < n {
                mine += trig[base + 4u * g + lane];
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
            for (var lane = 0u; lane < 4u; lane++) {
                if 4u * g + lane < n {
                    let i = base + 4u * g + lane;
                    let cs = trig[i];
                    // K r sin(psi - theta) = (K / N) (S cos theta - C sin theta).
                    let pull = k_over_n * (sums.y * cs.x - sums.x * cs.y);
                    let th = wrap(theta[i] + seg.dt * (omega[i] + pull) + amplitude * xi[lane]);
                    let next = vec2<f32>(cos(th), sin(th));
                    theta[i] = th;
                    trig[i] = next;
                    mine += next;
                }
            }
        }
        sums = tree_sum(lid, mine);
    }
    if (seg.flags & FLAG_SAVE) != 0u && lid == 0u {
        let at = 2u * (replica * seg.saves + seg.slot);
        order[at] = sums.x / f32(n);
        order[at + 1u] = sums.y / f32(n);
    }
}
