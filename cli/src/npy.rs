//! Minimal writer and reader of NumPy `.npy` files: little-endian float32 or float64, C
//! order. The writer writes format v1.0; the reader takes v1.0 to v3.0 and 2-D arrays only
//! (a logits matrix `[positions, vocab]`), so a folder can be compared without numpy.

use driftbench_core::logits::{Logits, LogitsRef};
use driftbench_sweep::input_file;
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

/// A 2-D array read from an `.npy` file, in the width it was stored in.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Rows (the first dimension: positions).
    pub rows: usize,
    /// Columns (the second dimension: vocab).
    pub cols: usize,
    /// The values, row-major: f32 for `<f4`, f64 for `<f8`.
    pub data: Logits,
}

impl Array {
    /// NumPy's name of the element type: `float32` or `float64` (as a manifest says it).
    pub fn dtype_name(&self) -> &'static str {
        if self.data.is_f64() {
            "float64"
        } else {
            "float32"
        }
    }
}

/// The most an `.npy` file may hold before it is read (16 GiB: far beyond any span × vocab
/// driftbench runs), so a wrong path cannot make the reader try to hold a disk image.
pub const NPY_CAP: u64 = 16 << 30;

/// Read the `.npy` file at `path`: a 2-D float32 (`<f4`) or float64 (`<f8`) array in C
/// order, every other layout refused. Errors name the file and say what is wrong with it.
pub fn read(path: &Path) -> anyhow::Result<Array> {
    let bytes = input_file::read_bytes(path, input_file::Size::AtMost(NPY_CAP))?;
    parse(&bytes).map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))
}

/// Decode an `.npy` file's bytes (see [`read`]); the error says what is wrong, without the
/// file's name.
pub fn parse(bytes: &[u8]) -> Result<Array, String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < MAGIC.len() + 2 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(format!(
            "not an npy file: it does not start with \\x93NUMPY ({} bytes)",
            bytes.len()
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    // Version 1 stores the header length in 2 bytes; 2 and 3 (larger headers, UTF-8) in 4.
    let len_bytes = match major {
        1 => 2,
        2 | 3 => 4,
        _ => return Err(format!("unsupported npy format version {major}.{minor}")),
    };
    let start = 8 + len_bytes;
    if bytes.len() < start {
        return Err(format!(
            "truncated: {} bytes, too short for the header length",
            bytes.len()
        ));
    }
    let header_len = bytes[8..start]
        .iter()
        .rev()
        .fold(0usize, |n, &b| (n << 8) | usize::from(b));
    let data_start = start + header_len;
    if bytes.len() < data_start {
        return Err(format!(
            "truncated: the header says it is {header_len} bytes, but the file ends {} bytes \
             after the header starts",
            bytes.len() - start
        ));
    }
    let header = std::str::from_utf8(&bytes[start..data_start])
        .map_err(|_| "the header is not text".to_string())?;
    let h = Header::parse(header)?;
    let wide = match h.descr.as_str() {
        "<f4" => false,
        "<f8" => true,
        other => {
            return Err(format!(
                "dtype '{other}' is not supported: expected '<f4' (float32) or '<f8' \
                 (float64), little-endian"
            ))
        }
    };
    if h.fortran_order {
        return Err("the array is in Fortran order: expected C order".to_string());
    }
    let [rows, cols] = h.shape[..] else {
        return Err(format!(
            "shape {} is not 2-D: expected [positions, vocab]",
            shape_text(&h.shape)
        ));
    };
    let width = if wide { 8 } else { 4 };
    let data = &bytes[data_start..];
    let expected = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(width))
        .ok_or_else(|| format!("shape ({rows}, {cols}) is too large"))?;
    if data.len() != expected {
        let what = if data.len() < expected {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(format!(
            "{what}: shape ({rows}, {cols}) of {} needs {expected} bytes of data, the file \
             holds {}",
            h.descr,
            data.len()
        ));
    }
    let data = if wide {
        Logits::F64(
            data.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        )
    } else {
        Logits::F32(
            data.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect(),
        )
    };
    Ok(Array { rows, cols, data })
}

/// A shape as NumPy prints it: `(7,)`, `(7, 128)`.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The three keys of an npy header (a Python dict literal).
#[derive(Debug)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl Header {
    /// Parse `{'descr': '<f4', 'fortran_order': False, 'shape': (7, 128), }` (any order,
    /// any spacing, trailing comma optional); every key must be there, no other key may be.
    fn parse(text: &str) -> Result<Header, String> {
        let bad = |why: &str| format!("malformed header ({why}): {}", text.trim_end());
        let mut p = Lexer(text.trim());
        p.eat('{').ok_or_else(|| bad("no '{'"))?;
        let (mut descr, mut fortran, mut shape) = (None, None, None);
        loop {
            if p.eat('}').is_some() {
                break;
            }
            let key = p.string().ok_or_else(|| bad("expected a quoted key"))?;
            p.eat(':').ok_or_else(|| bad("expected ':'"))?;
            match key.as_str() {
                "descr" => descr = Some(p.string().ok_or_else(|| bad("descr"))?),
                "fortran_order" => fortran = Some(p.boolean().ok_or_else(|| bad("fortran_order"))?),
                "shape" => shape = Some(p.tuple().ok_or_else(|| bad("shape"))?),
                other => return Err(bad(&format!("unknown key '{other}'"))),
            }
            if p.eat(',').is_none() {
                p.eat('}').ok_or_else(|| bad("expected ',' or '}'"))?;
                break;
            }
        }
        if !p.0.trim().is_empty() {
            return Err(bad("text after '}'"));
        }
        Ok(Header {
            descr: descr.ok_or_else(|| bad("no 'descr'"))?,
            fortran_order: fortran.ok_or_else(|| bad("no 'fortran_order'"))?,
            shape: shape.ok_or_else(|| bad("no 'shape'"))?,
        })
    }
}

/// What is left of a header to parse.
struct Lexer<'a>(&'a str);

impl Lexer<'_> {
    /// Skip spaces, then take `c` if it comes next.
    fn eat(&mut self, c: char) -> Option<()> {
        self.0 = self.0.trim_start().strip_prefix(c)?;
        Some(())
    }

    /// A string literal in single or double quotes (no escapes: npy headers have none).
    fn string(&mut self) -> Option<String> {
        let s = self.0.trim_start();
        let quote = s.chars().next().filter(|q| *q == '\'' || *q == '"')?;
        let end = s[1..].find(quote)? + 1;
        self.0 = &s[end + 1..];
        Some(s[1..end].to_string())
    }

    /// `True` or `False`.
    fn boolean(&mut self) -> Option<bool> {
        let s = self.0.trim_start();
        let (v, rest) = if let Some(rest) = s.strip_prefix("True") {
            (true, rest)
        } else {
            (false, s.strip_prefix("False")?)
        };
        self.0 = rest;
        Some(v)
    }

    /// A tuple of non-negative integers: `()`, `(7,)`, `(7, 128)`.
    fn tuple(&mut self) -> Option<Vec<usize>> {
        self.eat('(')?;
        let mut dims = Vec::new();
        loop {
            if self.eat(')').is_some() {
                return Some(dims);
            }
            let s = self.0.trim_start();
            let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            dims.push(s[..digits].parse().ok()?);
            self.0 = &s[digits..];
            if self.eat(',').is_none() {
                self.eat(')')?;
                // `(7)` is the integer 7 in Python, not a tuple.
                return (dims.len() != 1).then_some(dims);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An npy file of version `major`.0 with `header` (padded as the writer pads) and `data`.
    fn file(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = b"\x93NUMPY".to_vec();
        out.extend([major, 0]);
        let mut h = header.to_string();
        h.push('\n');
        if major == 1 {
            out.extend((h.len() as u16).to_le_bytes());
        } else {
            out.extend((h.len() as u32).to_le_bytes());
        }
        out.extend(h.as_bytes());
        out.extend(data);
        out
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn npy_what_the_writer_writes_reads_back_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let p32 = [
            1.5f32,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            3e-40,
        ];
        let p64 = [0.1f64, f64::NAN, -2.0, 1e-310, f64::INFINITY, 7.0];
        let path = dir.path().join("a.npy");
        write(&path, &[2, 3], LogitsRef::F32(&p32)).unwrap();
        let a = read(&path).unwrap();
        assert_eq!((a.rows, a.cols, a.dtype_name()), (2, 3, "float32"));
        let Logits::F32(v) = &a.data else {
            panic!("f32 expected")
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(v), bits(&p32));
        write(&path, &[3, 2], LogitsRef::F64(&p64)).unwrap();
        let a = read(&path).unwrap();
        assert_eq!((a.rows, a.cols, a.dtype_name()), (3, 2, "float64"));
        let Logits::F64(v) = &a.data else {
            panic!("f64 expected")
        };
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(v), bits(&p64));
    }

    #[test]
    fn npy_headers_numpy_may_write_are_read() {
        let data = f32_bytes(&[1.0, 2.0]);
        for (major, header) in [
            (
                1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }",
            ),
            (1, "{'shape':(1,2),'fortran_order':False,'descr':'<f4'}"),
            (
                2,
                "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1, 2,)}   ",
            ),
            (
                3,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }",
            ),
        ] {
            let a = parse(&file(major, header, &data)).unwrap_or_else(|e| panic!("{header}: {e}"));
            assert_eq!((a.rows, a.cols), (1, 2), "{header}");
            assert_eq!(a.data, Logits::F32(vec![1.0, 2.0]));
        }
        // An empty matrix is a matrix.
        let a = parse(&file(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }",
            &[],
        ))
        .unwrap();
        assert_eq!((a.rows, a.cols, a.data.len()), (0, 5, 0));
    }

    #[test]
    fn npy_corrupt_or_foreign_files_are_refused_with_the_reason() {
        let h = |descr: &str, fortran: &str, shape: &str| {
            format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}")
        };
        let ok = h("<f4", "False", "(2, 2)");
        let four = f32_bytes(&[1.0, 2.0, 3.0, 4.0]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (Vec::new(), "not an npy file"),
            (b"PK\x03\x04 a zip".to_vec(), "not an npy file"),
            (b"\x93NUMPY\x01".to_vec(), "not an npy file"),
            (
                b"\x93NUMPY\x01\x00\x10".to_vec(),
                "too short for the header length",
            ),
            (file(4, &ok, &four), "unsupported npy format version 4.0"),
            (
                file(1, &ok, &four)[..40].to_vec(),
                "truncated: the header says",
            ),
            (
                file(1, &ok, &four[..12]),
                "truncated: shape (2, 2) of <f4 needs 16 bytes of data, the file holds 12",
            ),
            (
                file(1, &ok, &[four.clone(), vec![0]].concat()),
                "trailing bytes",
            ),
            (
                file(1, &h(">f4", "False", "(2, 2)"), &four),
                "dtype '>f4' is not supported",
            ),
            (
                file(1, &h("<f2", "False", "(2, 2)"), &four),
                "dtype '<f2' is not supported",
            ),
            (
                file(1, &h("<i4", "False", "(2, 2)"), &four),
                "dtype '<i4' is not supported",
            ),
            (file(1, &h("<f4", "True", "(2, 2)"), &four), "Fortran order"),
            (
                file(1, &h("<f4", "False", "(4,)"), &four),
                "shape (4,) is not 2-D",
            ),
            (
                file(1, &h("<f4", "False", "(1, 2, 2)"), &four),
                "shape (1, 2, 2) is not 2-D",
            ),
            (
                file(1, &h("<f4", "False", "()"), &four),
                "shape () is not 2-D",
            ),
            (
                file(1, &h("<f4", "False", "(4)"), &four),
                "malformed header (shape)",
            ),
            (
                file(1, &h("<f4", "False", "(-2, 2)"), &four),
                "malformed header (shape)",
            ),
            (
                file(1, &h("<f4", "False", "(4611686018427387904, 8)"), &four),
                "is too large",
            ),
            (
                file(1, &h("<f4", "maybe", "(2, 2)"), &four),
                "malformed header (fortran_order)",
            ),
            (
                file(1, "{'descr': '<f4', 'shape': (2, 2)}", &four),
                "no 'fortran_order'",
            ),
            (
                file(1, &ok.replace("}", "'extra': 1}"), &four),
                "unknown key 'extra'",
            ),
            (file(1, &format!("{ok} junk"), &four), "text after '}'"),
            (file(1, "['<f4']", &four), "no '{'"),
            (
                [file(1, "", &[])[..8].to_vec(), vec![2, 0, 0xff, 0xfe]].concat(),
                "not text",
            ),
        ];
        for (bytes, want) in cases {
            let err = parse(&bytes).expect_err(want);
            assert!(err.contains(want), "want {want:?}, got {err:?}");
        }
    }

    #[test]
    fn npy_read_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prefill.npy");
        std::fs::write(&path, b"not numpy").unwrap();
        let err = format!("{:#}", read(&path).unwrap_err());
        assert!(
            err.contains(&path.display().to_string()) && err.contains("not an npy file"),
            "{err}"
        );
        let missing = dir.path().join("decode.npy");
        let err = format!("{:#}", read(&missing).unwrap_err());
        assert!(err.contains(&missing.display().to_string()), "{err}");
        let err = format!("{:#}", read(dir.path()).unwrap_err());
        assert!(err.contains("not a regular file"), "{err}");
    }
}
