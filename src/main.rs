//! The `jobnet2sfn` binary: everything is in the library; only `main` exits.

/// Compiling large nets builds and drops millions of small JSON values; mimalloc is
/// several times faster than the system allocator at that (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (the same position in its v2 and v3 enums; the
/// Rust bindings do not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[allow(unsafe_code)]
fn main() {
    // A compile is one short process that frees and reallocates large output buffers
    // machine after machine. By default mimalloc hands freed pages back to the OS after
    // 10 ms and then faults them in again: a tenth of the time of 1,000 jobnets
    // (BENCHMARKS.md). A second keeps them for reuse; never purging added 40 MB.
    // SAFETY: sets a process-wide integer option; mimalloc reads options atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000) };
    std::process::exit(jobnet2sfn::cli::main());
}
