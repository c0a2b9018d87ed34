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
    let mut out = npy_header("<f4", &format!("({rows}, {cols})"), 4 * data.len());
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
