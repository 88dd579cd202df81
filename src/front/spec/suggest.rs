//! "Did you mean …?" suggestions by edit distance.

/// Levenshtein distance in characters (so Japanese names compare sensibly).
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (diag + cost).min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The closest candidate, if it is close enough to be a plausible typo (of equally close
/// ones, the first in sort order).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| {
            let d = if c.to_lowercase() == lower {
                0
            } else {
                distance(&lower, &c.to_lowercase())
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        // Ties go to the first name in sort order: candidates often come from a hash map,
        // and the hint must not change from run to run.
        .min()
        .map(|(_, c)| c)
}

/// `did you mean `x`?` for use as a hint.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("after", "after"), 0);
        assert_eq!(distance("aftr", "after"), 1);
        assert_eq!(distance("売上集計", "売上集"), 1);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn suggests_only_close_words() {
        let keys = ["after", "name", "type", "units"];
        assert_eq!(closest("afer", keys), Some("after"));
        assert_eq!(closest("Name", keys), Some("name"));
        assert_eq!(closest("zzzzzz", keys), None);
        assert_eq!(
            did_you_mean("unit", keys).as_deref(),
            Some("did you mean `units`?")
        );
    }

    #[test]
    fn ties_go_to_the_first_name_in_sort_order() {
        assert_eq!(closest("j7x", ["j72", "j70", "j71"]), Some("j70"));
        assert_eq!(closest("j7x", ["j71", "j72", "j70"]), Some("j70"));
    }
}
