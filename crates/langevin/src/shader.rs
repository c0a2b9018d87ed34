//! The WGSL kernel set: sources embedded from `shaders/`, a small `#import` composer, and naga
//! validation so that a broken kernel is an error before any pipeline is made.
//!
//! A kernel is one file of `shaders/`; it pulls helpers from `shaders/lib/` with lines of the
//! form `#import name`. Each module is included once, in the order first imported. Some imports
//! are *virtual*: `state_layout`, `model` and `scheme` are supplied by the caller when a kernel
//! is composed for one model and one scheme.

use crate::error::Error;

include!(concat!(env!("OUT_DIR"), "/shader_sources.rs"));

/// The source of a shipped WGSL file, by import name.
pub fn source(name: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// A kernel composed into one WGSL module and validated by naga.
#[derive(Clone, Debug)]
pub struct ComposedKernel {
    /// The root file's import name.
    pub name: String,
    /// The entry point, which by convention has the kernel's name.
    pub entry_point: String,
    /// The full WGSL text handed to the device.
    pub wgsl: String,
    /// The entry point's workgroup size, as naga reads it: dispatch sizes follow the shader.
    pub workgroup_size: [u32; 3],
}

/// Composes `root` with its imports; `virtual_modules` supply imports that are not files. The
/// counted loops of the result are unrolled ([`crate::unroll`]).
///
/// # Errors
/// [`Error::Shader`] naming the file and line of an unknown or malformed `#import`.
pub fn compose(root: &str, virtual_modules: &[(&str, &str)]) -> Result<String, Error> {
    let mut out = String::new();
    let mut included: Vec<String> = Vec::new();
    include_module(root, virtual_modules, &mut included, &mut out)?;
    Ok(crate::unroll::unroll_loops(&out))
}

fn include_module(
    name: &str,
    virtual_modules: &[(&str, &str)],
    included: &mut Vec<String>,
    out: &mut String,
) -> Result<(), Error> {
    if included.iter().any(|n| n == name) {
        return Ok(());
    }
    included.push(name.to_string());
    let text = virtual_modules
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .or_else(|| source(name))
        .ok_or_else(|| Error::Shader {
            kernel: name.to_string(),
            message: format!("no shader module named `{name}`"),
        })?;
    for (line_no, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("#import") {
            let target = rest.trim();
            if target.is_empty() || target.contains(char::is_whitespace) {
                return Err(Error::Shader {
                    kernel: name.to_string(),
                    message: format!("line {}: malformed import `{}`", line_no + 1, trimmed),
                });
            }
            include_module(target, virtual_modules, included, out).map_err(|e| match e {
                Error::Shader { message, .. } => Error::Shader {
                    kernel: name.to_string(),
                    message: format!("line {}: {message}", line_no + 1),
                },
                other => other,
            })?;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(())
}

/// `wgsl` (a composed kernel) with the 16-bit-halves `mul_hi` replaced by one 64-bit multiply,
/// for devices with SHADER_INT64. Both give the same word for every input (the Philox
/// known-answer tests run both), so results do not depend on which a device gets; a kernel
/// without Philox comes back unchanged.
pub fn native_mul_hi(wgsl: &str) -> String {
    let halves = compose("mul_hi", &[]).expect("mul_hi composes");
    let native = compose("mul_hi_u64", &[]).expect("mul_hi_u64 composes");
    wgsl.replacen(&halves, &native, 1)
}

/// Parses and validates WGSL with naga, as the device will.
///
/// # Errors
/// [`Error::Shader`] with naga's report, a caret under the offending column.
pub fn validate(kernel: &str, wgsl: &str, float64: bool) -> Result<naga::Module, Error> {
    let mut caps = naga::valid::Capabilities::default();
    if float64 {
        caps |= naga::valid::Capabilities::FLOAT64;
    }
    validate_with(kernel, wgsl, caps)
}

/// [`validate`] with the given naga capabilities (`SHADER_INT64` for [`native_mul_hi`]).
///
/// # Errors
/// [`Error::Shader`] with naga's report.
pub fn validate_with(
    kernel: &str,
    wgsl: &str,
    caps: naga::valid::Capabilities,
) -> Result<naga::Module, Error> {
    let module = naga::front::wgsl::parse_str(wgsl).map_err(|e| Error::Shader {
        kernel: kernel.to_string(),
        message: e.emit_to_string(wgsl),
    })?;
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
        .validate(&module)
        .map_err(|e| Error::Shader {
            kernel: kernel.to_string(),
            message: e.emit_to_string(wgsl),
        })?;
    Ok(module)
}

/// Composes and validates the kernel `root` whose entry point has the same name.
///
/// # Errors
/// [`Error::Shader`] from composition or validation.
pub fn kernel(root: &str, virtual_modules: &[(&str, &str)]) -> Result<ComposedKernel, Error> {
    kernel_in(root, virtual_modules, false)
}

/// [`kernel`], validated with f64 allowed when `float64` (kernels over `Scalar = f64`).
///
/// # Errors
/// As [`kernel`].
pub fn kernel_in(
    root: &str,
    virtual_modules: &[(&str, &str)],
    float64: bool,
) -> Result<ComposedKernel, Error> {
    let wgsl = compose(root, virtual_modules)?;
    let module = validate(root, &wgsl, float64)?;
    let entry = module
        .entry_points
        .iter()
        .find(|e| e.name == root)
        .ok_or_else(|| Error::Shader {
            kernel: root.to_string(),
            message: format!("no entry point named `{root}`"),
        })?;
    Ok(ComposedKernel {
        name: root.to_string(),
        entry_point: root.to_string(),
        workgroup_size: entry.workgroup_size,
        wgsl,
    })
}

/// `text` made safe for a WGSL line comment: every character WGSL counts as a line break
/// (LF, VT, FF, CR, NEL, LS, PS) becomes a space, so user text echoed into a comment cannot
/// end it and become code.
pub fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_mul_hi_replaces_the_halves_and_validates_with_int64() {
        let kat = compose("philox_kat", &[]).unwrap();
        let native = native_mul_hi(&kat);
        assert_ne!(native, kat);
        assert!(native.contains("u64(a) * u64(b)"));
        assert!(!native.contains("let a_lo"));
        validate_with(
            "philox_kat",
            &native,
            naga::valid::Capabilities::SHADER_INT64,
        )
        .unwrap();
        assert!(validate("philox_kat", &native, false).is_err());
        let fft = compose("fft", &[("precision", crate::real::Precision::F32.wgsl())]).unwrap();
        assert_eq!(native_mul_hi(&fft), fft);
    }

    #[test]
    fn comment_text_has_no_line_breaks() {
        let text = "a\nb\u{0B}c\u{0C}d\re\u{85}f\u{2028}g\u{2029}h";
        assert_eq!(comment_text(text), "a b c d e f g h");
    }

    #[test]
    fn imports_are_included_once() {
        let wgsl = compose("normal_fill", &[]).unwrap();
        assert_eq!(wgsl.matches("fn philox4x32_10").count(), 1);
        assert!(!wgsl.contains("#import"));
    }

    #[test]
    fn unknown_import_names_file_and_line() {
        let bad = "// first\n#import nowhere\n";
        let err = compose("root", &[("root", bad)]).unwrap_err().to_string();
        assert!(err.contains("root"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("nowhere"), "{err}");
    }

    #[test]
    fn validation_catches_type_errors_that_parse() {
        let err = validate("k", "fn f() -> f32 { return 1u + 1.5; }", false).unwrap_err();
        assert!(matches!(err, Error::Shader { .. }));
    }
}
