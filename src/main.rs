//! The `jobnet2sfn` binary: everything is in the library; only `main` exits.

/// Compiling large nets builds and drops millions of small JSON values; mimalloc is
/// several times faster than the system allocator at that (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(jobnet2sfn::cli::main());
}
