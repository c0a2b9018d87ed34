// A virtual Brownian tree: one trajectory's Brownian path over [t0, t0 + span], with the
// space-time Levy areas an order-1.5 scheme needs, at any interval of whole leaves (2^depth
// leaves of width span / 2^depth). Nothing is stored: node n (root 1, children 2n and 2n + 1)
// holds its interval's increment W and space-time Levy area H = (1/h) int (W_r - W_s -
// (r - s) W / h) dr, and its children are drawn from their law given (W, H) with normals from
// Philox keyed by (trajectory, n). So an interval has one value however often, in whatever
// order and on whichever backend it is asked for: a rejected adaptive step re-queries the
// same path, and the whole path is one seed (Gaines and Lyons 1997; the split of (W, H) is
// Theorem 6.1.6 of Foster's thesis, used by Jelincic, Tang, Foster and Kidger 2023,
// "Single-seed generation of Brownian paths and integrals for adaptive and high order SDE
// solvers").
//
// Needs `state_layout` (NOISE, Noise). CPU twin: crates/langevin/src/cpu/brownian_tree.rs.
#import normal

// Philox counter word 3 of the tree's normals: STREAM_TREE + block (other streams use 0..2).
const STREAM_TREE: u32 = 3u;
// Normals per node: the increment's and the area's, for each noise component, in whole blocks.
const TREE_BLOCKS: u32 = (2u * NOISE + 3u) / 4u;
const TREE_NORMALS: u32 = 4u * TREE_BLOCKS;

struct BrownianTree {
    key: vec2<u32>,
    trajectory: vec2<u32>,
    span: f32,
    depth: u32,
}

// A node's increment and space-time Levy area.
struct TreeNode {
    w: Noise,
    h: Noise,
}

// An interval's increment W, its integral K = int (W_r - W_s) dr, and its length: what
// adjacent intervals need to be joined.
struct Piece {
    w: Noise,
    k: Noise,
    len: f32,
}

struct Children {
    left: TreeNode,
    right: TreeNode,
}

// The standard normals of `node` (0 for the root's own values).
fn node_normals(tree: BrownianTree, node: u32) -> array<f32, TREE_NORMALS> {
    var z: array<f32, TREE_NORMALS>;
    for (var b = 0u; b < TREE_BLOCKS; b++) {
        let ctr = vec4<u32>(tree.trajectory.x, tree.trajectory.y, node, STREAM_TREE + b);
        let n = box_muller4(philox4x32_10(ctr, tree.key));
        z[4u * b] = n.x;
        z[4u * b + 1u] = n.y;
        z[4u * b + 2u] = n.z;
        z[4u * b + 3u] = n.w;
    }
    return z;
}

// W over the whole span is N(0, span), H is N(0, span / 12), independent.
fn tree_root(tree: BrownianTree) -> TreeNode {
    let z = node_normals(tree, 0u);
    var r: TreeNode;
    for (var i = 0u; i < NOISE; i++) {
        r.w[i] = sqrt(tree.span) * z[i];
        r.h[i] = sqrt(tree.span / 12.0) * z[NOISE + i];
    }
    return r;
}

// The halves of `node` (of length `len`) given its (W, H): with z1, z2 standard normals,
// W_left = W / 2 + 3 H / 2 + sqrt(len) z1 / 4, W_right = W - W_left,
// H_left + H_right = H / 2 - sqrt(len) z1 / 4, H_left - H_right = sqrt(len / 12) z2.
fn tree_split(tree: BrownianTree, node: u32, parent: TreeNode, len: f32) -> Children {
    let z = node_normals(tree, node);
    let root_len = sqrt(len);
    let area_sd = sqrt(len / 12.0);
    var c: Children;
    for (var i = 0u; i < NOISE; i++) {
        let w_left = 0.5 * parent.w[i] + 1.5 * parent.h[i] + 0.25 * root_len * z[i];
        let sum = 0.5 * parent.h[i] - 0.25 * root_len * z[i];
        let diff = area_sd * z[NOISE + i];
        c.left.w[i] = w_left;
        c.right.w[i] = parent.w[i] - w_left;
        c.left.h[i] = 0.5 * (sum + diff);
        c.right.h[i] = 0.5 * (sum - diff);
    }
    return c;
}

fn node_piece(n: TreeNode, len: f32) -> Piece {
    var p: Piece;
    for (var i = 0u; i < NOISE; i++) {
        p.w[i] = n.w[i];
        p.k[i] = len * (n.h[i] + 0.5 * n.w[i]);
    }
    p.len = len;
    return p;
}

// `a` followed by `b`.
fn join_pieces(a: Piece, b: Piece) -> Piece {
    var p: Piece;
    for (var i = 0u; i < NOISE; i++) {
        p.w[i] = a.w[i] + b.w[i];
        p.k[i] = a.k[i] + b.k[i] + b.len * a.w[i];
    }
    p.len = a.len + b.len;
    return p;
}

fn empty_piece() -> Piece {
    var p: Piece;
    p.len = 0.0;
    return p;
}

// The piece [first, lo + width) of the node at leaves [lo, lo + width): down toward `first`,
// taking every right sibling passed on the way.
fn tree_suffix(tree: BrownianTree, node_in: u32, n_in: TreeNode, lo_in: u32, width_in: u32,
               first: u32, leaf: f32) -> Piece {
    var node = node_in;
    var n = n_in;
    var lo = lo_in;
    var width = width_in;
    var acc = empty_piece();
    for (var level = 0u; level <= tree.depth; level++) {
        if first == lo {
            break;
        }
        let c = tree_split(tree, node, n, f32(width) * leaf);
        width = width >> 1u;
        if first >= lo + width {
            node = 2u * node + 1u;
            lo += width;
            n = c.right;
        } else {
            acc = join_pieces(node_piece(c.right, f32(width) * leaf), acc);
            node = 2u * node;
            n = c.left;
        }
    }
    return join_pieces(node_piece(n, f32(width) * leaf), acc);
}

// The piece [lo, end) of the node at leaves [lo, lo + width): down toward `end`, taking every
// left sibling passed on the way.
fn tree_prefix(tree: BrownianTree, node_in: u32, n_in: TreeNode, lo_in: u32, width_in: u32,
               end: u32, leaf: f32) -> Piece {
    var node = node_in;
    var n = n_in;
    var lo = lo_in;
    var width = width_in;
    var acc = empty_piece();
    for (var level = 0u; level <= tree.depth; level++) {
        if end == lo + width {
            break;
        }
        let c = tree_split(tree, node, n, f32(width) * leaf);
        width = width >> 1u;
        if end <= lo + width {
            node = 2u * node;
            n = c.left;
        } else {
            acc = join_pieces(acc, node_piece(c.left, f32(width) * leaf));
            node = 2u * node + 1u;
            lo += width;
            n = c.right;
        }
    }
    return join_pieces(acc, node_piece(n, f32(width) * leaf));
}

// The increment and its integral over leaves [first, end), 0 <= first < end <= 2^depth: down
// from the root while one child holds the interval, then along both of its ends.
fn tree_increment(tree: BrownianTree, first: u32, end: u32) -> Piece {
    let leaf = tree.span / f32(1u << tree.depth);
    var node = 1u;
    var n = tree_root(tree);
    var lo = 0u;
    var width = 1u << tree.depth;
    for (var level = 0u; level < tree.depth; level++) {
        if first == lo && end == lo + width {
            break;
        }
        let c = tree_split(tree, node, n, f32(width) * leaf);
        let half = width >> 1u;
        if end <= lo + half {
            node = 2u * node;
            n = c.left;
            width = half;
        } else if first >= lo + half {
            node = 2u * node + 1u;
            n = c.right;
            lo += half;
            width = half;
        } else {
            let left = tree_suffix(tree, 2u * node, c.left, lo, half, first, leaf);
            let right = tree_prefix(tree, 2u * node + 1u, c.right, lo + half, half, end, leaf);
            return join_pieces(left, right);
        }
    }
    return node_piece(n, f32(width) * leaf);
}
