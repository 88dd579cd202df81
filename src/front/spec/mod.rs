//! Native YAML jobnet specs (`jobnet-specs/README.md`) → IR.
