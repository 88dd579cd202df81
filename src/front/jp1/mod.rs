//! JP1/AJS3 unit definition files (ajsprint output) → IR.
