//! The file formats every kind writes: a file completed in one rename, CSV cells, NPY arrays.

use anyhow::{Context, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A temporary name for `path` in the same folder, unique to this process, so that a rename
/// completes the file in one step.
fn tmp_path(path: &Path) -> PathBuf {
    path.with_extension(format!(
        "{}.tmp-{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ))
}

/// Writes `bytes` to `path` through a temporary file in the same folder; on failure the
/// temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let written = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        anyhow::anyhow!("cannot rename {} to {}: {e}", tmp.display(), path.display())
    })?;
    Ok(())
}

/// A CSV cell: empty for NaN (a statistic of no sample, or a variance of one), which
/// spreadsheets and `pandas.read_csv` read as missing.
pub fn csv_cell(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        v.to_string()
    }
}

/// A little-endian float32 NPY array of shape `(rows, cols)`.
pub fn npy_f32(data: &[f32], rows: usize, cols: usize) -> Vec<u8> {
    npy_f32_shaped(data, &[rows, cols])
}

/// A little-endian float32 NPY array of any `shape` (C order: the last index fastest).
pub fn npy_f32_shaped(data: &[f32], shape: &[usize]) -> Vec<u8> {
    debug_assert_eq!(shape.iter().product::<usize>(), data.len());
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let mut out = npy_header("<f4", &shape, 4 * data.len());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// A little-endian float64 NPY array of shape `(rows, cols)`.
pub fn npy_f64(data: &[f64], rows: usize, cols: usize) -> Vec<u8> {
    let mut out = npy_header("<f8", &format!("({rows}, {cols})"), 8 * data.len());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// A little-endian uint32 NPY vector.
pub fn npy_u32(data: &[u32]) -> Vec<u8> {
    let mut out = npy_header("<u4", &format!("({},)", data.len()), 4 * data.len());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// The NPY 1.0 preamble of an array of type `descr` and `shape`, with room for `payload` bytes.
fn npy_header(descr: &str, shape: &str, payload: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let mut header = dict.into_bytes();
    // Magic (6) + version (2) + length (2) + header, padded with spaces to 64 bytes, '\n' last.
    let total = (10 + header.len() + 1).next_multiple_of(64);
    header.resize(total - 10 - 1, b' ');
    header.push(b'\n');
    let mut out = Vec::with_capacity(total + payload);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(&header);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header numpy reads: the shape as a Python tuple, the data 64-byte aligned.
    #[test]
    fn npy_headers_name_the_shape() {
        let header = |bytes: &[u8]| {
            let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!((10 + len) % 64, 0);
            String::from_utf8(bytes[10..10 + len].to_vec()).unwrap()
        };
        let cube = npy_f32_shaped(&[0.0; 24], &[2, 3, 4]);
        assert!(
            header(&cube).contains("'shape': (2, 3, 4),"),
            "{}",
            header(&cube)
        );
        assert_eq!(cube.len() % 64, (24 * 4) % 64);
        let line = npy_f32_shaped(&[1.0; 5], &[5]);
        assert!(header(&line).contains("'shape': (5,),"));
        assert_eq!(npy_f32(&[0.5; 6], 2, 3), npy_f32_shaped(&[0.5; 6], &[2, 3]));
    }
}
