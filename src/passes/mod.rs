//! Passes over the IR: validation, naming, structure (series-parallel and exact joins).
