# Sourced (not run) before building the llamacpp plugin: says whether the tools llama.cpp's
# C++ build needs are here, and exports the ggml options that build it for the CPU it runs on.
#
# llama-cpp-sys-2 turns GGML_NATIVE off and forwards every GGML_* environment variable to
# cmake, so the vector extensions are named here, one by one, from /proc/cpuinfo: ON where the
# CPU has them, OFF where not (ggml's defaults would enable AVX2 on a CPU without it, and leave
# AVX-512 off on one that has it). The same values must be in force for every cargo command
# that builds the plugin (clippy included), or its C++ build runs again.

# What is missing for the C++ build, one word each (empty when nothing is).
llamacpp_missing() {
    local missing=()
    command -v cmake >/dev/null 2>&1 || missing+=(cmake)
    command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 || missing+=(g++)
    if [ -z "${LIBCLANG_PATH:-}" ] && ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 &&
        ! ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so'; then
        missing+=(libclang-dev)
    fi
    echo "${missing[*]}"
}

# Export GGML_<feature>=ON/OFF for the x86 features ggml builds kernels for.
llamacpp_cpu_env() {
    [ "$(uname -m)" = x86_64 ] || return 0
    local flags
    flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
    has() { local f; for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
    onoff() { if has "$@"; then echo ON; else echo OFF; fi; }
    export GGML_SSE42=$(onoff sse4_2)
    export GGML_AVX=$(onoff avx)
    export GGML_AVX2=$(onoff avx2)
    export GGML_FMA=$(onoff fma)
    export GGML_F16C=$(onoff f16c)
    export GGML_BMI2=$(onoff bmi2)
    export GGML_AVX_VNNI=$(onoff avx_vnni)
    export GGML_AVX512=$(onoff avx512f avx512bw avx512dq avx512vl avx512cd)
    export GGML_AVX512_VBMI=$(onoff avx512f avx512vbmi)
    export GGML_AVX512_VNNI=$(onoff avx512f avx512_vnni)
    export GGML_AVX512_BF16=$(onoff avx512f avx512_bf16)
}

llamacpp_cpu_env
