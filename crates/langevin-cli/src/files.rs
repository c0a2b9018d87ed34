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
    let mut out = npy_header("<f4", &shape_text(shape), 4 * data.len());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// A little-endian float64 NPY array of any `shape` (C order).
pub fn npy_f64_shaped(data: &[f64], shape: &[usize]) -> Vec<u8> {
    debug_assert_eq!(shape.iter().product::<usize>(), data.len());
    let mut out = npy_header("<f8", &shape_text(shape), 8 * data.len());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// A shape as NPY's header writes it: a Python tuple.
fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    }
}

/// A little-endian float64 NPY array of shape `(rows, cols)`.
pub fn npy_f64(data: &[f64], rows: usize, cols: usize) -> Vec<u8> {
    npy_f64_shaped(data, &[rows, cols])
}

/// A little-endian uint64 NPY array of any `shape` (C order), for counts.
pub fn npy_u64_shaped(data: &[u64], shape: &[usize]) -> Vec<u8> {
    debug_assert_eq!(shape.iter().product::<usize>(), data.len());
    let mut out = npy_header("<u8", &shape_text(shape), 8 * data.len());
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

/// The type (`<f4`) and the data of an NPY 1.0 file.
pub fn npy_payload(bytes: &[u8]) -> Result<(String, &[u8]), String> {
    if bytes.len() < 10 || &bytes[..8] != b"\x93NUMPY\x01\x00" {
        return Err("not an NPY 1.0 file".into());
    }
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = bytes
        .get(10..10 + header_len)
        .ok_or("a truncated NPY header")?;
    let header = String::from_utf8_lossy(header);
    let descr = header
        .split("'descr': '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .ok_or("an NPY header without its type")?
        .to_string();
    Ok((descr, &bytes[10 + header_len..]))
}

/// The rows of a 2-D NPY array of float32 or float64 (`final_state.npy`), widened to f64, and
/// its number of columns.
pub fn read_npy_matrix(path: &Path) -> Result<(Vec<f64>, usize)> {
    let (values, shape) = read_npy(path)?;
    let [_, cols] = shape[..] else {
        anyhow::bail!("{}: shape {shape:?}, not (rows, columns)", path.display());
    };
    Ok((values, cols))
}

/// An NPY array of float32 or float64 of any shape, widened to f64, and its shape.
pub fn read_npy(path: &Path) -> Result<(Vec<f64>, Vec<usize>)> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let fail = |why: String| anyhow::anyhow!("{}: {why}", path.display());
    let (descr, payload) = npy_payload(&bytes).map_err(fail)?;
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = String::from_utf8_lossy(&bytes[10..10 + header_len]);
    let shape: Vec<usize> = header
        .split("'shape': (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(|dims| {
            dims.split(',')
                .filter(|d| !d.trim().is_empty())
                .filter_map(|d| d.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let values: Vec<f64> = match descr.as_str() {
        "<f4" => payload
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes"))))
            .collect(),
        "<f8" => payload
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        other => return Err(fail(format!("type {other}, not float32 or float64"))),
    };
    if shape.is_empty() || values.len() != shape.iter().product::<usize>() {
        return Err(fail(format!("{} values for shape {shape:?}", values.len())));
    }
    Ok((values, shape))
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
