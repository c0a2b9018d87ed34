// The Vicsek model: N self-propelled particles of speed v0 in a periodic box of side L, each
// step taking the mean heading of the particles within distance r (itself included) plus a
// uniform angle in [-eta/2, eta/2], then moving along the new heading (the "forward" update
// of Vicsek et al. 1995 as used by Chate et al. 2008):
//   theta_i(t + dt) = arg( sum_{|x_j - x_i| < r} e^{i theta_j(t)} ) + eta (U - 1/2),
//   x_i(t + dt)     = x_i(t) + v0 dt e^{i theta_i(t + dt)}    (mod L).
// Many replicas (each its own eta) run side by side: particle p of replica q is entry
// q N + p of the particle buffers, and cell c of replica q is entry q M + c, M = m^2 cells of
// side L / m >= r, so that the neighbours of a particle lie in its cell and the eight around.
//
// A step is a pipeline of dispatches over particles or cells, queued back to back with no
// round trip to the host (the step index lives on the device in `clock`):
//   vicsek_clear   (cells)      empty the cell counts; advance the clock
//   vicsek_bin     (particles)  the particle's cell, and its arrival slot there (an atomic)
//   vicsek_alloc   (cells)      a range of `sorted` for each cell (an atomic running total)
//   vicsek_scatter (particles)  the particle's index into its cell's range
//   vicsek_sort    (cells)      each cell's range sorted by particle index
//   vicsek_align   (particles)  the neighbour sum over 3 x 3 cells, the new heading, the move
// and at save times vicsek_order (blocks of particles) writes partial sums of e^{i theta}.
// Atomics decide where each cell's range lies and the arrival order within it; the sort
// undoes the latter, so every particle sums its neighbours in a fixed order (cells row by
// row, then particle index) and the run is the same to the bit whatever the scheduling.
// The state is double-buffered: `state` is read and `next` written, and the host swaps the
// two bind groups every step.
//
// Randomness: Philox counter (replica, particle, step, STREAM_VICSEK_NOISE), word 0, gives the
// angular noise; (replica, particle, 0, STREAM_VICSEK_INIT) the uniform initial position and
// heading. CPU twin: crates/langevin/src/cpu/vicsek.rs (the same kernels, by name).
#import normal
#import replica

const STREAM_VICSEK_NOISE: u32 = 47u;
const STREAM_VICSEK_INIT: u32 = 48u;
// Particles per workgroup of vicsek_order: each invocation sums ORDER_BLOCK / WORKGROUP_SIZE.
const ORDER_BLOCK: u32 = 1024u;

// Keep in sync with `VicsekParams` in crates/langevin/src/interacting/uniforms.rs.
struct VicsekParams {
    key: vec2<u32>,
    particles: u32,
    replicas: u32,
    cells_per_side: u32,
    box_len: f32,
    inv_cell_len: f32,
    radius2: f32,
    step_len: f32,
    // Loop iterations one invocation may run (a driver that leaves loops after that many, as
    // llvmpipe does at 65,535), 0 for no bound: a kernel whose cells would need more records
    // the cost in `clock.overrun` and does nothing, so the host refuses the run instead of
    // taking a step cut short.
    loop_budget: u32,
    pad1: u32,
    pad2: u32,
}

// The step being taken, the next one, the running total of vicsek_alloc, and the largest
// loop cost past `loop_budget` that a kernel met (0 while none did).
struct Clock {
    step: u32,
    next: u32,
    filled: atomic<u32>,
    overrun: atomic<u32>,
}

// Whether `cost` loop iterations fit the budget; if not, records them in `clock.overrun`.
fn within_budget(cost: u32) -> bool {
    if params.loop_budget == 0u || cost <= params.loop_budget {
        return true;
    }
    atomicMax(&clock.overrun, cost);
    return false;
}

@group(0) @binding(0) var<uniform> params: VicsekParams;
// Per replica: the noise amplitude eta.
@group(0) @binding(1) var<storage, read_write> eta: array<f32>;
@group(0) @binding(2) var<storage, read_write> clock: Clock;
// Per particle: (x, y, cos theta, sin theta), read this step and written for the next.
@group(0) @binding(3) var<storage, read_write> state: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> next: array<vec4<f32>>;
// Per cell: (particles in it, first entry of its range in `sorted`).
@group(0) @binding(5) var<storage, read_write> cells: array<atomic<u32>>;
// Per particle: (cell, arrival slot in it, neighbours counted at the last step, unused).
@group(0) @binding(6) var<storage, read_write> binned: array<vec4<u32>>;
// Particle indices grouped by cell.
@group(0) @binding(7) var<storage, read_write> sorted: array<u32>;
// Per replica and block of ORDER_BLOCK particles: (sum cos theta, sum sin theta).
@group(0) @binding(8) var<storage, read_write> partials: array<vec2<f32>>;

// The global invocation index of a 1-D range laid out in up to two dimensions of workgroups.
fn flat_index(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

fn total_particles() -> u32 {
    return params.particles * params.replicas;
}

fn total_cells() -> u32 {
    return params.cells_per_side * params.cells_per_side * params.replicas;
}

// The cell of a coordinate in [0, L) along one axis.
fn cell_coord(x: f32) -> u32 {
    return min(u32(x * params.inv_cell_len), params.cells_per_side - 1u);
}

// A coordinate moved back into [0, L).
fn wrap_box(x: f32) -> f32 {
    var w = x - params.box_len * floor(x / params.box_len);
    if w >= params.box_len {
        w = 0.0;
    }
    return w;
}

// The shortest periodic image of a separation along one axis.
fn min_image(d: f32) -> f32 {
    let half = 0.5 * params.box_len;
    return select(select(d, d + params.box_len, d < -half), d - params.box_len, d > half);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vicsek_init(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index(lid, wid, nwg);
    if i >= total_particles() {
        return;
    }
    let replica = i / params.particles;
    let p = i % params.particles;
    let w = philox4x32_10(vec4<u32>(replica, p, 0u, STREAM_VICSEK_INIT), params.key);
    let th = 3.14159265 * (2.0 * uniform_open01(w.z) - 1.0);
    state[i] = vec4<f32>(
        wrap_box(params.box_len * uniform_open01(w.x)),
        wrap_box(params.box_len * uniform_open01(w.y)),
        cos(th),
        sin(th),
    );
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vicsek_clear(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let c = flat_index(lid, wid, nwg);
    if c == 0u {
        clock.step = clock.next;
        clock.next = clock.next + 1u;
        atomicStore(&clock.filled, 0u);
    }
    if c < total_cells() {
        atomicStore(&cells[2u * c], 0u);
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vicsek_bin(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index(lid, wid, nwg);
    if i >= total_particles() {
        return;
    }
    let m = params.cells_per_side;
    let s = state[i];
    let cell = (i / params.particles) * m * m + cell_coord(s.y) * m + cell_coord(s.x);
    let slot = atomicAdd(&cells[2u * cell], 1u);
    binned[i] = vec4<u32>(cell, slot, binned[i].z, 0u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vicsek_alloc(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let c = flat_index(lid, wid, nwg);
    if c >= total_cells() {
        return;
    }
    let count = atomicLoad(&cells[2u * c]);
    atomicStore(&cells[2u * c + 1u], atomicAdd(&clock.filled, count));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vicsek_scatter(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index(lid, wid, nwg);
    if i >= total_particles() {
        return;
    }
    let b = binned[i];
    sorted[atomicLoad(&cells[2u * b.x + 1u]) + b.y] = i;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vicsek_sort(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let c = flat_index(lid, wid, nwg);
    if c >= total_cells() {
        return;
    }
    let count = atomicLoad(&cells[2u * c]);
    let start = atomicLoad(&cells[2u * c + 1u]);
    // The loops below, each counted with its last test: the outer one `count` times, the
    // inner one at most `a + 1` times for each `a`.
    if !within_budget(count + count * (count + 1u) / 2u) {
        return;
    }
    // Insertion sort: cells hold a few particles on average.
    for (var a = 1u; a < count; a++) {
        let v = sorted[start + a];
        var b = a;
        while b > 0u && sorted[start + b - 1u] > v {
            sorted[start + b] = sorted[start + b - 1u];
            b -= 1u;
        }
        sorted[start + b] = v;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vicsek_align(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let slot = flat_index(lid, wid, nwg);
    if slot >= total_particles() {
        return;
    }
    // Invocations take the particles in cell order: neighbouring invocations then read the
    // same cells.
    let i = sorted[slot];
    let m = params.cells_per_side;
    let replica = i / params.particles;
    let first_cell = replica * m * m;
    let me = state[i];
    let cx = cell_coord(me.x);
    let cy = cell_coord(me.y);
    var sum = vec2<f32>(0.0);
    var neighbours = 0u;
    // The 3 x 3 cells around, wrapped without an integer division.
    let rows = vec3<u32>(select(cy - 1u, m - 1u, cy == 0u), cy, select(cy + 1u, 0u, cy + 1u == m));
    let cols = vec3<u32>(select(cx - 1u, m - 1u, cx == 0u), cx, select(cx + 1u, 0u, cx + 1u == m));
    // The loops of the neighbour sum, each counted with its last test: 4 + 3 x 4 over the
    // cells, and a particle's loop `count + 1` times in each of the 9 (as many again for the
    // loops that add up those counts).
    var occupants = 0u;
    for (var dy = 0u; dy < 3u; dy++) {
        for (var dx = 0u; dx < 3u; dx++) {
            occupants += atomicLoad(&cells[2u * (first_cell + rows[dy] * m + cols[dx])]);
        }
    }
    if !within_budget(2u * 16u + 9u + occupants) {
        return;
    }
    for (var dy = 0u; dy < 3u; dy++) {
        let row = first_cell + rows[dy] * m;
        for (var dx = 0u; dx < 3u; dx++) {
            let cell = row + cols[dx];
            let count = atomicLoad(&cells[2u * cell]);
            let start = atomicLoad(&cells[2u * cell + 1u]);
            for (var k = 0u; k < count; k++) {
                let other = state[sorted[start + k]];
                let sx = min_image(other.x - me.x);
                let sy = min_image(other.y - me.y);
                if sx * sx + sy * sy < params.radius2 {
                    sum += other.zw;
                    neighbours += 1u;
                }
            }
        }
    }
    let p = i % params.particles;
    let w = philox4x32_10(vec4<u32>(replica, p, clock.step, STREAM_VICSEK_NOISE), params.key);
    let th = atan2(sum.y, sum.x) + eta[replica] * (uniform_open01(w.x) - 0.5);
    let heading = vec2<f32>(cos(th), sin(th));
    next[i] = vec4<f32>(
        wrap_box(me.x + params.step_len * heading.x),
        wrap_box(me.y + params.step_len * heading.y),
        heading,
    );
    binned[i].z = neighbours;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn vicsek_order(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // One workgroup per (replica, block); uniform across the group, so barriers stay uniform.
    let group = wid.x + wid.y * nwg.x;
    let blocks = (params.particles + ORDER_BLOCK - 1u) / ORDER_BLOCK;
    if group >= blocks * params.replicas {
        return;
    }
    let replica = group / blocks;
    let block = group % blocks;
    let end = min((block + 1u) * ORDER_BLOCK, params.particles);
    var mine = vec2<f32>(0.0);
    for (var p = block * ORDER_BLOCK + lid; p < end; p += WORKGROUP_SIZE) {
        mine += state[replica * params.particles + p].zw;
    }
    let total = tree_sum(lid, mine);
    if lid == 0u {
        partials[group] = total;
    }
}
