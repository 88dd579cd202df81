//! Talking to AWS (or the emulator) with the Rust SDK: deploy a compiled output directory,
//! run executions, read what test jobs recorded.

pub mod deploy;
pub mod manifest;
pub mod testkit;

pub use deploy::{deploy, deploy_with, AwsClients, DeployOptions, Deployed, ExecutionResult};
pub mod calendar;
pub mod runs;
