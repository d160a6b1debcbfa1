//! Load a plugin library and check its handshake.

use crate::LoadError;
use driftbench_plugin_abi::{
    PluginHeader, PluginV1, ABI_MAJOR, ABI_MINOR, ENTRY_SYMBOL, MAGIC, V1_0_TABLE_SIZE,
    V1_1_TABLE_SIZE, V1_2_TABLE_SIZE, V1_3_TABLE_SIZE,
};
use libloading::Library;
use std::ffi::{c_char, CStr};
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};

/// A plugin whose handshake passed. The library stays loaded for the life of the process.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    /// The file.
    pub path: PathBuf,
    /// Backend name the plugin reports.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// ABI version the plugin speaks, `major.minor`.
    pub abi: String,
    pub(crate) table: &'static PluginV1,
}

/// The text of a C string, lossily decoded; empty for a null pointer.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that stays alive during the call.
unsafe fn c_text(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: non-null, so a live NUL-terminated string (caller's contract).
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

type Entry = unsafe extern "C" fn() -> *const PluginV1;

impl LoadedPlugin {
    /// Load `path`, resolve the entry symbol and check magic, ABI major and table size.
    pub fn load(path: &Path) -> Result<LoadedPlugin, LoadError> {
        if !path.exists() {
            return Err(LoadError::Missing {
                path: path.to_path_buf(),
            });
        }
        // SAFETY: loading runs the library's initialisers; plugins are trusted code the user
        // chose to run, as with any native extension.
        let lib = unsafe { Library::new(path) }.map_err(|e| LoadError::Library {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        // Never unloaded: see the crate docs.
        let lib: &'static Library = Box::leak(Box::new(lib));
        // SAFETY: `ENTRY_SYMBOL` is NUL-terminated and the ABI defines the symbol as an `Entry`;
        // the library is leaked, so the function pointer never dangles.
        let entry: Entry = match unsafe { lib.get::<Entry>(ENTRY_SYMBOL) } {
            Ok(sym) => *sym,
            Err(_) => {
                let other = (2..=9).find(|v| {
                    let sym = format!("driftbench_plugin_v{v}\0");
                    // SAFETY: `sym` is NUL-terminated; the symbol is only looked up, never
                    // called, so its real type does not matter.
                    unsafe { lib.get::<Entry>(sym.as_bytes()) }.is_ok()
                });
                let hint = match other {
                    Some(v) => format!(
                        "it exports driftbench_plugin_v{v}: built for ABI v{v}, this driftbench speaks v{ABI_MAJOR}"
                    ),
                    None => "not a driftbench plugin".into(),
                };
                return Err(LoadError::NoEntry {
                    path: path.to_path_buf(),
                    hint,
                });
            }
        };
        let abi_err = |reason: String| LoadError::Abi {
            path: path.to_path_buf(),
            reason,
        };
        // SAFETY: `entry` is the ABI's entry symbol of a library that stays loaded; it takes
        // no arguments and, like loading, runs trusted plugin code.
        let ptr = unsafe { entry() };
        if ptr.is_null() {
            return Err(abi_err(
                "the entry point returned no table (plugin failed to initialise)".into(),
            ));
        }
        // Only the header is read until it checks out.
        // SAFETY: `ptr` is non-null and, per the ABI, points to a static table of any version,
        // and every version starts with a `PluginHeader`.
        let header: PluginHeader = unsafe { std::ptr::read(ptr as *const PluginHeader) };
        if header.magic != MAGIC {
            return Err(abi_err(format!(
                "bad magic {:#018x}, expected {MAGIC:#018x}",
                header.magic
            )));
        }
        if header.abi_major != ABI_MAJOR {
            return Err(abi_err(format!(
                "plugin speaks ABI v{}.{}, this driftbench speaks v{ABI_MAJOR}.{ABI_MINOR}",
                header.abi_major, header.abi_minor
            )));
        }
        let declared = header.struct_size as usize;
        if declared < V1_0_TABLE_SIZE {
            return Err(abi_err(format!(
                "function table of {declared} bytes, ABI v{ABI_MAJOR}.0 needs at least {V1_0_TABLE_SIZE}"
            )));
        }
        // Copy what the plugin declares, no more: an older minor's table ends before the
        // newer fields, which stay zero (`None`) in the copy. A newer minor's extra fields
        // are not ours to read.
        let known = match header.abi_minor {
            0 => V1_0_TABLE_SIZE,
            1 => V1_1_TABLE_SIZE,
            2 => V1_2_TABLE_SIZE,
            3 => V1_3_TABLE_SIZE,
            _ => std::mem::size_of::<PluginV1>(),
        };
        let mut copy = MaybeUninit::<PluginV1>::zeroed();
        // SAFETY: the plugin declares `declared` readable bytes at `ptr`; at most `known`
        // (≤ size_of::<PluginV1>()) are copied. Every non-optional field lies in the v1.0
        // prefix, which is always copied, and the optional ones are valid when zero.
        let table: PluginV1 = unsafe {
            std::ptr::copy_nonoverlapping(
                ptr as *const u8,
                copy.as_mut_ptr() as *mut u8,
                declared.min(known),
            );
            copy.assume_init()
        };
        let table: &'static PluginV1 = Box::leak(Box::new(table));
        // SAFETY: per the ABI, `name` is null or a static NUL-terminated string of the plugin,
        // whose library is never unloaded.
        let name = unsafe { c_text(table.name) };
        // SAFETY: as above, for `version`.
        let version = unsafe { c_text(table.version) };
        Ok(LoadedPlugin {
            path: path.to_path_buf(),
            name,
            version,
            abi: format!("{}.{}", header.abi_major, header.abi_minor),
            table,
        })
    }
}
