//! Passes over the IR: validation, naming, structure (series-parallel and exact joins).

pub mod naming;
pub mod partition;
pub mod structure;
pub mod validate;
