//! Talking to AWS (or the emulator) with the Rust SDK: deploy, run records, reruns.

pub mod deploy;
pub mod manifest;
