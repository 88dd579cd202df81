//! JP1/AJS3 unit definition files (ajsprint output) → IR.
//!
//! Pipeline: [`decode`] bytes (UTF-8 or CP932) → [`lexer`] → [`parser`] (unit tree with
//! spans) → [`lower`] (IR units, calendars, schedules) with [`report`] coverage.
//!
//! Diagnostic codes:
//! - `E0301` the file cannot be decoded (reported by the caller of [`decode::decode`])
//! - `E0302` unterminated `/* */` comment
//! - `E0303` unterminated quoted string
//! - `E0304` syntax error: unexpected token, missing `;`, unclosed `(`
//! - `E0305` unit not closed by `}`
//! - `E0306` unit without a name or without a `{ … }` body
//! - `E0307` units or parentheses nested too deeply
//! - `E0310` unit without `ty=` (error) or with an unknown type (warning)
//! - `E0311` invalid parameter value
//! - `E0312` unknown parameter key (warning; kept in the report)
//! - `E0313` relation `ar=` names a unit that is not in the same jobnet
//! - `E0314` `con` relation from a unit that is not a judgment job (warning)
//! - `E0315` two sibling units with the same name
//! - `E0316` unit in a place JP1 does not allow (warning; kept as unsupported)
//! - `E0318` file without any unit definition
//! - `E0319` single-valued key or schedule rule key repeated (warning; last one wins)

pub mod decode;
pub mod lexer;
pub mod lower;
pub mod parser;
pub mod report;
mod schedule;
mod units;

pub use decode::{decode, looks_like_jp1};
pub use lower::load;
pub use report::{coverage, Jp1Coverage};
