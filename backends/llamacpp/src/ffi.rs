//! Owned handles over llama.cpp's C API: a loaded model, a context on it, a batch. All the
//! crate's unsafe code is here; each handle frees what it owns once, on drop.

use llama_cpp_sys_2 as sys;
use std::ffi::{c_void, CStr, CString};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;

/// A model loaded from a GGUF file (`llama_model_load_from_file`).
pub struct Model {
    ptr: NonNull<sys::llama_model>,
}

// SAFETY: a llama_model is read-only after loading; llama.cpp shares one model between
// contexts on several threads. This crate uses it from one thread at a time anyway.
unsafe impl Send for Model {}
// SAFETY: as for Send: nothing mutates a loaded model.
unsafe impl Sync for Model {}

impl Model {
    /// Load `path`, `gpu_layers` layers offloaded (0 on a CPU build).
    pub fn load(path: &Path, gpu_layers: i32) -> Result<Model, String> {
        let c_path = CString::new(path.to_string_lossy().as_bytes())
            .map_err(|_| format!("model path {} holds a NUL byte", path.display()))?;
        // SAFETY: plain constructor of a parameter struct.
        let mut params = unsafe { sys::llama_model_default_params() };
        params.n_gpu_layers = gpu_layers;
        // SAFETY: `c_path` is a valid C string for the call; params are llama.cpp's defaults
        // with one integer changed.
        let ptr = unsafe { sys::llama_model_load_from_file(c_path.as_ptr(), params) };
        NonNull::new(ptr).map(|ptr| Model { ptr }).ok_or_else(|| {
            format!(
                "llama.cpp could not load {} (its log on stderr says why)",
                path.display()
            )
        })
    }

    /// Tokens in the vocabulary.
    pub fn vocab(&self) -> usize {
        // SAFETY: the model is alive; the vocab pointer lives as long as the model.
        let n = unsafe { sys::llama_vocab_n_tokens(sys::llama_model_get_vocab(self.ptr.as_ptr())) };
        n.max(0) as usize
    }

    /// Context length the model was trained for.
    pub fn n_ctx_train(&self) -> usize {
        // SAFETY: the model is alive.
        unsafe { sys::llama_model_n_ctx_train(self.ptr.as_ptr()) }.max(0) as usize
    }

    /// Decoder layers.
    pub fn layers(&self) -> usize {
        // SAFETY: the model is alive.
        unsafe { sys::llama_model_n_layer(self.ptr.as_ptr()) }.max(0) as usize
    }

    /// Width of the hidden state.
    pub fn hidden(&self) -> usize {
        // SAFETY: the model is alive.
        unsafe { sys::llama_model_n_embd(self.ptr.as_ptr()) }.max(0) as usize
    }

    /// llama.cpp's one-line description (`llama 135M Q4_1`).
    pub fn describe(&self) -> String {
        let mut buf = vec![0u8; 256];
        // SAFETY: the buffer is writable for its length; llama.cpp writes a NUL-terminated
        // string of at most that many bytes.
        let n =
            unsafe { sys::llama_model_desc(self.ptr.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        buf.truncate(n.clamp(0, 255) as usize);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: owned, freed once; every context on it is dropped first (a Context
        // borrows its model).
        unsafe { sys::llama_model_free(self.ptr.as_ptr()) }
    }
}

/// A layer-trace hook: llama.cpp's scheduler asks it, node by node, whether it wants the
/// node's values (`ask`), then hands over each node it said yes to once computed.
pub trait EvalHook {
    /// Whether the node named `name` is wanted.
    fn wants(&mut self, name: &str) -> bool;
    /// The computed values of a wanted node, as f32 (`ne0` values per row, `rows` rows).
    fn take(&mut self, name: &str, ne0: usize, rows: usize, values: Vec<f32>);
    /// A wanted node whose values cannot be read as f32 rows, and why.
    fn unreadable(&mut self, name: &str, why: &str);
}

/// What a context is made with.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextSpec {
    /// Cells of the KV cache (llama.cpp rounds it up to 256).
    pub n_ctx: u32,
    /// Most tokens one `llama_decode` takes.
    pub n_batch: u32,
    /// Most tokens one graph computes (a larger batch is split in ubatches).
    pub n_ubatch: u32,
    /// Threads of a one-token step and of a batch.
    pub threads: i32,
    /// `LLAMA_FLASH_ATTN_TYPE_*`.
    pub flash_attn: sys::llama_flash_attn_type,
    /// Type of the cached keys and values (`GGML_TYPE_*`).
    pub kv_type: sys::ggml_type,
}

/// A context (KV cache, compute buffers) on a model, with an optional trace hook.
pub struct Context {
    ptr: NonNull<sys::llama_context>,
    /// Keeps the hook's slot alive (and in place) for as long as llama.cpp may call it.
    _hook: Option<Box<HookSlot>>,
    /// The model outlives the context (dropped after it).
    _model: Arc<Model>,
}

/// The hook behind llama.cpp's `cb_eval_user_data` pointer.
struct HookSlot {
    hook: *mut dyn EvalHook,
}

// SAFETY: the context is used from one thread at a time (a Session is `Send`, not `Sync`);
// llama.cpp's own worker threads never outlive a `llama_decode` call.
unsafe impl Send for Context {}

impl Context {
    /// A context on `model` as `spec` says; with `hook`, every computation reports the
    /// nodes it wants.
    ///
    /// # Safety
    /// A `hook` must stay valid (alive, not moved, not used elsewhere) until the context is
    /// dropped.
    pub unsafe fn new(
        model: &Arc<Model>,
        spec: &ContextSpec,
        hook: Option<*mut dyn EvalHook>,
    ) -> Result<Context, String> {
        // SAFETY: plain constructor of a parameter struct.
        let mut p = unsafe { sys::llama_context_default_params() };
        p.n_ctx = spec.n_ctx;
        p.n_batch = spec.n_batch;
        p.n_ubatch = spec.n_ubatch;
        p.n_seq_max = 1;
        p.n_threads = spec.threads;
        p.n_threads_batch = spec.threads;
        p.flash_attn_type = spec.flash_attn;
        p.type_k = spec.kv_type;
        p.type_v = spec.kv_type;
        p.no_perf = true;
        let slot = hook.map(|hook| Box::new(HookSlot { hook }));
        if let Some(s) = &slot {
            p.cb_eval = Some(eval_callback);
            p.cb_eval_user_data = (&**s as *const HookSlot).cast_mut().cast::<c_void>();
        }
        // SAFETY: the model is alive (the context keeps it); the parameters are llama.cpp's defaults with
        // plain values changed, and the callback's user data (the boxed slot) lives as long
        // as the context.
        let ptr = unsafe { sys::llama_init_from_model(model.ptr.as_ptr(), p) };
        let ptr = NonNull::new(ptr).ok_or_else(|| {
            format!("llama.cpp could not create a context ({spec:?}); its log on stderr says why")
        })?;
        Ok(Context {
            ptr,
            _hook: slot,
            _model: Arc::clone(model),
        })
    }

    /// Empty the KV cache (data too), as for a new prompt.
    pub fn clear(&mut self) {
        // SAFETY: the context is alive; its memory handle lives as long as it does.
        unsafe { sys::llama_memory_clear(sys::llama_get_memory(self.ptr.as_ptr()), true) }
    }

    /// Run `batch` through the model (`llama_decode`).
    pub fn decode(&mut self, batch: &Batch) -> Result<(), String> {
        // SAFETY: the context is alive; the batch's arrays hold `n_tokens` valid entries.
        let rc = unsafe { sys::llama_decode(self.ptr.as_ptr(), batch.raw) };
        match rc {
            0 => Ok(()),
            1 => Err("llama_decode: no KV cache slot for the batch".into()),
            2 => Err("llama_decode: aborted".into()),
            -1 => Err("llama_decode: invalid batch".into()),
            rc => Err(format!("llama_decode failed (code {rc})")),
        }
    }

    /// The logits of output row `i` of the last decode (`vocab` values).
    pub fn logits(&self, i: i32, vocab: usize) -> Result<&[f32], String> {
        // SAFETY: the context is alive; llama.cpp returns null for a row without logits.
        let p = unsafe { sys::llama_get_logits_ith(self.ptr.as_ptr(), i) };
        if p.is_null() {
            return Err(format!("llama.cpp has no logits for output row {i}"));
        }
        // SAFETY: a non-null logits row holds `n_vocab` floats, valid until the next decode
        // (the borrow of `self` keeps the context from decoding meanwhile).
        Ok(unsafe { std::slice::from_raw_parts(p, vocab) })
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: owned, freed once, before its model (the Arc field drops after this).
        unsafe { sys::llama_free(self.ptr.as_ptr()) }
    }
}

/// llama.cpp's `cb_eval`: asks the hook, then copies a wanted node's values out.
unsafe extern "C" fn eval_callback(t: *mut sys::ggml_tensor, ask: bool, user: *mut c_void) -> bool {
    if t.is_null() || user.is_null() {
        return false;
    }
    // SAFETY: `user` is the HookSlot this context was made with, alive as long as the
    // context; its hook pointer is alive as long as the caller's trace (see Context::new).
    let hook = unsafe { &mut *(*(user as *const HookSlot)).hook };
    // SAFETY: llama.cpp passes a live tensor; its name is a NUL-terminated array.
    let name = unsafe { CStr::from_ptr((*t).name.as_ptr()) }.to_string_lossy();
    // A panic must not unwind into C++: a hook that panics wants nothing more.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if ask {
            return hook.wants(&name);
        }
        // SAFETY: the tensor is computed (ask == false) and alive during the callback.
        match unsafe { tensor_f32(t) } {
            Ok((ne0, rows, values)) => hook.take(&name, ne0, rows, values),
            Err(why) => hook.unreadable(&name, &why),
        }
        true
    }));
    run.unwrap_or(false)
}

/// The values of an f32, contiguous 2-D tensor (`ne0` per row), read from its backend.
///
/// # Safety
/// `t` is a live, computed tensor.
unsafe fn tensor_f32(t: *mut sys::ggml_tensor) -> Result<(usize, usize, Vec<f32>), String> {
    // SAFETY: live tensor (this function's contract).
    let tensor = unsafe { &*t };
    // SAFETY: live tensor.
    let contiguous = unsafe { sys::ggml_is_contiguous(t) };
    if tensor.type_ != sys::GGML_TYPE_F32 || !contiguous || tensor.ne[2] != 1 || tensor.ne[3] != 1 {
        return Err(format!(
            "ggml type {}, contiguous {contiguous}, shape {:?} (wanted contiguous f32 rows)",
            tensor.type_, tensor.ne
        ));
    }
    let (ne0, rows) = (tensor.ne[0] as usize, tensor.ne[1] as usize);
    let mut values = vec![0f32; ne0 * rows];
    // SAFETY: the tensor holds ne0 × rows f32 contiguously; the destination has that many
    // bytes; ggml_backend_tensor_get copies from whatever device holds it.
    unsafe {
        sys::ggml_backend_tensor_get(t, values.as_mut_ptr().cast(), 0, values.len() * 4);
    }
    Ok((ne0, rows, values))
}

/// A batch of tokens of sequence 0 (`llama_batch_init`).
pub struct Batch {
    raw: sys::llama_batch,
    cap: usize,
}

impl Batch {
    /// Room for `cap` tokens.
    pub fn new(cap: usize) -> Batch {
        // SAFETY: allocates arrays for `cap` tokens of one sequence each.
        let raw = unsafe { sys::llama_batch_init(cap as i32, 0, 1) };
        Batch { raw, cap }
    }

    /// Fill with `tokens` at positions `first..`, every one asking for logits when `all`,
    /// else only the last.
    pub fn set(&mut self, tokens: &[u32], first: usize, all: bool) {
        assert!(
            tokens.len() <= self.cap,
            "batch of {} holds {} tokens",
            self.cap,
            tokens.len()
        );
        for (i, &tok) in tokens.iter().enumerate() {
            // SAFETY: i < n ≤ cap, the arrays' length; seq_id[i] points to room for 1 id.
            unsafe {
                *self.raw.token.add(i) = tok as i32;
                *self.raw.pos.add(i) = (first + i) as i32;
                *self.raw.n_seq_id.add(i) = 1;
                **self.raw.seq_id.add(i) = 0;
                *self.raw.logits.add(i) = i8::from(all || i + 1 == tokens.len());
            }
        }
        self.raw.n_tokens = tokens.len() as i32;
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        // SAFETY: allocated by llama_batch_init, freed once.
        unsafe { sys::llama_batch_free(self.raw) }
    }
}

// SAFETY: the batch owns its arrays; nothing else points into them.
unsafe impl Send for Batch {}

/// llama.cpp's system info: the CPU features its build uses (`AVX2 = 1 | ...`).
pub fn system_info() -> String {
    // SAFETY: returns a pointer to a static, NUL-terminated string.
    let p = unsafe { sys::llama_print_system_info() };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null, NUL-terminated (above).
    unsafe { CStr::from_ptr(p) }
        .to_string_lossy()
        .trim()
        .to_string()
}

/// Whether this build can offload layers to a GPU.
pub fn gpu_offload() -> bool {
    // SAFETY: a query without arguments.
    unsafe { sys::llama_supports_gpu_offload() }
}

/// One device ggml's backend registry lists: name, description, kind (`cpu`, `gpu`, ...).
pub struct Device {
    /// ggml's device name (`CPU`, `CUDA0`).
    pub name: String,
    /// What it is (the CPU model, the GPU's name).
    pub description: String,
    /// `cpu`, `discrete`, `integrated` or `accelerator`.
    pub kind: &'static str,
}

/// The devices this build of llama.cpp can compute on, GPUs first.
pub fn devices() -> Vec<Device> {
    let text = |p: *const std::ffi::c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: non-null, NUL-terminated, owned by the registry for the process's life.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    // SAFETY: the registry is built statically; a count without arguments.
    let n = unsafe { sys::ggml_backend_dev_count() };
    let mut out: Vec<Device> = (0..n)
        .map(|i| {
            // SAFETY: i < count, so a valid device handle, alive for the process.
            let dev = unsafe { sys::ggml_backend_dev_get(i) };
            // SAFETY: `dev` is a valid device handle (above).
            let (name, desc, kind) = unsafe {
                (
                    sys::ggml_backend_dev_name(dev),
                    sys::ggml_backend_dev_description(dev),
                    sys::ggml_backend_dev_type(dev),
                )
            };
            Device {
                name: text(name),
                description: text(desc),
                kind: match kind {
                    sys::GGML_BACKEND_DEVICE_TYPE_CPU => "cpu",
                    sys::GGML_BACKEND_DEVICE_TYPE_GPU => "discrete",
                    sys::GGML_BACKEND_DEVICE_TYPE_IGPU => "integrated",
                    _ => "accelerator",
                },
            }
        })
        .collect();
    out.sort_by_key(|d| d.kind == "cpu");
    out
}
