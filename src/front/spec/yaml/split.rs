//! Parsing a large spec's `jobnets:` list in parts, on every core.
//!
//! An item of a block sequence starts at a line `<indent>- `; everything up to the next
//! such line belongs to it (its content is indented further), and a less indented line
//! ends the list. So the list can be cut at item lines and each part parsed on its own,
//! with its line offset. Anything unusual (tabs, document markers, several `jobnets:`
//! keys, anchors used across parts, any error at all) gives `None` and the caller parses
//! the file as a whole, so trees, spans and errors are always those of the plain parse.

use super::{build_part, Node, Value, MAX_ALIAS_NODES};
use crate::diag::{FileId, Span};

/// Where a block list is: its key line and the key's indentation, the items'
/// indentation, item start lines, the line after it.
struct Layout {
    key: usize,
    key_indent: usize,
    indent: usize,
    items: Vec<usize>,
    end: usize,
}

pub(super) fn parse(text: &str, file: FileId) -> Option<Node> {
    // A lone CR breaks a line for YAML but not for the line offsets below.
    if text
        .match_indices('\r')
        .any(|(i, _)| text.as_bytes().get(i + 1) != Some(&b'\n'))
    {
        return None;
    }
    let mut starts = vec![0usize];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    let jobnets = layout(&lines)?;
    if jobnets.items.len() >= 2 {
        // The root map holds the list: one enclosing collection.
        let (mut root, items) = parse_list(text, file, &starts, &jobnets, 1)?;
        *list_entry(&mut root, "jobnets", jobnets.key)? = list_node(file, &jobnets, items)?;
        return Some(root);
    }
    // One jobnet: cut its `units:` list instead (root map, `jobnets`, the jobnet's map).
    let units = units_layout(&lines, &jobnets)?;
    let (mut root, items) = parse_list(text, file, &starts, &units, 3)?;
    let key_line = u32::try_from(jobnets.key + 1).ok()?;
    let Value::Map(entries) = &mut root.value else {
        return None;
    };
    let (_, list) = entries
        .iter_mut()
        .find(|(k, _)| k.span.line == key_line && k.value == Value::Str("jobnets".into()))?;
    let Value::Seq(nets) = &mut list.value else {
        return None;
    };
    let [net] = &mut nets[..] else {
        return None;
    };
    *list_entry(net, "units", units.key)? = list_node(file, &units, items)?;
    Some(root)
}

/// Parses the items of the list at `layout` in parts on every core, and the rest of the
/// file with the list's lines blanked (so line numbers stay); `depth` is the number of
/// collections around the list.
fn parse_list(
    text: &str,
    file: FileId,
    starts: &[usize],
    layout: &Layout,
    depth: usize,
) -> Option<(Node, Vec<Node>)> {
    let parts = parts(layout, starts, text.len());
    let parsed = crate::par::par_map(&parts, |&(first, count, from, to)| {
        let offset = u32::try_from(layout.items[first]).ok()?;
        let (docs, aliases) = build_part(&text[from..to], file, offset, depth).ok()?;
        match only(docs)?.value {
            Value::Seq(items) if items.len() == count => Some((items, aliases)),
            _ => None,
        }
    });
    let list_from = starts[layout.items[0]];
    let list_to = starts.get(layout.end).copied().unwrap_or(text.len());
    // An alias outside the list would resolve to an anchor defined (again) inside it in
    // the plain parse, but not in the parse of the rest alone.
    if text[list_from..list_to].contains('&')
        && (text[..list_from].contains('*') || text[list_to..].contains('*'))
    {
        return None;
    }
    let mut rest = String::with_capacity(text.len() - (list_to - list_from) + layout.end);
    rest.push_str(&text[..list_from]);
    rest.extend(std::iter::repeat_n('\n', layout.end - layout.items[0]));
    rest.push_str(&text[list_to..]);
    let (docs, mut aliases) = build_part(&rest, file, 0, 0).ok()?;
    let root = only(docs)?;
    let mut items = Vec::with_capacity(layout.items.len());
    for part in parsed {
        let (part, a) = part?;
        aliases = aliases.saturating_add(a);
        items.extend(part);
    }
    if aliases > MAX_ALIAS_NODES {
        return None;
    }
    Some((root, items))
}

/// The value of `key` written on line `line` (0-based) of a map: empty (null) in the
/// parse with the list blanked.
fn list_entry<'a>(map: &'a mut Node, key: &str, line: usize) -> Option<&'a mut Node> {
    let key_line = u32::try_from(line + 1).ok()?;
    let Value::Map(entries) = &mut map.value else {
        return None;
    };
    let (_, value) = entries.iter_mut().find(|(k, v)| {
        k.span.line == key_line && k.value == Value::Str(key.into()) && v.value == Value::Null
    })?;
    Some(value)
}

/// The list node as the plain parse places it: a list indented under its key at its first
/// `-`, one at the key's own indentation at the first item's content.
fn list_node(file: FileId, layout: &Layout, items: Vec<Node>) -> Option<Node> {
    let col = if layout.indent == layout.key_indent {
        layout.indent + 3
    } else {
        layout.indent + 1
    };
    Some(Node {
        span: Span::new(
            file,
            u32::try_from(layout.items[0] + 1).ok()?,
            u32::try_from(col).ok()?,
            1,
        ),
        value: Value::Seq(items),
    })
}

/// The one document parsed; several are for the plain parse to report.
fn only(mut docs: Vec<Node>) -> Option<Node> {
    let doc = docs.pop()?;
    docs.is_empty().then_some(doc)
}

fn blank(line: &str) -> bool {
    let t = line.trim_start_matches(' ');
    t.is_empty() || t.starts_with('#')
}

fn layout(lines: &[&str]) -> Option<Layout> {
    if lines.iter().any(|l| {
        l.starts_with('\t') || l.starts_with('%') || l.starts_with("---") || l.starts_with("...")
    }) {
        return None;
    }
    let mut keys = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| is_key(l, "jobnets"));
    let (key, _) = keys.next()?;
    if keys.next().is_some() || open_flow(&lines[..key]) {
        return None;
    }
    list_after(lines, key, 0, lines.len(), 1)
}

/// Whether `lines` open more flow collections (`{`, `[`) than they close: a block list
/// inside a flow collection is invalid YAML that the parse of the rest alone would accept.
fn open_flow(lines: &[&str]) -> bool {
    let mut depth = 0i64;
    for l in lines {
        for c in l.bytes() {
            match c {
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
    }
    depth != 0
}

/// `line` is `key:` (at its start) with nothing after it but spaces or a comment.
fn is_key(line: &str, key: &str) -> bool {
    line.strip_prefix(key)
        .and_then(|r| r.strip_prefix(':'))
        .is_some_and(|r| r.trim_start_matches(' ').is_empty() || r.starts_with(" #"))
}

/// The `units:` list of the only jobnet of `jobnets` (its keys two columns in from its
/// `- `), when it has one at that level.
fn units_layout(lines: &[&str], jobnets: &Layout) -> Option<Layout> {
    let item = *jobnets.items.first()?;
    let key_indent = jobnets.indent + 2;
    let mut keys = (item + 1..jobnets.end).filter(|&i| {
        let l = lines[i];
        l.len() > key_indent
            && l.as_bytes()[..key_indent].iter().all(|&c| c == b' ')
            && is_key(&l[key_indent..], "units")
    });
    let key = keys.next()?;
    if keys.next().is_some() || open_flow(&lines[item..key]) {
        return None;
    }
    let units = list_after(lines, key, key_indent, jobnets.end, 2)?;
    (units.end <= jobnets.end).then_some(units)
}

/// The block list whose key is on line `key` (indented `key_indent`), up to line `limit`,
/// if it has at least `min_items` items.
fn list_after(
    lines: &[&str],
    key: usize,
    key_indent: usize,
    limit: usize,
    min_items: usize,
) -> Option<Layout> {
    let first = (key + 1..limit).find(|&i| !blank(lines[i]))?;
    let indent = lines[first].len() - lines[first].trim_start_matches(' ').len();
    if indent < key_indent {
        return None;
    }
    let is_item = |l: &str| {
        let b = l.as_bytes();
        b.len() > indent
            && b[..indent].iter().all(|&c| c == b' ')
            && b[indent] == b'-'
            && (b.len() == indent + 1 || b[indent + 1] == b' ')
    };
    let content_at_3 = lines[first]
        .as_bytes()
        .get(indent + 2)
        .is_some_and(|&c| c != b' ' && c != b'#');
    if !is_item(lines[first]) || (indent == key_indent && !content_at_3) {
        return None;
    }
    let mut items = vec![first];
    let mut end = limit;
    for (i, l) in lines.iter().enumerate().take(limit).skip(first + 1) {
        if blank(l) {
            continue;
        }
        if is_item(l) {
            items.push(i);
        } else if l.len() - l.trim_start_matches(' ').len() <= indent {
            end = i;
            break;
        }
    }
    (items.len() >= min_items).then_some(Layout {
        key,
        key_indent,
        indent,
        items,
        end,
    })
}

/// Consecutive items grouped into parts of about equal size: (first item, items, byte range).
fn parts(layout: &Layout, starts: &[usize], len: usize) -> Vec<(usize, usize, usize, usize)> {
    let at = |line: usize| starts.get(line).copied().unwrap_or(len);
    let from = at(layout.items[0]);
    let to = at(layout.end);
    let wanted = (crate::par::cores() * 4).min(layout.items.len()).max(1);
    let target = (to - from).div_ceil(wanted);
    let mut out = Vec::new();
    let mut first = 0;
    for i in 1..=layout.items.len() {
        let next = layout.items.get(i).map_or(to, |&l| at(l));
        let begin = at(layout.items[first]);
        if next - begin >= target || i == layout.items.len() {
            out.push((first, i - first, begin, next));
            first = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_plain(text: &str) -> bool {
        let split = parse(text, FileId(0));
        let (mut docs, _) = build_part(text, FileId(0), 0, 0).expect("plain parse");
        match split {
            Some(tree) => {
                assert_eq!(Some(tree), docs.pop(), "split parse differs for\n{text}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn a_large_synthetic_spec_parses_in_parts_exactly_as_a_whole() {
        let text = crate::synth::spec("big", crate::synth::Shape::with_jobs(2_000));
        let mut many = String::from("version: 1\njobnets:\n");
        for n in 0..40 {
            let one = crate::synth::spec(&format!("n{n}"), crate::synth::Shape::with_jobs(30));
            many.push_str(one.split_once("jobnets:\n").map_or("", |(_, b)| b));
        }
        many.push_str("# trailing comment\ncalendars:\n  - name: c\n");
        assert!(same_as_plain(&many));
        // One jobnet only: its `units:` list is cut instead.
        assert!(same_as_plain(&text));
        // The same with the list at its key's indentation, a comment after the key and
        // more keys after the list.
        let flush = text
            .replace("    units:\n", "    units: # all of them\n")
            .replace("\n      - ", "\n    - ")
            .replace("\n        ", "\n      ");
        let flush = format!("{flush}    comment: after the units\ncalendars: []\n");
        assert!(same_as_plain(&flush), "{}", &flush[..flush.len().min(2000)]);
    }

    #[test]
    fn lists_at_column_zero_comments_and_block_scalars() {
        let text = "version: 1\n# c\njobnets:\n# first\n- name: a\n  comment: |\n    line\n\n    more\n  units: []\n\n  # between\n- name: b\n  units: [{name: x, type: noop}]\n- name: c\n  comment: \"two\n    lines\"\ncalendars: []\n";
        // A block scalar that ends the list keeps its last comment-like line and its
        // trailing blank lines (`|+`).
        let tail = "version: 1\njobnets:\n  - name: a\n  - name: b\n    comment: |\n      run.sh\n      # done\n  - name: c\n    comment: |+\n      x\n\n\n# after\ncalendars: []\n";
        assert!(same_as_plain(tail));
        assert!(same_as_plain(text));
        let crlf = text.replace('\n', "\r\n");
        assert!(same_as_plain(&crlf));
    }

    #[test]
    fn unusual_input_falls_back_to_the_plain_parse() {
        // Anchor defined in one item and used in another part.
        let mut text =
            String::from("version: 1\njobnets:\n  - name: a\n    job_defaults: &d {cluster: x}\n");
        for i in 0..30 {
            text.push_str(&format!("  - name: n{i}\n    job_defaults: *d\n"));
        }
        let _ = same_as_plain(&text);
        for bad in [
            "version: 1\njobnets:\n  - a\n  - b\n---\nx: 1\n",
            "version: 1\njobnets:\n  - a\n  - b\njobnets:\n  - c\n",
            "version: 1\njobnets: [a,\n  b]\n",
            "version: 1\njobnets:\n\t- a\n",
            "version: 1\njobnets:\n  - \"open\n  - b\n",
            "version: 1\njobnets:\n  - a\r\r\n  - b\n",
            "version: 1\njobnets:\n- # c\n  name: a\n- b\n",
            // A block list inside a flow mapping is invalid.
            "version: 1\njobnets:\n  - {name: a,\n    units:\n      - name: x\n      - name: y\n    }\n",
            "{version: 1,\njobnets:\n  - a\n  - b\n}\n",
            // An alias after the list names an anchor the list defines again.
            "version: 1\nx: &d 1\njobnets:\n  - name: a\n    units:\n      - name: x\n      - name: y\n        comment: &d 2\n    comment: *d\n",
            "version: 1\nx: &d 1\njobnets:\n  - name: a\n  - name: b\n    comment: &d 2\ny: *d\n",
        ] {
            assert!(parse(bad, FileId(0)).is_none(), "{bad}");
        }
    }
}
