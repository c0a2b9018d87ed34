// Tau-leaping for reaction networks with the step selection of Cao, Gillespie and Petzold
// ("Efficient step size selection for the tau-leaping simulation method", J. Chem. Phys. 124,
// 044109, 2006): one invocation per trajectory. Reactions that could exhaust a reactant within
// N_CRITICAL firings are critical and fire one at a time, at the exponential time of their
// total propensity; the others fire Poisson(a_j tau) times over a leap whose length keeps the
// expected relative change of every propensity near eps = seg.rtol. When that leap would be
// shorter than a few SSA steps, SSA_RUN exact steps are taken instead, and a leap that would
// make a count negative is rejected and retried at half its length: counts never go negative.
//
// Randomness is keyed by the trajectory's step counter s (every leap attempt and every SSA
// step counts): Philox counter (trajectory, s, w) with w = 24 for the critical draws, 25 for
// an SSA step, 32 + j + 32 m for reaction j's Poisson draws. Times are integer ticks as in
// `ssa`, and a leap that reaches the target lands on it exactly.
//
// `state_layout`, `model` and `reactions` are supplied when the kernel is composed. CPU twin:
// crates/langevin/src/cpu/tau_leap.rs.
#import segment
#import state_layout
#import model
#import trajectory
#import count_laws
#import adaptive_kernel
#import reactions
#import poisson
#import jump_clock

// Per trajectory, `clock`: the time reached, the SSA steps left to take, the leap cap after a
// rejection (0: none), and 1 when no reaction can fire at the time reached (absorbed), else 0;
// `counts`: steps (leaps, rejected leaps and SSA steps), 1 once a
// propensity expression has been negative (taken as zero), the tick reached (low, high).

const WORKGROUP_SIZE: u32 = 64u;
const WORD_CRITICAL: u32 = 24u;
const WORD_SSA: u32 = 25u;
const WORD_POISSON: u32 = 32u;
const N_CRITICAL: f32 = 10.0;
const SSA_THRESHOLD: f32 = 10.0;
const SSA_RUN: f32 = 100.0;
// Time from tick t to the target.
fn remaining(t: vec2<u32>) -> f32 {
    let b = target_tick();
    let borrow = select(0u, 1u, b.x < t.x);
    return (f32(b.y - t.y - borrow) * 4294967296.0 + f32(b.x - t.x)) / seg.tick_rate;
}


// CGP's g_i for species i at count x.
fn g_factor(i: u32, x: f32) -> f32 {
    let order = HIGHEST_ORDER[i];
    let takes = ORDER_TAKES[i];
    let x1 = 1.0 / max(x - 1.0, 1.0);
    let x2 = 2.0 / max(x - 2.0, 1.0);
    if order == 1u {
        return 1.0;
    }
    if order == 2u {
        return select(2.0, 2.0 + x1, takes == 2u);
    }
    if order == 3u {
        if takes == 3u {
            return 3.0 + x1 + x2;
        }
        return select(3.0, 1.5 * (2.0 + x1), takes == 2u);
    }
    return f32(order);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn tau_leap(
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
    var x: State;
    var t: vec2<u32>;
    var steps: u32;
    var negative: bool;
    var ssa_left: f32;
    var cap: f32;
    if (seg.flags & FLAG_INIT) != 0u {
        x = initial_state(trajectory);
        t = vec2<u32>(0u, 0u);
        steps = 0u;
        negative = false;
        ssa_left = 0.0;
        cap = 0.0;
    } else {
        for (var i = 0u; i < DIM; i++) {
            x[i] = state[local_index * DIM + i];
        }
        ssa_left = clock[4u * local_index + 1u];
        cap = clock[4u * local_index + 2u];
        steps = counts[4u * local_index];
        negative = counts[4u * local_index + 1u] != 0u;
        t = vec2<u32>(counts[4u * local_index + 2u], counts[4u * local_index + 3u]);
    }
    for (var n = 0u; n < seg.attempts; n++) {
        if !before(t, target_tick()) || steps >= seg.max_steps {
            break;
        }
        let p = propensities(time_of(t), x);
        negative = negative || p.negative;
        let a0 = total(p.a);
        if a0 <= 0.0 {
            t = target_tick();
            break;
        }
        let rest = remaining(t);
        if ssa_left > 0.0 {
            let w = philox4x32_10(vec4<u32>(trajectory.x, trajectory.y, steps, WORD_SSA), seg.key);
            let wait = -log(uniform_open01(w.x)) / a0;
            steps++;
            if wait >= rest {
                // No event before the target; waits are memoryless.
                t = target_tick();
                ssa_left = 0.0;
                continue;
            }
            let j = choose(p.a, uniform_open01(w.y) * a0);
            for (var i = 0u; i < DIM; i++) {
                x[i] += CHANGE[j * DIM + i];
            }
            t = add_ticks(t, ticks_of(wait));
            ssa_left -= 1.0;
            continue;
        }
        // Critical reactions: fewer than N_CRITICAL firings from exhausting a reactant.
        var critical: array<bool, REACTIONS>;
        var a0c = 0.0;
        for (var j = 0u; j < REACTIONS; j++) {
            var firings = 1e30;
            for (var i = 0u; i < DIM; i++) {
                let c = CHANGE[j * DIM + i];
                if c < 0.0 && HIGHEST_ORDER[i] > 0u {
                    firings = min(firings, floor(x[i] / -c));
                }
            }
            critical[j] = p.a[j] > 0.0 && firings < N_CRITICAL;
            a0c += select(0.0, p.a[j], critical[j]);
        }
        // CGP's bound on the leap from the non-critical reactions.
        var tau1 = 1e30;
        for (var i = 0u; i < DIM; i++) {
            var mu = 0.0;
            var s2 = 0.0;
            var reactant = false;
            for (var j = 0u; j < REACTIONS; j++) {
                if !critical[j] {
                    let c = CHANGE[j * DIM + i];
                    mu += c * p.a[j];
                    s2 += c * c * p.a[j];
                    reactant = reactant || c < 0.0;
                }
            }
            if reactant && HIGHEST_ORDER[i] > 0u {
                let bound = max(seg.rtol * x[i] / g_factor(i, x[i]), 1.0);
                tau1 = min(tau1, min(bound / max(abs(mu), 1e-30), bound * bound / max(s2, 1e-30)));
            }
        }
        if cap > 0.0 {
            tau1 = min(tau1, cap);
        }
        if tau1 < SSA_THRESHOLD / a0 {
            ssa_left = SSA_RUN;
            continue;
        }
        let w = philox4x32_10(vec4<u32>(trajectory.x, trajectory.y, steps, WORD_CRITICAL), seg.key);
        let tau2 = select(1e30, -log(uniform_open01(w.x)) / a0c, a0c > 0.0);
        var tau = min(tau1, rest);
        let fire = tau2 < tau;
        tau = select(tau, tau2, fire);
        var y = x;
        for (var j = 0u; j < REACTIONS; j++) {
            if !critical[j] && p.a[j] > 0.0 {
                let k = poisson(seg.key, trajectory, steps, WORD_POISSON + j, p.a[j] * tau);
                for (var i = 0u; i < DIM; i++) {
                    y[i] += k * CHANGE[j * DIM + i];
                }
            }
        }
        if fire {
            var ac: Rates;
            for (var j = 0u; j < REACTIONS; j++) {
                ac[j] = select(0.0, p.a[j], critical[j]);
            }
            let j = choose(ac, uniform_open01(w.y) * a0c);
            for (var i = 0u; i < DIM; i++) {
                y[i] += CHANGE[j * DIM + i];
            }
        }
        steps++;
        var ok = true;
        for (var i = 0u; i < DIM; i++) {
            ok = ok && (y[i] >= 0.0 || HIGHEST_ORDER[i] == 0u);
        }
        if !ok {
            cap = 0.5 * tau;
            continue;
        }
        x = y;
        cap = 0.0;
        t = select(add_ticks(t, ticks_of(tau)), target_tick(), !fire && tau1 >= rest);
    }
    for (var i = 0u; i < DIM; i++) {
        state[local_index * DIM + i] = x[i];
    }
    let done = !before(t, target_tick());
    clock[4u * local_index] = select(time_of(t), seg.t_target, done);
    clock[4u * local_index + 1u] = ssa_left;
    clock[4u * local_index + 2u] = cap;
    clock[4u * local_index + 3u] = select(0.0, 1.0, total(propensities(time_of(t), x).a) <= 0.0);
    counts[4u * local_index] = steps;
    counts[4u * local_index + 1u] = select(0u, 1u, negative);
    counts[4u * local_index + 2u] = t.x;
    counts[4u * local_index + 3u] = t.y;
    if !done && steps < seg.max_steps {
        atomicAdd(&unfinished, 1u);
    }
}
