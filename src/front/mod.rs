//! Front-ends: one module per input format, each lowering into the one IR.

pub mod jp1;
pub mod spec;
