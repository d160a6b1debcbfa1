//! Where a sweep runs and from which files: the machine label of its run identities and the
//! sha256 of its config and of each plugin library, recorded in the journal's header so that
//! `diff` (and a merge of journals) can say what changed between two runs.

use anyhow::{bail, Context, Result};
use driftbench_sweep::input_file::{self, Size};
use driftbench_sweep::machine_label::{host_machine_label, host_name, valid_machine_label};
use driftbench_sweep::records::{Origin, PluginFile};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The machine label: `--machine-label`, else the config's `machine_label`, else the host
/// name made into a label.
pub fn machine_label(flag: Option<&str>, config: Option<&str>) -> Result<String> {
    match flag {
        Some(l) if !valid_machine_label(l) => bail!(
            "--machine-label {}: expected 1 to 64 letters, digits, `-`, `_` or `.`, not starting with `.`",
            l.escape_debug()
        ),
        Some(l) => Ok(l.to_string()),
        None => Ok(config.map_or_else(host_machine_label, str::to_string)),
    }
}

/// The origin of a sweep of `config` on the instances of `plugins` (instance → library).
pub fn collect(
    machine: String,
    config: &Path,
    plugins: &BTreeMap<String, PathBuf>,
) -> Result<Origin> {
    let config_sha256 = Some(driftbench_sweep::digest::sha256_hex(
        &input_file::read_bytes(config, Size::AtMost(input_file::CONFIG_CAP))?,
    ));
    let plugins = plugins
        .iter()
        .map(|(name, path)| {
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((
                name.clone(),
                PluginFile {
                    file,
                    sha256: sha256_of(path)?,
                },
            ))
        })
        .collect::<Result<_>>()?;
    Ok(Origin {
        machine,
        config_sha256,
        plugins,
        plan_sha256: None,
        host: host_name(),
        gpus: crate::gpus::nvidia_gpus(Path::new(crate::gpus::NVIDIA_PROC)),
    })
}

/// sha256 of a file's bytes, hex, read in blocks.
fn sha256_of(path: &Path) -> Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(driftbench_sweep::digest::hex(&hasher.finalize()))
}
