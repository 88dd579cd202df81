//! Talking to AWS (or the emulator) with the Rust SDK: deploy, run records, reruns.
