//! Unrolls the counted loops of a composed kernel before it reaches the device.
//!
//! The kernels loop over state components, noise components, steps of a group and Philox
//! rounds, all with bounds fixed when the kernel is composed (`DIM`, `NOISE`, `GROUP_STEPS`,
//! `10u`). WGSL has no unroll attribute, and drivers differ in what they unroll themselves:
//! lavapipe's LLVM unrolls them all, NVIDIA's compiler left them as loops, which turned every
//! `x[i]` into an indexed access and moved states, parameters and noise out of registers
//! (Lorenz RK4 on an H200 ran 8.7 times slower than the same arithmetic written without loops).
//! Unrolled here, every component index is a constant on every driver.
//!
//! A loop is unrolled when its header has the form `for (var i = A; i < B; i++)` (or `i += 1`)
//! with `A` an integer literal and `B` an integer expression of literals and module constants
//! (`const NAME: u32 = ...;`), it runs at most [`MAX_TRIPS`] times, its body neither breaks,
//! continues nor assigns the counter, and the copies stay under [`MAX_UNROLLED_BYTES`]. Each
//! iteration becomes a block `{ ... }` (its declarations stay local) in which the counter is the
//! literal `(ku)`. The arithmetic and its order are unchanged, so results are the same bits.
//! Any other loop is left as written.

use std::collections::HashMap;

/// Most iterations a loop is unrolled into.
pub const MAX_TRIPS: i64 = 16;

/// Most bytes the copies of one loop may take; larger loops stay loops.
pub const MAX_UNROLLED_BYTES: usize = 64 * 1024;

/// `wgsl` with its counted loops of constant trip count unrolled (see the module docs).
pub fn unroll_loops(wgsl: &str) -> String {
    let consts = module_constants(wgsl);
    expand(wgsl, &consts)
}

/// The integer constants of a module, by name: `const NAME(: TYPE)? = EXPR;` whose expression
/// evaluates with literals and the constants before it.
fn module_constants(wgsl: &str) -> HashMap<String, i64> {
    let mut consts = HashMap::new();
    for p in uses(wgsl, "const") {
        let rest = &wgsl[p + "const".len()..];
        let Some((lhs, rhs)) = rest.find(';').and_then(|end| rest[..end].split_once('=')) else {
            continue;
        };
        let name = lhs.split(':').next().unwrap_or("").trim();
        if is_identifier(name) {
            if let Some(v) = evaluate(rhs, &consts) {
                consts.insert(name.to_string(), v);
            }
        }
    }
    consts
}

/// Copies `text`, unrolling the loops that qualify, innermost ones after their outer loop's
/// counter is known (so a bound that depends on it becomes constant too).
fn expand(text: &str, consts: &HashMap<String, i64>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for p in uses(text, "for") {
        // Loops inside one already unrolled were expanded with its copies.
        if p < copied {
            continue;
        }
        if let Some(lp) = counted_loop(text, p, consts) {
            out.push_str(&text[copied..p]);
            let body = &text[lp.body.0..lp.body.1];
            for k in lp.start..lp.end {
                let literal = format!("({k}{})", lp.suffix);
                out.push('{');
                out.push_str(&expand(&substitute(body, &lp.counter, &literal), consts));
                out.push('}');
            }
            copied = lp.body.1 + 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// A loop that qualifies: its counter, first and past-the-end values, the literal suffix of
/// its type, and the byte range of its body (inside the braces).
struct CountedLoop {
    counter: String,
    start: i64,
    end: i64,
    suffix: &'static str,
    body: (usize, usize),
}

fn counted_loop(text: &str, at: usize, consts: &HashMap<String, i64>) -> Option<CountedLoop> {
    let bytes = text.as_bytes();
    let open = skip_space(bytes, at + 3);
    if bytes.get(open) != Some(&b'(') {
        return None;
    }
    let close = matching(bytes, open, b'(', b')')?;
    let header = &text[open + 1..close];
    let mut parts = header.split(';');
    let (init, condition, increment) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // var i(: u32)? = A
    let init = init.trim().strip_prefix("var")?;
    let (declared, first) = init.split_once('=')?;
    let mut declared = declared.split(':');
    let counter = declared.next()?.trim().to_string();
    let ty = declared.next().map(str::trim);
    if !is_identifier(&counter) {
        return None;
    }
    let first = first.trim();
    let unsigned = first.ends_with('u') || ty == Some("u32");
    let start = literal(first)?;
    // i < B
    let bound = condition
        .trim()
        .strip_prefix(counter.as_str())?
        .trim_start();
    let bound = bound.strip_prefix('<')?;
    if bound.starts_with('=') || bound.starts_with('<') {
        return None;
    }
    let end = evaluate(bound, consts)?;
    // i++ or i += 1
    let increment: String = increment.chars().filter(|c| !c.is_whitespace()).collect();
    let step_forms = [
        format!("{counter}++"),
        format!("{counter}+=1"),
        format!("{counter}+=1u"),
        format!("{counter}+=1i"),
    ];
    if !step_forms.contains(&increment) {
        return None;
    }
    let open_brace = skip_space(bytes, close + 1);
    if bytes.get(open_brace) != Some(&b'{') {
        return None;
    }
    let close_brace = matching(bytes, open_brace, b'{', b'}')?;
    let body = (open_brace + 1, close_brace);
    let trips = end - start;
    let body_text = &text[body.0..body.1];
    if !(0..=MAX_TRIPS).contains(&trips)
        || body_text.len() * trips as usize > MAX_UNROLLED_BYTES
        || has_word(body_text, "break")
        || has_word(body_text, "continue")
        || assigns(body_text, &counter)
    {
        return None;
    }
    Some(CountedLoop {
        counter,
        start,
        end,
        suffix: if unsigned { "u" } else { "i" },
        body,
    })
}

/// An integer literal: decimal or hexadecimal, with an optional `u` or `i` suffix.
fn literal(text: &str) -> Option<i64> {
    let t = text.trim().trim_end_matches(['u', 'i']);
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()
    } else if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse().ok()
    } else {
        None
    }
}

/// Evaluates an integer expression of literals, known constants, `+ - * / %` and parentheses;
/// `None` for anything else.
fn evaluate(text: &str, consts: &HashMap<String, i64>) -> Option<i64> {
    let tokens = tokens(text)?;
    let mut at = 0;
    let v = sum(&tokens, &mut at, consts)?;
    (at == tokens.len()).then_some(v)
}

fn tokens(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if "+-*/%()".contains(c) {
            out.push(c.to_string());
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let s = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[s..i].iter().collect());
        } else {
            return None;
        }
    }
    Some(out)
}

fn sum(t: &[String], at: &mut usize, c: &HashMap<String, i64>) -> Option<i64> {
    let mut v = product(t, at, c)?;
    while let Some(op) = t.get(*at).filter(|op| *op == "+" || *op == "-") {
        let op = op.clone();
        *at += 1;
        let r = product(t, at, c)?;
        v = if op == "+" {
            v.checked_add(r)?
        } else {
            v.checked_sub(r)?
        };
    }
    Some(v)
}

fn product(t: &[String], at: &mut usize, c: &HashMap<String, i64>) -> Option<i64> {
    let mut v = atom(t, at, c)?;
    while let Some(op) = t
        .get(*at)
        .filter(|op| *op == "*" || *op == "/" || *op == "%")
    {
        let op = op.clone();
        *at += 1;
        let r = atom(t, at, c)?;
        v = match op.as_str() {
            "*" => v.checked_mul(r)?,
            "/" => v.checked_div(r)?,
            _ => v.checked_rem(r)?,
        };
    }
    Some(v)
}

fn atom(t: &[String], at: &mut usize, c: &HashMap<String, i64>) -> Option<i64> {
    let tok = t.get(*at)?;
    *at += 1;
    if tok == "(" {
        let v = sum(t, at, c)?;
        (t.get(*at)? == ")").then_some(())?;
        *at += 1;
        Some(v)
    } else {
        literal(tok).or_else(|| c.get(tok.as_str()).copied())
    }
}

/// Where the identifier `name` is used in `text`: outside comments, whole, and not a member
/// (`.name`).
fn uses(text: &str, name: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut p = 0;
    while p < bytes.len() {
        if let Some(next) = skip_comment(bytes, p) {
            p = next;
        } else if word_at(bytes, p, name) && (p == 0 || bytes[p - 1] != b'.') {
            found.push(p);
            p += name.len();
        } else {
            p += 1;
        }
    }
    found
}

/// `body` with every use of the identifier `name` replaced by `with`.
fn substitute(body: &str, name: &str, with: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut copied = 0;
    for p in uses(body, name) {
        out.push_str(&body[copied..p]);
        out.push_str(with);
        copied = p + name.len();
    }
    out.push_str(&body[copied..]);
    out
}

/// Whether `body` assigns `name` (`name =`, `name += ...`, `name++`, ...).
fn assigns(body: &str, name: &str) -> bool {
    let compound = [
        "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "++", "--",
    ];
    uses(body, name).into_iter().any(|p| {
        let rest = &body[skip_space(body.as_bytes(), p + name.len())..];
        compound.iter().any(|op| rest.starts_with(op))
            || (rest.starts_with('=') && !rest.starts_with("=="))
    })
}

fn has_word(text: &str, word: &str) -> bool {
    !uses(text, word).is_empty()
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether the identifier `word` starts at `p` (whole, not part of a longer identifier).
fn word_at(bytes: &[u8], p: usize, word: &str) -> bool {
    bytes[p..].starts_with(word.as_bytes())
        && (p == 0 || !is_word_byte(bytes[p - 1]))
        && bytes.get(p + word.len()).is_none_or(|&b| !is_word_byte(b))
}

/// The position after a comment starting at `p`, if one does (line comments, and block
/// comments, which nest in WGSL).
fn skip_comment(bytes: &[u8], p: usize) -> Option<usize> {
    if bytes[p..].starts_with(b"//") {
        let end = bytes[p..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |n| p + n);
        return Some(end);
    }
    if bytes[p..].starts_with(b"/*") {
        let mut depth = 0;
        let mut q = p;
        while q < bytes.len() {
            if bytes[q..].starts_with(b"/*") {
                depth += 1;
                q += 2;
            } else if bytes[q..].starts_with(b"*/") {
                depth -= 1;
                q += 2;
                if depth == 0 {
                    return Some(q);
                }
            } else {
                q += 1;
            }
        }
        return Some(bytes.len());
    }
    None
}

fn skip_space(bytes: &[u8], mut p: usize) -> usize {
    while p < bytes.len() {
        if let Some(next) = skip_comment(bytes, p) {
            p = next;
        } else if bytes[p].is_ascii_whitespace() {
            p += 1;
        } else {
            break;
        }
    }
    p
}

/// The position of the bracket closing the one at `open`, skipping comments.
fn matching(bytes: &[u8], open: usize, left: u8, right: u8) -> Option<usize> {
    let mut depth = 0usize;
    let mut p = open;
    while p < bytes.len() {
        if let Some(next) = skip_comment(bytes, p) {
            p = next;
            continue;
        }
        if bytes[p] == left {
            depth += 1;
        } else if bytes[p] == right {
            depth -= 1;
            if depth == 0 {
                return Some(p);
            }
        }
        p += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_over_a_module_constant_becomes_blocks_with_literal_counters() {
        let src = "const DIM: u32 = 3u;\nfn f(x: vec3<f32>) -> vec3<f32> {\n var y: vec3<f32>;\n for (var i = 0u; i < DIM; i++) {\n  y[i] = x[i] * f32(i); // uses i\n }\n return y;\n}\n";
        let out = unroll_loops(src);
        assert!(!out.contains("for ("), "{out}");
        assert!(
            out.contains("y[(2u)] = x[(2u)] * f32((2u)); // uses i"),
            "{out}"
        );
        assert_eq!(out.matches("y[(").count(), 3);
        crate::shader::validate("unrolled", &out, false).unwrap();
    }

    #[test]
    fn bounds_are_evaluated_with_constants_and_dependent_inner_loops_unroll() {
        let src = "const N: u32 = 4u;\nconst HALF: u32 = (N + 0u) / 2u;\nfn f() -> u32 {\n var s = 0u;\n for (var i = 1u; i < HALF + 1u; i++) {\n  for (var j = 0u; j < i; j++) { s += i * j; }\n }\n return s;\n}\n";
        let out = unroll_loops(src);
        assert!(!out.contains("for ("), "{out}");
        // i = 1: j = 0; i = 2: j = 0, 1.
        assert_eq!(out.matches("s += ").count(), 3, "{out}");
        crate::shader::validate("unrolled", &out, false).unwrap();
    }

    #[test]
    fn loops_that_break_assign_their_counter_or_run_long_stay_loops() {
        for body in [
            "for (var i = 0u; i < 4u; i++) { if s > 2u { break; } s += 1u; }",
            "for (var i = 0u; i < 4u; i++) { if s > 2u { continue; } s += 1u; }",
            "for (var i = 0u; i < 4u; i++) { i += 1u; s += 1u; }",
            "for (var i = 0u; i < 17u; i++) { s += 1u; }",
            "for (var i = 0u; i < n; i++) { s += 1u; }",
            "for (var i = 0u; i <= 4u; i++) { s += 1u; }",
            "for (var i = 0u; i < 4u; i += 2u) { s += 1u; }",
        ] {
            let src = format!("fn f(n: u32) -> u32 {{\n var s = 0u;\n {body}\n return s;\n}}\n");
            assert_eq!(unroll_loops(&src), src);
            crate::shader::validate("kept", &src, false).unwrap();
        }
    }

    #[test]
    fn members_and_longer_names_are_not_substituted() {
        let src = "struct S { i: u32 }\nfn f(a: S) -> u32 {\n var s = 0u;\n for (var i = 0u; i < 2u; i++) { let ii = i + a.i; s += ii; }\n return s;\n}\n";
        let out = unroll_loops(src);
        assert!(out.contains("let ii = (1u) + a.i;"), "{out}");
        crate::shader::validate("unrolled", &out, false).unwrap();
    }
}
