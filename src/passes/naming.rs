//! Stable, ASCII-safe names for generated states and machines.
//!
//! Names are derived from source names only (never from arena indices), so an edit to one
//! unit does not rename others. Japanese names are transliterated with `deunicode` and get a
//! short hash of the original so that two names with the same reading stay distinct.

use crate::diag::{Diagnostic, Diagnostics};
use crate::ir::{Project, UnitId};
use std::collections::{BTreeMap, HashMap};

/// Step Functions allows 80 characters for state and machine names.
pub const MAX_NAME: usize = 80;

/// FNV-1a, 64 bit: a tiny stable hash; output names must not change between Rust releases.
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Maps any source name onto `[A-Za-z0-9_-]`, transliterating non-ASCII text.
pub fn sanitize(name: &str) -> String {
    let ascii = name.is_ascii();
    let base = if ascii {
        name.to_string()
    } else {
        deunicode::deunicode_with_tofu(name, "_")
    };
    let mut out = String::with_capacity(base.len());
    let mut last_us = false;
    for c in base.trim().chars() {
        let c = if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '_'
        };
        if c == '_' && last_us {
            continue;
        }
        last_us = c == '_';
        out.push(c);
    }
    let mut out = out.trim_matches('_').to_string();
    if out.is_empty() {
        out.push('u');
    }
    if !ascii {
        out = format!("{out}_{:04x}", stable_hash(name) & 0xffff);
    }
    shorten(&out, MAX_NAME - 24)
}

/// Cuts a name to `max` characters, keeping it unique with a hash of the whole.
pub fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let h = format!("{:08x}", stable_hash(name) & 0xffff_ffff);
    let keep = max.saturating_sub(h.len() + 1);
    format!("{}_{}", &name[..keep], h)
}

/// Per cross-jobnet wait unit: the run-record key (prefix, suffix) it looks at, or why it
/// is not compiled; the back-end resolves them (`crate::back::asl::wait_targets`).
pub type WaitTargets = HashMap<UnitId, Result<(String, String), String>>;

/// The state-name table of one root jobnet.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// ASCII-safe machine base name of the root.
    pub machine: String,
    by_unit: HashMap<UnitId, String>,
    /// What each cross-jobnet wait looks at (set by the driver, which sees every root:
    /// `crate::back::asl::wait_targets`); a wait without an entry is not compiled.
    pub waits: WaitTargets,
}

impl Names {
    pub fn state(&self, u: UnitId) -> &str {
        &self.by_unit[&u]
    }
}

/// Assigns names for every unit below `root`. A unit's name is its sanitised source name;
/// when several units of the jobnet share it, each is qualified by its path below the root.
/// Names that still collide are errors (E0201) the user fixes by renaming. `machine` is the
/// root's entry of [`machine_names`].
pub fn assign(project: &Project, root: UnitId, machine: String, diags: &mut Diagnostics) -> Names {
    let units = project.descendants(root);
    let mut count: HashMap<String, usize> = HashMap::new();
    let simple: Vec<(UnitId, String)> = units
        .iter()
        .skip(1)
        .map(|&u| (u, sanitize(&project.units[u].name)))
        .collect();
    for (_, s) in &simple {
        *count.entry(s.clone()).or_default() += 1;
    }
    let mut by_unit = HashMap::new();
    let mut taken: BTreeMap<String, UnitId> = BTreeMap::new();
    for (u, s) in simple {
        let name = if count[&s] > 1 {
            qualified(project, root, u)
        } else {
            s
        };
        if let Some(&other) = taken.get(&name) {
            let a = &project.units[other];
            let b = &project.units[u];
            diags.push(
                Diagnostic::error(
                    "E0201",
                    format!(
                        "units `{}` and `{}` get the same state name `{name}`",
                        a.path, b.path
                    ),
                )
                .at(b.span)
                .hint("rename one of them; state names must be unique in a state machine"),
            );
        }
        taken.insert(name.clone(), u);
        by_unit.insert(u, name);
    }
    by_unit.insert(root, machine.clone());
    Names {
        machine,
        by_unit,
        waits: HashMap::new(),
    }
}

/// The machine base name of every root jobnet: its sanitised name, or, when another root
/// shares it (JP1 allows equal names in different job groups), its sanitised path. All at
/// once: asking root by root compared every pair of roots.
pub fn machine_names(project: &Project) -> HashMap<UnitId, String> {
    let own: Vec<(UnitId, String)> = project
        .roots
        .iter()
        .map(|&r| (r, sanitize(&project.units[r].name)))
        .collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (_, s) in &own {
        *count.entry(s.as_str()).or_default() += 1;
    }
    own.iter()
        .map(|(r, s)| {
            if count[s.as_str()] < 2 {
                return (*r, s.clone());
            }
            let path: Vec<String> = project.units[*r]
                .path
                .split('/')
                .filter(|p| !p.is_empty())
                .map(sanitize)
                .collect();
            // Room is left for the `-cont` and child-key suffixes within 80 characters.
            (*r, shorten(&path.join("__"), 40))
        })
        .collect()
}

fn qualified(project: &Project, root: UnitId, u: UnitId) -> String {
    let mut parts = Vec::new();
    let mut cur = Some(u);
    while let Some(c) = cur {
        if c == root {
            break;
        }
        parts.push(sanitize(&project.units[c].name));
        cur = project.units[c].parent;
    }
    parts.reverse();
    shorten(&parts.join("__"), MAX_NAME - 24)
}

/// `extract_sales-v2` → `ExtractSalesV2`: CloudFormation names and parameter prefixes.
pub fn pascal(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect()
}

/// What must differ between two machine names: their CloudFormation logical id (`a_b` and
/// `aB` are both `AB…`) and their file name on a case-insensitive file system.
pub fn clash_keys(machine: &str) -> [String; 2] {
    [
        format!("id:{}", logical_id(machine)),
        format!("file:{}", machine.to_ascii_lowercase()),
    ]
}

/// Logical id of a machine's resources in CloudFormation (`DailySales` →
/// `DailySalesStateMachine`, …): its name in PascalCase, never starting with a digit.
pub fn logical_id(machine: &str) -> String {
    let p = pascal(machine);
    if p.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        format!("M{p}")
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_names_stay_readable() {
        assert_eq!(sanitize("extract_sales"), "extract_sales");
        assert_eq!(sanitize("load data/v2"), "load_data_v2");
        assert_eq!(sanitize("  "), "u");
    }

    #[test]
    fn japanese_names_are_ascii_and_distinct() {
        let a = sanitize("売上集計");
        let b = sanitize("売上集計2");
        assert!(a.is_ascii() && b.is_ascii());
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        assert_ne!(a, b);
        assert_eq!(a, sanitize("売上集計"), "deterministic");
    }

    #[test]
    fn long_names_are_shortened_with_a_hash() {
        let long = "x".repeat(200);
        let s = sanitize(&long);
        assert!(s.len() <= MAX_NAME - 24);
        assert_ne!(s, sanitize(&"x".repeat(199)));
    }
}
