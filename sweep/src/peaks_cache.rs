//! Measured device peaks, cached per machine: `peaks.json` in the cache folder (the one the
//! backends keep their kernel caches in), keyed by (backend, plugin version, device, dtype),
//! so a second sweep on the same machine reads them instead of measuring again.

use driftbench_core::dtype::Dtype;
use driftbench_core::profile::Peaks;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// File name of the cache inside the cache folder.
pub const PEAKS_FILE: &str = "peaks.json";

/// Version of the cache file's layout; a file of another version is ignored (and replaced
/// at the next write).
pub const PEAKS_FILE_VERSION: u32 = 1;

/// What a cached measurement belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeaksKey {
    /// Backend instance name.
    pub backend: String,
    /// Plugin version from its probe.
    pub plugin_version: String,
    /// Device name the session reported.
    pub device: String,
    /// Compute dtype.
    pub dtype: Dtype,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    key: PeaksKey,
    peaks: Peaks,
    /// When it was measured, seconds since the Unix epoch.
    measured_unix: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    entries: Vec<Entry>,
}

/// The peaks cache of one sweep: where the file is, and whether to ignore what it holds.
#[derive(Debug, Clone, Default)]
pub struct PeaksCache {
    file: Option<PathBuf>,
    remeasure: bool,
}

impl PeaksCache {
    /// The cache in folder `dir` (`None`: no cache, every sweep measures); with `remeasure`,
    /// cached entries are not read, only replaced.
    pub fn in_dir(dir: Option<&Path>, remeasure: bool) -> Self {
        PeaksCache {
            file: dir.map(|d| d.join(PEAKS_FILE)),
            remeasure,
        }
    }

    /// The cache file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The cached peaks of `key`; `None` when re-measuring, or when the file is absent,
    /// unreadable, of another version or has no such entry.
    pub fn get(&self, key: &PeaksKey) -> Option<Peaks> {
        if self.remeasure {
            return None;
        }
        read(self.file.as_deref()?)?
            .entries
            .into_iter()
            .find(|e| &e.key == key)
            .map(|e| e.peaks)
    }

    /// Store `peaks` under `key`, replacing an older entry, through a temporary file renamed
    /// over the cache (a reader never sees half a file). Nothing happens without a folder.
    pub fn put(&self, key: &PeaksKey, peaks: &Peaks) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut cache = read(file).unwrap_or(CacheFile {
            version: PEAKS_FILE_VERSION,
            entries: Vec::new(),
        });
        cache.entries.retain(|e| &e.key != key);
        cache.entries.push(Entry {
            key: key.clone(),
            peaks: peaks.clone(),
            measured_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        });
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_vec_pretty(&cache).map_err(io::Error::other)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".peaks.json.")
            .tempfile_in(dir)?;
        tmp.write_all(&json)?;
        tmp.persist(file).map_err(|e| e.error)?;
        Ok(())
    }
}

fn read(file: &Path) -> Option<CacheFile> {
    let text = crate::input_file::read_text(file, crate::input_file::PEAKS_CAP).ok()?;
    serde_json::from_str::<CacheFile>(&text)
        .ok()
        .filter(|c| c.version == PEAKS_FILE_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peaks(g: f64) -> Peaks {
        Peaks {
            dtype: Dtype::F16,
            product_dtype: "f16".into(),
            gemm_gflops: g,
            gemm_shape: [512, 576, 1536],
            bandwidth_gbs: 20.0,
            bandwidth_method: "one-row product".into(),
            reps: 5,
        }
    }

    fn key(dtype: Dtype) -> PeaksKey {
        PeaksKey {
            backend: "flex".into(),
            plugin_version: "0.1.0".into(),
            device: "cpu".into(),
            dtype,
        }
    }

    #[test]
    fn a_second_lookup_reads_what_the_first_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PeaksCache::in_dir(Some(dir.path()), false);
        assert_eq!(cache.get(&key(Dtype::F16)), None, "empty cache: a miss");
        cache.put(&key(Dtype::F16), &peaks(100.0)).unwrap();
        // A new cache object (the next sweep) reads the file.
        let next = PeaksCache::in_dir(Some(dir.path()), false);
        assert_eq!(next.get(&key(Dtype::F16)), Some(peaks(100.0)));
        assert!(dir.path().join(PEAKS_FILE).is_file());
        // Every part of the key counts.
        assert_eq!(next.get(&key(Dtype::F32)), None);
        let mut other = key(Dtype::F16);
        other.plugin_version = "0.2.0".into();
        assert_eq!(next.get(&other), None);
        // A second entry keeps the first; a new measurement replaces its own entry.
        next.put(&key(Dtype::F32), &peaks(50.0)).unwrap();
        next.put(&key(Dtype::F16), &peaks(120.0)).unwrap();
        assert_eq!(cache.get(&key(Dtype::F32)), Some(peaks(50.0)));
        assert_eq!(cache.get(&key(Dtype::F16)), Some(peaks(120.0)));
        // Re-measuring reads nothing.
        let again = PeaksCache::in_dir(Some(dir.path()), true);
        assert_eq!(again.get(&key(Dtype::F16)), None);
    }

    #[test]
    fn no_folder_or_a_broken_file_is_a_miss() {
        let none = PeaksCache::in_dir(None, false);
        none.put(&key(Dtype::F16), &peaks(1.0)).unwrap();
        assert_eq!(none.get(&key(Dtype::F16)), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PEAKS_FILE), "{not json").unwrap();
        let cache = PeaksCache::in_dir(Some(dir.path()), false);
        assert_eq!(cache.get(&key(Dtype::F16)), None);
        // Replaced by the next write.
        cache.put(&key(Dtype::F16), &peaks(1.0)).unwrap();
        assert_eq!(cache.get(&key(Dtype::F16)), Some(peaks(1.0)));
    }
}
