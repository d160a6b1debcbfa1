//! Minimal writer of NumPy `.npy` v1.0 files: little-endian float32 or float64, C order.

use driftbench_core::logits::LogitsRef;
use std::io::Write;
use std::path::Path;

/// Write `data` as an array of `shape` to `path`, atomically: float32 (`<f4`) for f32
/// values, float64 (`<f8`) for f64 ones.
pub fn write(path: &Path, shape: &[usize], data: LogitsRef<'_>) -> std::io::Result<()> {
    assert_eq!(
        shape.iter().product::<usize>(),
        data.len(),
        "npy shape does not match data"
    );
    let descr = if data.is_f64() { "<f8" } else { "<f4" };
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_txt = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
    // Magic (6) + version (2) + header length (2) + header + '\n' is padded to 64 bytes.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        w.write_all(b"\x93NUMPY\x01\x00")?;
        w.write_all(&(header.len() as u16).to_le_bytes())?;
        w.write_all(header.as_bytes())?;
        match data {
            LogitsRef::F32(v) => v.iter().try_for_each(|x| w.write_all(&x.to_le_bytes()))?,
            LogitsRef::F64(v) => v.iter().try_for_each(|x| w.write_all(&x.to_le_bytes()))?,
        }
        w.flush()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
