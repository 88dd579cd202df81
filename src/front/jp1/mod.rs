//! JP1/AJS3 unit definition files (ajsprint output) → IR.
//!
//! Pipeline: [`decode()`] bytes (UTF-8 or CP932) → [`lexer`] → [`parser`] (unit tree with
//! spans) → lowering (IR units, calendars, schedules), which records what happened to every
//! unit and parameter for the [`coverage()`] report. [`to_spec_yaml`] writes lowered jobnets
//! back out as native YAML specs, so a migration can continue in the native format.
//!
//! Diagnostic codes:
//! - `E0301` the file cannot be decoded ([`DecodeError::to_diagnostic`])
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
pub mod export;
pub mod lexer;
mod lower;
pub mod parser;
pub mod report;
mod schedule;
mod units;

pub use decode::{decode, looks_like_jp1, DecodeError, Encoding};
pub use export::to_spec_yaml;
pub use lower::{LoadOptions, DEFAULT_TIMEZONE};
pub use report::{Jp1Coverage, Status};

use crate::diag::{Diagnostics, FileId};
use crate::ir::Project;

/// Parses one ajsprint file already in `project.sources` (decoded text) and adds its
/// calendars and root jobnets to `project`. Same shape as [`crate::front::spec::load`].
pub fn load(project: &mut Project, file: FileId, diags: &mut Diagnostics) {
    lower::lower_file(project, file, &LoadOptions::default(), diags, false);
}

/// [`load`] with the job types chosen by the user instead of `ecs` / `ecs-windows`.
pub fn load_with_options(
    project: &mut Project,
    file: FileId,
    opts: &LoadOptions,
    diags: &mut Diagnostics,
) {
    lower::lower_file(project, file, opts, diags, false);
}

/// [`load_with_options`], also returning the file's conversion coverage (saves the second
/// lowering that [`coverage`] does).
pub fn load_with_coverage(
    project: &mut Project,
    file: FileId,
    opts: &LoadOptions,
    diags: &mut Diagnostics,
) -> Jp1Coverage {
    let tally = lower::lower_file(project, file, opts, diags, true);
    lower::file_coverage(project, file, tally)
}

/// Conversion coverage of one JP1 file of `project`: per unit type and per parameter,
/// what was mapped, approximated (how) or unsupported (what to do). The file is lowered
/// again into a scratch project, so `project` is left as it is.
pub fn coverage(project: &Project, file: FileId) -> Jp1Coverage {
    let src = project.sources.get(file);
    let mut scratch = Project::default();
    let id = scratch
        .sources
        .add(src.path.clone(), src.text.clone(), &src.encoding);
    let mut diags = Diagnostics::default();
    load_with_coverage(&mut scratch, id, &LoadOptions::default(), &mut diags)
}

/// The coverage as a Markdown section for `report.md`.
pub fn render_markdown(c: &Jp1Coverage) -> String {
    c.to_markdown()
}

/// Decodes `bytes` (`forced` is `--encoding`), adds the text to `project.sources` under
/// `path` and loads it. A file that cannot be decoded gives an `E0301` diagnostic and `None`.
pub fn load_bytes(
    project: &mut Project,
    path: &str,
    bytes: &[u8],
    forced: Option<Encoding>,
    opts: &LoadOptions,
    diags: &mut Diagnostics,
) -> Option<FileId> {
    match decode(bytes, forced) {
        Ok((text, enc)) => {
            let file = project.sources.add(path, text, enc.name());
            load_with_options(project, file, opts, diags);
            Some(file)
        }
        Err(e) => {
            diags.push(e.to_diagnostic(path));
            None
        }
    }
}
