//! Evaluates expressions on the device through their generated WGSL, at many points at once:
//! the check that code generation means what the CPU evaluator ([`crate::expr::Program`],
//! the twin) computes.

use super::context::GpuContext;
use crate::error::{Error, Result};
use crate::expr::{to_wgsl_bound, Node};
use crate::shader;

/// `values[e * points.len() + p]` = expression `e` at point `p`, where a point is the time and
/// the `dim` state components; `params` are the parameters.
///
/// # Errors
/// [`Error::Shader`] when the generated WGSL does not validate, or a device error.
pub fn evaluate(
    ctx: &GpuContext,
    exprs: &[Node],
    dim: usize,
    params: &[f32],
    points: &[(f32, Vec<f32>)],
) -> Result<Vec<f32>> {
    if points.iter().any(|(_, x)| x.len() != dim) || dim == 0 {
        return Err(Error::invalid(
            "points",
            dim,
            "every point needs `dim` state values",
        ));
    }
    let n = points.len();
    let stride = dim + 1;
    let mut wgsl = format!(
        "@group(0) @binding(0) var<storage, read> points: array<f32>;\n\
         @group(0) @binding(1) var<storage, read_write> values: array<f32>;\n\
         @group(0) @binding(2) var<storage, read> params_in: array<f32>;\n\
         var<private> params: array<f32, {np}>;\n",
        np = params.len().max(1)
    );
    for (e, node) in exprs.iter().enumerate() {
        let value = to_wgsl_bound(node, "e_", "    ");
        wgsl.push_str(&format!(
            "fn expression_{e}(t: f32, x: array<f32, {dim}>) -> f32 {{\n{}    return {};\n}}\n",
            value.lets, value.value
        ));
    }
    wgsl.push_str(&format!(
        "@compute @workgroup_size(64)\nfn expr_eval(@builtin(global_invocation_id) gid: vec3<u32>) {{\n\
         \x20   let p = gid.x;\n    if p >= {n}u {{ return; }}\n\
         \x20   for (var k = 0u; k < {np}u; k++) {{ params[k] = params_in[k]; }}\n\
         \x20   var x: array<f32, {dim}>;\n\
         \x20   for (var i = 0u; i < {dim}u; i++) {{ x[i] = points[p * {stride}u + 1u + i]; }}\n\
         \x20   let t = points[p * {stride}u];\n",
        np = params.len().max(1)
    ));
    for e in 0..exprs.len() {
        wgsl.push_str(&format!(
            "    values[{e}u * {n}u + p] = expression_{e}(t, x);\n"
        ));
    }
    wgsl.push_str("}\n");
    shader::validate("expr_eval", &wgsl, false)?;

    let flat: Vec<f32> = points
        .iter()
        .flat_map(|(t, x)| std::iter::once(*t).chain(x.iter().copied()))
        .collect();
    let params = if params.is_empty() {
        vec![0.0]
    } else {
        params.to_vec()
    };
    let point_buffer = ctx.storage_with(
        "points",
        bytemuck::cast_slice(&flat),
        wgpu::BufferUsages::empty(),
    );
    let param_buffer = ctx.storage_with(
        "params",
        bytemuck::cast_slice(&params),
        wgpu::BufferUsages::empty(),
    );
    let out_bytes = (4 * exprs.len() * n) as u64;
    let values = ctx.buffer(
        "values",
        out_bytes,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    );
    let pipeline = ctx.compute_pipeline("expr_eval", &wgsl, "expr_eval", None)?;
    let layout = pipeline.get_bind_group_layout(0);
    let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("expr_eval"),
        layout: &layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: point_buffer.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: values.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: param_buffer.as_entire_binding(),
            },
        ],
    });
    let staging = ctx.buffer(
        "staging",
        out_bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("expr_eval"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("expr_eval"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups((n as u32).div_ceil(64), 1, 1);
    }
    encoder.copy_buffer_to_buffer(&values, 0, &staging, 0, out_bytes);
    ctx.queue.submit([encoder.finish()]);
    Ok(bytemuck::pod_collect_to_vec(
        &ctx.read_back(&staging, out_bytes)?,
    ))
}
