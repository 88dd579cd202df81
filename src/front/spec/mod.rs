//! Native YAML jobnet specs (`jobnet-specs/README.md`) → IR.
//!
//! Three steps: [`yaml`] turns the text into a tree with spans (bounded nesting, no
//! recursion in the parser), the walkers in [`units`] and [`schedule`] check it against
//! the format and build IR units and calendars, and sibling references (`after`, `then`)
//! are resolved last so that forward references work and hints can point anywhere in the
//! file. Every problem becomes a diagnostic; nothing here panics or stops at the first error.
//! Checks that need more than one file (calendar names, `wait_for` targets, cycles) belong
//! to the validate pass.

mod parts;
mod read;
mod schedule;
mod suggest;
mod units;
pub mod yaml;

use crate::diag::{Diagnostic, Diagnostics, FileId, Span};
use crate::ir::Project;

/// Error codes of the spec format (E01xx), listed in `jobnet-specs/README.md`.
pub mod codes {
    /// The text is not valid YAML.
    pub const E_SYNTAX: &str = "E0101";
    /// Valid YAML beyond our limits or features (nesting, alias expansion, tags, documents).
    pub const E_LIMIT: &str = "E0102";
    /// `version` is not 1.
    pub const E_VERSION: &str = "E0103";
    /// A value of the wrong type.
    pub const E_TYPE: &str = "E0104";
    /// A key the format does not know.
    pub const E_UNKNOWN_KEY: &str = "E0105";
    /// A required key is absent.
    pub const E_MISSING: &str = "E0106";
    /// A key given twice in one map.
    pub const E_DUP_KEY: &str = "E0107";
    /// Two siblings (units, root jobnets or calendars) with one name.
    pub const E_DUP_NAME: &str = "E0108";
    /// `after`/`then` names no sibling.
    pub const E_UNKNOWN_REF: &str = "E0109";
    /// A clock time that is not `hh:mm` up to 47:59.
    pub const E_TIME: &str = "E0110";
    /// A date that is not a real `YYYY-MM-DD` date.
    pub const E_DATE: &str = "E0111";
    /// A value of the right type but out of range or not one of the allowed words.
    pub const E_VALUE: &str = "E0112";
    /// End judgment with the warning threshold above the abnormal one.
    pub const E_THRESHOLD: &str = "E0113";
    /// A unit with no kind (`type`, `units`, `judge`, `wait`, `wait_for`) or several.
    pub const E_KIND: &str = "E0114";
    /// Options that exclude each other, or none of a set where exactly one is needed.
    pub const E_CONFLICT: &str = "E0115";
    /// A known key used where it does not apply (e.g. `params` on a jobnet).
    pub const E_NOT_ALLOWED: &str = "E0116";
    /// A dependency that cannot hold (self, twice, `then` and `after` together, recovery
    /// without a predecessor).
    pub const E_BAD_DEP: &str = "E0117";
    /// Jobnets nested deeper than [`super::MAX_NET_DEPTH`].
    pub const E_NET_DEPTH: &str = "E0118";
}

/// Deepest jobnet nesting accepted (root = 1). Legacy nets rarely go past 10; the limit
/// keeps later recursive passes safe.
pub const MAX_NET_DEPTH: usize = 64;

/// The tree of a file larger than this (bytes) is freed on another thread.
const BACKGROUND_DROP: usize = 1 << 20;

/// Parses one spec file and adds its calendars and jobnets to `project`.
pub fn load(project: &mut Project, file: FileId, diags: &mut Diagnostics) {
    load_on(project, file, diags, crate::par::cores());
}

/// [`load`] with the walk spread over `threads` (one: on this thread; tests compare).
fn load_on(project: &mut Project, file: FileId, diags: &mut Diagnostics, threads: usize) {
    let text = &project.sources.get(file).text;
    let large = text.len() > BACKGROUND_DROP;
    let tree = yaml::parse(text, file);
    match tree {
        Err(e) => {
            let code = if e.syntax {
                codes::E_SYNTAX
            } else {
                codes::E_LIMIT
            };
            let mut d = Diagnostic::error(code, e.message).at(e.span);
            d.hint = e.hint;
            diags.push(d);
        }
        Ok(None) => diags.push(
            Diagnostic::error(codes::E_MISSING, "the spec file is empty")
                .at(Span::new(file, 1, 1, 0))
                .hint("a spec starts with `version: 1` followed by `jobnets:`"),
        ),
        Ok(Some(root)) => {
            units::Lower::new(project, diags, threads).file(&root);
            // Freeing the tree of a large file takes tens of milliseconds: leave it to
            // another thread while compiling goes on.
            if large {
                std::thread::spawn(move || drop(root));
            }
        }
    }
}

#[cfg(test)]
mod tests;
