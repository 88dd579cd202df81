//! jobnet2sfn: a compiler from legacy jobnet definitions to AWS Step Functions.
//!
//! The pipeline flows one way: `front` (one module per input format) builds the
//! [`ir::Project`]; `passes` validate it and compute its structure; `back` writes ASL,
//! CloudFormation, reports and graphs; `cli` wires it together. The library never exits the
//! process: [`cli::main`] returns an exit code and only `main` exits.

pub mod aws;
pub mod back;
pub mod calendar;
pub mod cli;
pub mod diag;
pub mod driver;
pub mod front;
pub mod ir;
pub mod output;
pub mod par;
pub mod passes;
pub mod synth;
