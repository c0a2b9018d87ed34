// `initial_count` for the kernels that never draw discrete initial counts (the spec accepts
// Poisson and binomial initial laws on the jump schemes only): it keeps their code free of the
// sampling loops of `count_laws.wgsl`.
fn initial_count(law: f32, a: Scalar, b: Scalar, i: u32, trajectory: vec2<u32>) -> Scalar {
    return Scalar(0.0);
}
