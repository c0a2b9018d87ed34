//! The state vector as a kernel holds it: at most [`MAX_DIM`] components, a fixed-size array
//! on the CPU twin as in WGSL, so that the step loops need no allocation.

/// The largest state dimension a kernel supports.
pub const MAX_DIM: usize = 8;

/// A state vector as the CPU twin holds it; components past the model's dimension are unused.
pub type State = [f32; MAX_DIM];
