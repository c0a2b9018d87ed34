//! Twin of `shaders/lib/brownian_tree.wgsl`: the virtual Brownian tree, function by function.
//!
//! A trajectory's Brownian path over `[t0, t0 + span]` is a binary tree of `2^depth` leaves;
//! node `n` (root 1, children `2n`, `2n + 1`) holds its interval's increment `W` and space-time
//! Levy area `H`, and its children are drawn from their law given `(W, H)` with normals keyed by
//! `(trajectory, n)`. Any interval of whole leaves therefore has a single value, whoever asks and
//! however often.

use crate::philox::{box_muller4, philox4x32_10};
use crate::state::{State, MAX_DIM};

/// Twin of `STREAM_TREE`: Philox counter word 3 of the tree's normals is this plus the block.
pub const STREAM_TREE: u32 = 3;

pub use crate::adaptive::MAX_TREE_DEPTH;

/// Twin of `BrownianTree`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BrownianTree {
    /// Philox key.
    pub key: [u32; 2],
    /// Global trajectory index (low, high).
    pub trajectory: [u32; 2],
    /// Length of the time span the tree covers.
    pub span: f32,
    /// Levels below the root: `2^depth` leaves.
    pub depth: u32,
    /// Noise components.
    pub noise: usize,
}

/// Twin of `TreeNode`: increment and space-time Levy area per noise component.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TreeNode {
    /// Increment.
    pub w: State,
    /// Space-time Levy area `(1/h) int (W_r - W_s - (r - s) W / h) dr`.
    pub h: State,
}

/// Twin of `Piece`: an interval's increment, `K = int (W_r - W_s) dr`, and length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Piece {
    /// Increment.
    pub w: State,
    /// Time integral of the path relative to its start.
    pub k: State,
    /// Length.
    pub len: f32,
}

impl Piece {
    /// The space-time Levy area `K / len - W / 2` of the piece's noise component `i`.
    pub fn levy_area(&self, i: usize) -> f32 {
        self.k[i] / self.len - 0.5 * self.w[i]
    }
}

impl BrownianTree {
    /// Twin of `node_normals`: `4 * ceil(2 noise / 4)` standard normals of `node`.
    fn node_normals(&self, node: u32) -> [f32; 2 * MAX_DIM + 4] {
        let mut z = [0.0; 2 * MAX_DIM + 4];
        for b in 0..(2 * self.noise).div_ceil(4) {
            let ctr = [
                self.trajectory[0],
                self.trajectory[1],
                node,
                STREAM_TREE + b as u32,
            ];
            z[4 * b..4 * b + 4].copy_from_slice(&box_muller4(philox4x32_10(ctr, self.key)));
        }
        z
    }

    /// Twin of `tree_root`.
    pub fn root(&self) -> TreeNode {
        let z = self.node_normals(0);
        let mut r = TreeNode {
            w: [0.0; MAX_DIM],
            h: [0.0; MAX_DIM],
        };
        for i in 0..self.noise {
            r.w[i] = self.span.sqrt() * z[i];
            r.h[i] = (self.span / 12.0).sqrt() * z[self.noise + i];
        }
        r
    }

    /// Twin of `tree_split`: the halves of `node`, of length `len`, given its values.
    pub fn split(&self, node: u32, parent: &TreeNode, len: f32) -> (TreeNode, TreeNode) {
        let z = self.node_normals(node);
        let root_len = len.sqrt();
        let area_sd = (len / 12.0).sqrt();
        let zero = TreeNode {
            w: [0.0; MAX_DIM],
            h: [0.0; MAX_DIM],
        };
        let (mut left, mut right) = (zero, zero);
        for i in 0..self.noise {
            let w_left = 0.5 * parent.w[i] + 1.5 * parent.h[i] + 0.25 * root_len * z[i];
            let sum = 0.5 * parent.h[i] - 0.25 * root_len * z[i];
            let diff = area_sd * z[self.noise + i];
            left.w[i] = w_left;
            right.w[i] = parent.w[i] - w_left;
            left.h[i] = 0.5 * (sum + diff);
            right.h[i] = 0.5 * (sum - diff);
        }
        (left, right)
    }

    /// Twin of `node_piece`.
    fn node_piece(&self, n: &TreeNode, len: f32) -> Piece {
        let mut p = empty_piece();
        for i in 0..self.noise {
            p.w[i] = n.w[i];
            p.k[i] = len * (n.h[i] + 0.5 * n.w[i]);
        }
        p.len = len;
        p
    }

    /// Twin of `join_pieces`: `a` followed by `b`.
    fn join(&self, a: &Piece, b: &Piece) -> Piece {
        let mut p = empty_piece();
        for i in 0..self.noise {
            p.w[i] = a.w[i] + b.w[i];
            p.k[i] = a.k[i] + b.k[i] + b.len * a.w[i];
        }
        p.len = a.len + b.len;
        p
    }

    /// Twin of `tree_suffix`.
    #[allow(clippy::too_many_arguments)]
    fn suffix(&self, node: u32, n: TreeNode, lo: u32, width: u32, first: u32, leaf: f32) -> Piece {
        let (mut node, mut n, mut lo, mut width) = (node, n, lo, width);
        let mut acc = empty_piece();
        for _ in 0..=self.depth {
            if first == lo {
                break;
            }
            let (left, right) = self.split(node, &n, width as f32 * leaf);
            width >>= 1;
            if first >= lo + width {
                node = 2 * node + 1;
                lo += width;
                n = right;
            } else {
                acc = self.join(&self.node_piece(&right, width as f32 * leaf), &acc);
                node *= 2;
                n = left;
            }
        }
        self.join(&self.node_piece(&n, width as f32 * leaf), &acc)
    }

    /// Twin of `tree_prefix`.
    fn prefix(&self, node: u32, n: TreeNode, lo: u32, width: u32, end: u32, leaf: f32) -> Piece {
        let (mut node, mut n, mut lo, mut width) = (node, n, lo, width);
        let mut acc = empty_piece();
        for _ in 0..=self.depth {
            if end == lo + width {
                break;
            }
            let (left, right) = self.split(node, &n, width as f32 * leaf);
            width >>= 1;
            if end <= lo + width {
                node *= 2;
                n = left;
            } else {
                acc = self.join(&acc, &self.node_piece(&left, width as f32 * leaf));
                node = 2 * node + 1;
                lo += width;
                n = right;
            }
        }
        self.join(&acc, &self.node_piece(&n, width as f32 * leaf))
    }

    /// Twin of `tree_increment`: the piece over leaves `[first, end)`,
    /// `0 <= first < end <= 2^depth`.
    pub fn increment(&self, first: u32, end: u32) -> Piece {
        debug_assert!(first < end && end <= 1 << self.depth);
        let leaf = self.span / (1u32 << self.depth) as f32;
        let (mut node, mut n, mut lo, mut width) = (1u32, self.root(), 0u32, 1u32 << self.depth);
        for _ in 0..self.depth {
            if first == lo && end == lo + width {
                break;
            }
            let (left, right) = self.split(node, &n, width as f32 * leaf);
            let half = width >> 1;
            if end <= lo + half {
                node *= 2;
                n = left;
                width = half;
            } else if first >= lo + half {
                node = 2 * node + 1;
                n = right;
                lo += half;
                width = half;
            } else {
                let l = self.suffix(2 * node, left, lo, half, first, leaf);
                let r = self.prefix(2 * node + 1, right, lo + half, half, end, leaf);
                return self.join(&l, &r);
            }
        }
        self.node_piece(&n, width as f32 * leaf)
    }
}

/// Twin of `empty_piece`.
fn empty_piece() -> Piece {
    Piece {
        w: [0.0; MAX_DIM],
        k: [0.0; MAX_DIM],
        len: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(trajectory: u32) -> BrownianTree {
        BrownianTree {
            key: [7, 11],
            trajectory: [trajectory, 0],
            span: 2.0,
            depth: 12,
            noise: 2,
        }
    }

    /// Joining adjacent intervals gives the interval asked for at once, up to f32 rounding.
    #[test]
    fn adjacent_intervals_join() {
        let t = tree(3);
        for (a, b, c) in [(0, 1, 4096), (5, 700, 701), (100, 2048, 3001), (17, 18, 19)] {
            let whole = t.increment(a, c);
            let joined = t.join(&t.increment(a, b), &t.increment(b, c));
            for i in 0..2 {
                assert!((whole.w[i] - joined.w[i]).abs() < 1e-5, "{a} {b} {c}");
                assert!((whole.k[i] - joined.k[i]).abs() < 1e-5, "{a} {b} {c}");
            }
            assert!((whole.len - joined.len).abs() < 1e-6);
        }
    }

    #[test]
    fn leaves_sum_to_the_root() {
        let t = BrownianTree {
            depth: 6,
            ..tree(9)
        };
        let root = t.increment(0, 64);
        let mut sum = empty_piece();
        for leaf in 0..64 {
            sum = t.join(&sum, &t.increment(leaf, leaf + 1));
        }
        for i in 0..2 {
            assert!((root.w[i] - sum.w[i]).abs() < 1e-5);
            assert!((root.k[i] - sum.k[i]).abs() < 1e-5);
        }
    }
}
