// Initial counts drawn from a discrete law, for the kernels of reaction networks (`ssa`,
// `tau_leap`): Poisson by the sampler of `poisson.wgsl`, binomial by counting successful
// trials, a table by searching its cumulative probabilities (after the three arrays of `init`)
// for the component's uniform. `trajectory.wgsl` calls `initial_count` for these laws. The other kernels import
// `no_count_laws`, so that their code carries none of these loops.
// CPU twin: `initial_count` in crates/langevin/src/cpu/trajectory.rs.
#import poisson

// Philox counter word 3 of a binomial initial count's trials, four a block:
// (trajectory, 1024 component + block, STREAM_INITIAL_TRIALS).
const STREAM_INITIAL_TRIALS: u32 = 4u;
// Counter word 2 of a Poisson initial count's draws is this plus the component, (trajectory,
// POISSON_INITIAL + i, 5 + 32 m): beyond any leap index of `tau_leap`, whose Poisson draws
// share words 32 and up (its leaps are fewer than 2^31).
const POISSON_INITIAL: u32 = 0xfffffff0u;
const WORD_POISSON_INITIAL: u32 = 5u;

fn initial_count(law: f32, a: Scalar, b: Scalar, i: u32, trajectory: vec2<u32>) -> Scalar {
    if law == LAW_POISSON {
        let mean = f32(a);
        return Scalar(poisson(seg.key, trajectory, POISSON_INITIAL + i, WORD_POISSON_INITIAL, mean));
    }
    if law == LAW_TABLE {
        let u = component_uniform(trajectory, i);
        let first = u32(a);
        let len = u32(b);
        var k = 0u;
        while k + 1u < len && u >= init[first + k] {
            k++;
        }
        return Scalar(k);
    }
    let trials = u32(a);
    let p = f32(b);
    var successes = 0u;
    for (var k = 0u; k < trials; k++) {
        let ctr = vec4<u32>(trajectory.x, trajectory.y, 1024u * i + (k >> 2u), STREAM_INITIAL_TRIALS);
        if uniform_open01(philox4x32_10(ctr, seg.key)[k & 3u]) < p {
            successes += 1u;
        }
    }
    return Scalar(successes);
}
