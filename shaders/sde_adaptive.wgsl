// Adaptive stochastic Heun and SRA1 on a virtual Brownian tree: one invocation per trajectory,
// each with its own step size. Times live on the tree's leaves (2^depth of them over
// [t_start, t_start + span]); a step over leaves [pos, pos + m) takes its increment and
// space-time Levy area from the tree, so a rejected step asks again for a shorter piece of the
// same path. The error estimate is the difference from the Euler-Maruyama step on the same
// increment (the embedded lower-order method), scaled by atol + rtol |x|, and a PI controller
// sets the next step (exponents 0.4 / q and 0.1 / q for the scheme's strong order q, safety
// 0.9, factors in [0.2, 10]). A step of a single leaf, the tree's resolution, is taken
// whatever its error. A dispatch integrates toward `seg.target_leaf`, landing on it exactly,
// and stops after `seg.attempts` attempts; the host dispatches again while `unfinished`
// counts trajectories short of it. A trajectory that has made `seg.max_steps` attempts over
// the whole run stops where it is.
//
// `state_layout`, `model` and `scheme` (scheme_step and STRONG_ORDER of heun or sra1) are
// supplied when the kernel is composed. CPU twin: crates/langevin/src/cpu/sde_adaptive.rs.
#import segment
#import state_layout
#import model
#import scheme
#import trajectory
#import no_count_laws
#import brownian_tree
#import adaptive_kernel

const WORKGROUP_SIZE: u32 = 64u;

// Per trajectory, `clock`: time reached, next step in leaves, previous accepted error, leaf
// reached (exact in f32: trees have at most 2^24 leaves); `counts`: accepted and rejected
// steps, then unused words.

struct Attempt {
    y: State,
    err: f32,
}

// One step over leaves [first, end) from (t, x): the scheme's solution and the RMS of its
// scaled difference from Euler-Maruyama on the same increment.
fn sde_attempt(tree: BrownianTree, t: f32, first: u32, end: u32, x: State) -> Attempt {
    let piece = tree_increment(tree, first, end);
    let h = piece.len;
    var dw: Noise;
    var chi: Noise;
    for (var i = 0u; i < NOISE; i++) {
        dw[i] = piece.w[i];
        chi[i] = piece.k[i] / h;
    }
    var a: Attempt;
    a.y = scheme_step(t, h, x, dw, chi);
    let f0 = drift(t, x);
    let g = noise_apply(t, x, dw);
    var sum = 0.0;
    for (var i = 0u; i < DIM; i++) {
        let e = a.y[i] - (x[i] + h * f0[i] + g[i]);
        let scale = seg.atol + seg.rtol * max(abs(x[i]), abs(a.y[i]));
        sum += (e / scale) * (e / scale);
    }
    a.err = sqrt(sum / f32(DIM));
    return a;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sde_adaptive(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let local_index = grid_index(wid, nwg, lid, WORKGROUP_SIZE);
    if local_index >= seg.trajectories {
        return;
    }
    let trajectory = add_index(seg.first_trajectory, local_index);
    load_params(trajectory);
    let tree = BrownianTree(seg.key, trajectory, seg.span, seg.depth);
    let leaf = seg.span / f32(1u << seg.depth);
    var x: State;
    var pos: u32;
    var h: f32;
    var err_prev: f32;
    var accepted: u32;
    var rejected: u32;
    if (seg.flags & FLAG_INIT) != 0u {
        x = initial_state(trajectory);
        pos = 0u;
        h = seg.h_init;
        err_prev = 1e-4;
        accepted = 0u;
        rejected = 0u;
    } else {
        for (var i = 0u; i < DIM; i++) {
            x[i] = state[local_index * DIM + i];
        }
        h = clock[4u * local_index + 1u];
        err_prev = clock[4u * local_index + 2u];
        pos = u32(clock[4u * local_index + 3u]);
        accepted = counts[4u * local_index];
        rejected = counts[4u * local_index + 1u];
    }
    for (var n = 0u; n < seg.attempts; n++) {
        if pos >= seg.target_leaf || accepted + rejected >= seg.max_steps {
            break;
        }
        let remaining = seg.target_leaf - pos;
        let m = u32(clamp(h, 1.0, f32(seg.max_leaves)));
        let clamped = m >= remaining;
        let ms = select(m, remaining, clamped);
        let a = sde_attempt(tree, seg.t_start + f32(pos) * leaf, pos, pos + ms, x);
        if a.err <= 1.0 || ms == 1u {
            pos += ms;
            x = a.y;
            accepted++;
            let e = max(a.err, 1e-10);
            let factor = clamp(
                0.9 * pow(e, -0.4 / STRONG_ORDER) * pow(err_prev, 0.1 / STRONG_ORDER), 0.2, 10.0);
            err_prev = max(a.err, 1e-4);
            // A step cut short to land on the target does not shrink the next one.
            h = select(f32(ms) * factor, max(f32(ms) * factor, h), clamped);
        } else {
            rejected++;
            // A non-finite error shrinks the step as far as one rejection may.
            let shrink = select(
                0.2, max(0.2, 0.9 * pow(a.err, -1.0 / STRONG_ORDER)), a.err == a.err);
            h = f32(ms) * shrink;
        }
    }
    for (var i = 0u; i < DIM; i++) {
        state[local_index * DIM + i] = x[i];
    }
    clock[4u * local_index] = select(seg.t_start + f32(pos) * leaf, seg.t_target,
                                     pos == seg.target_leaf);
    clock[4u * local_index + 1u] = h;
    clock[4u * local_index + 2u] = err_prev;
    clock[4u * local_index + 3u] = f32(pos);
    counts[4u * local_index] = accepted;
    counts[4u * local_index + 1u] = rejected;
    if pos < seg.target_leaf && accepted + rejected < seg.max_steps {
        atomicAdd(&unfinished, 1u);
    }
}
