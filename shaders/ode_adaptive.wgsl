// Adaptive Dormand-Prince 5(4) for ODE ensembles: one invocation per trajectory, each with its
// own step size, controlled on the embedded error estimate by a PI controller (Hairer, Norsett
// and Wanner, "Solving ODEs I", II.4: exponents 0.17 and 0.04, safety 0.9, factors in
// [0.2, 10]). A dispatch integrates toward `seg.t_target`, landing on it exactly (the last step
// is clamped), and stops after `seg.attempts` attempts so that no dispatch runs unbounded: the
// host dispatches again while `unfinished` counts trajectories short of the target. A
// trajectory that has made `seg.max_steps` attempts over the whole run stops where it is.
//
// `state_layout` (DIM, State, Scalar) and `model` (NPARAMS, drift) are supplied when the kernel
// is composed. The kernel is written over `Scalar`: f32, or f64 on adapters with SHADER_F64
// (the time, step, state and error in f64; the step-size controller's powers stay in f32, as
// f64 has no pow on the device and a step factor needs no more). CPU twin:
// crates/langevin/src/cpu/ode_adaptive.rs.
#import segment
#import state_layout
#import model
#import trajectory
#import no_count_laws
#import adaptive_kernel

const WORKGROUP_SIZE: u32 = 64u;

// Per trajectory, `clock`: time reached, next step size, previous accepted error, unused;
// `counts`: accepted and rejected steps, then unused words.

// Dormand-Prince coefficients (Dormand and Prince 1980).
const C2: Scalar = 0.2;
const C3: Scalar = 0.3;
const C4: Scalar = 0.8;
const C5: Scalar = 0.8888888888888888;
const A21: Scalar = 0.2;
const A31: Scalar = 0.075;
const A32: Scalar = 0.225;
const A41: Scalar = 0.9777777777777777;
const A42: Scalar = -3.7333333333333334;
const A43: Scalar = 3.5555555555555554;
const A51: Scalar = 2.9525986892242035;
const A52: Scalar = -11.595793324188385;
const A53: Scalar = 9.822892851699436;
const A54: Scalar = -0.2908093278463649;
const A61: Scalar = 2.8462752525252526;
const A62: Scalar = -10.757575757575758;
const A63: Scalar = 8.906422717743473;
const A64: Scalar = 0.2784090909090909;
const A65: Scalar = -0.2735313036020583;
const B1: Scalar = 0.09114583333333333;
const B3: Scalar = 0.44923629829290207;
const B4: Scalar = 0.6510416666666666;
const B5: Scalar = -0.322376179245283;
const B6: Scalar = 0.13095238095238096;
// b - b*, the embedded error weights.
const E1: Scalar = 0.0012326388888888888;
const E3: Scalar = -0.0042527702905061394;
const E4: Scalar = 0.03697916666666667;
const E5: Scalar = -0.05086379716981132;
const E6: Scalar = 0.0419047619047619;
const E7: Scalar = -0.025;

struct Attempt {
    y: State,
    k7: State,
    err: Scalar,
}

// One Dormand-Prince step of size h from (t, x) with k1 = f(t, x): the fifth-order solution,
// its derivative (the next step's k1) and the RMS of the error scaled by atol + rtol |x|.
fn dopri5_attempt(t: Scalar, h: Scalar, x: State, k1: State) -> Attempt {
    var z: State;
    for (var i = 0u; i < DIM; i++) {
        z[i] = x[i] + h * A21 * k1[i];
    }
    let k2 = drift(t + C2 * h, z);
    for (var i = 0u; i < DIM; i++) {
        z[i] = x[i] + h * (A31 * k1[i] + A32 * k2[i]);
    }
    let k3 = drift(t + C3 * h, z);
    for (var i = 0u; i < DIM; i++) {
        z[i] = x[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
    }
    let k4 = drift(t + C4 * h, z);
    for (var i = 0u; i < DIM; i++) {
        z[i] = x[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
    }
    let k5 = drift(t + C5 * h, z);
    for (var i = 0u; i < DIM; i++) {
        z[i] = x[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i]);
    }
    let k6 = drift(t + h, z);
    var a: Attempt;
    for (var i = 0u; i < DIM; i++) {
        a.y[i] = x[i] + h * (B1 * k1[i] + B3 * k3[i] + B4 * k4[i] + B5 * k5[i] + B6 * k6[i]);
    }
    a.k7 = drift(t + h, a.y);
    let atol = Scalar(seg.atol);
    let rtol = Scalar(seg.rtol);
    var sum = Scalar(0.0);
    for (var i = 0u; i < DIM; i++) {
        let e = h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * a.k7[i]);
        let scale = atol + rtol * max(abs(x[i]), abs(a.y[i]));
        sum += (e / scale) * (e / scale);
    }
    a.err = sqrt(sum / Scalar(DIM));
    return a;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn ode_adaptive(
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
    let t_target = Scalar(seg.t_target) + Scalar(seg.t_target_lo);
    var x: State;
    var t: Scalar;
    var h: Scalar;
    var err_prev: f32;
    var accepted: u32;
    var rejected: u32;
    if (seg.flags & FLAG_INIT) != 0u {
        x = initial_state(trajectory);
        t = Scalar(seg.t_start) + Scalar(seg.t_start_lo);
        h = Scalar(seg.h_init);
        err_prev = 1e-4;
        accepted = 0u;
        rejected = 0u;
    } else {
        for (var i = 0u; i < DIM; i++) {
            x[i] = state[local_index * DIM + i];
        }
        t = clock[4u * local_index];
        h = clock[4u * local_index + 1u];
        err_prev = f32(clock[4u * local_index + 2u]);
        accepted = counts[4u * local_index];
        rejected = counts[4u * local_index + 1u];
    }
    var k1 = drift(t, x);
    for (var n = 0u; n < seg.attempts; n++) {
        if t >= t_target || accepted + rejected >= seg.max_steps {
            break;
        }
        let remaining = t_target - t;
        let clamped = h >= remaining;
        let hs = select(h, remaining, clamped);
        let a = dopri5_attempt(t, hs, x, k1);
        // Accepted on the error in Scalar; the controller's factors from it in f32 (the
        // identity for f32 kernels), where an error past f32's range (or not a number) gives
        // the largest shrink, as infinity would.
        let err = f32(min(a.err, Scalar(1e30)));
        if a.err <= Scalar(1.0) {
            t = select(t + hs, t_target, clamped);
            x = a.y;
            k1 = a.k7;
            accepted++;
            let e = max(err, 1e-10);
            let factor = clamp(0.9 * pow(e, -0.17) * pow(err_prev, 0.04), 0.2, 10.0);
            err_prev = max(err, 1e-4);
            // A step cut short to land on the target does not shrink the next one.
            h = select(hs * Scalar(factor), max(hs * Scalar(factor), h), clamped);
        } else {
            rejected++;
            // A non-finite error (the state left the representable range) shrinks the step
            // as far as one rejection may.
            let shrink = select(0.2, max(0.2, 0.9 * pow(err, -0.2)), err == err);
            h = hs * Scalar(shrink);
        }
    }
    for (var i = 0u; i < DIM; i++) {
        state[local_index * DIM + i] = x[i];
    }
    clock[4u * local_index] = t;
    clock[4u * local_index + 1u] = h;
    clock[4u * local_index + 2u] = Scalar(err_prev);
    counts[4u * local_index] = accepted;
    counts[4u * local_index + 1u] = rejected;
    if t < t_target && accepted + rejected < seg.max_steps {
        atomicAdd(&unfinished, 1u);
    }
}
