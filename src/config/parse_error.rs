//! A parse error (YAML syntax, unknown field, wrong type, missing field) as a diagnostic at the
//! place a person would fix, in words for a person.
//!
//! serde-saphyr reports where it stopped reading, which is not always where the mistake is:
//! - a missing field is noticed at the end of its mapping and reported at the mapping's last
//!   key (`role:` of a node without `address:`): it is pointed at the entry that lacks it;
//! - a value of the wrong type is reported where the value starts, and when that is a block
//!   under its key (`nodes:` followed by `first: …`) the key named is the one the value
//!   belongs to, not the first word on that line;
//! - an unclosed `[` or `{` is noticed a line later: it is reported at the bracket.

use serde_saphyr::Error;

use super::diag::Diagnostic;
use super::outline::{Kind, Outline, Pos};
use super::unclosed::unclosed_before;

/// The diagnostic for `err`, which serde-saphyr returned for `source`.
pub fn diagnostic(err: &Error, source: &str) -> Diagnostic {
    let (line, col) = err
        .location()
        .map(|l| (l.line() as usize, l.column() as usize))
        .unwrap_or((0, 0));
    if source.trim().is_empty() {
        return Diagnostic::error(1, 1, "the file is empty").help(NEEDS_NODES);
    }
    if source
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Diagnostic::error(1, 1, "the file has only comments, no settings")
            .help(NEEDS_NODES);
    }
    // Valid YAML has an outline; a syntax error has none.
    let outline = Outline::parse(source);
    let text = err.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("invalid YAML");
    if let Error::SerdeMissingField { field, .. } = err.without_snippet() {
        if let Some(d) = outline
            .as_ref()
            .and_then(|o| missing_field(o, field, (line, col)))
        {
            return d;
        }
    }
    if outline.is_none() {
        if let Some(open) = unclosed_before(source, line.max(1)) {
            // The parser stops at the first token that cannot go on, often a line later;
            // the mistake is the bracket that was never closed.
            let msg = plain_message(first, None);
            return Diagnostic::error(
                open.line,
                open.column,
                format!(
                    "this `{}` is never closed: did not find the expected `,` or `{}`",
                    open.open,
                    open.close()
                ),
            )
            .help(format!(
                "close it with `{}` (the parser stopped later, at line {line}, column {col}: {msg})",
                open.close()
            ));
        }
    }
    let name = outline.as_ref().and_then(|o| name_of_value(o, (line, col)));
    Diagnostic::error(line, col, plain_message(first, name.as_deref()))
}

const NEEDS_NODES: &str = "a cluster needs at least `nodes:` with one `- address:`";

/// How to name the value at `at` in a message: its key (`` `nodes` ``), or for an entry of a
/// list, the list's key (`` `nodes` entry ``).
fn name_of_value(o: &Outline, at: Pos) -> Option<String> {
    let node = &o.nodes[o.node_at(at)?];
    if let Some(k) = &node.key {
        return Some(format!("`{}`", k.name)).filter(|_| !k.name.is_empty());
    }
    let list = &o.nodes[node.parent?];
    let key = list.key.as_ref().filter(|k| !k.name.is_empty())?;
    (list.kind == Kind::Sequence).then(|| format!("`{}` entry", key.name))
}

/// A required field is missing from a mapping: point at the mapping as a whole (the `-` of
/// its list entry, its key, or the top of the file), not at its last key where the parser
/// noticed.
fn missing_field(o: &Outline, field: &str, at: Pos) -> Option<Diagnostic> {
    let map = o
        .mapping_with_key_at(at)
        .or_else(|| o.node_at(at).filter(|i| o.nodes[*i].kind == Kind::Mapping))?;
    let (line, col) = o.entry_pos(map);
    let node = &o.nodes[map];
    let list_key = node
        .parent
        .map(|p| &o.nodes[p])
        .filter(|p| p.kind == Kind::Sequence)
        .and_then(|p| p.key.as_ref());
    let msg = match (&node.key, list_key) {
        (Some(k), _) => format!("missing field `{field}` in `{}`", k.name),
        (None, Some(list)) => format!("missing field `{field}` in this `{}` entry", list.name),
        (None, None) if node.parent.is_none() => {
            format!("missing field `{field}` at the top level")
        }
        (None, None) => format!("missing field `{field}`"),
    };
    let d = Diagnostic::error(line, col, msg);
    if node.parent.is_some() {
        return Some(d);
    }
    // At the top level the caret marks where the document starts, not a key that is wrong.
    let d = d.width(1);
    Some(if field == "nodes" {
        d.help(NEEDS_NODES)
    } else {
        d
    })
}

/// The parser's message in words for a person: no repeated location, no library advice, and
/// the value it is about (`name`) with what that value should be.
fn plain_message(msg: &str, name: Option<&str>) -> String {
    let mut msg = msg.to_string();
    if let Some(i) = msg.find(" at line ") {
        msg.truncate(i);
    }
    if let Some(i) = msg.find(", set DuplicateKeyPolicy") {
        msg.truncate(i);
    }
    let expected = [
        ("invalid u16", "expected a whole number from 0 to 65535"),
        ("invalid u8", "expected a whole number from 0 to 255"),
        ("invalid boolean", "expected true or false"),
        (
            "expected sequence start",
            "expected a list (`[a, b]` or `- item` lines)",
        ),
        (
            "expected mapping start",
            "expected a mapping (`key: value` lines)",
        ),
    ];
    for (pattern, better) in expected {
        if msg.starts_with(pattern) {
            return match name {
                Some(name) => format!("{name}: {better}"),
                None => better.to_string(),
            };
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::RawConfig;

    fn diag(source: &str) -> Diagnostic {
        let err = serde_saphyr::from_str::<RawConfig>(source).expect_err("a parse error");
        diagnostic(&err, source)
    }

    #[test]
    fn an_empty_file_and_a_file_of_comments() {
        let d = diag("");
        assert_eq!(
            (d.line, d.column, d.message.as_str()),
            (1, 1, "the file is empty")
        );
        let d = diag("# nothing\n\n");
        assert_eq!((d.line, d.column), (1, 1));
        assert!(d.message.contains("only comments"), "{}", d.message);
    }

    #[test]
    fn a_missing_field_points_at_what_lacks_it() {
        // A list entry: its `-`, in block and flow lists.
        let d = diag("nodes:\n  - address: a\n  - role: [worker]\n    port: 22\n");
        assert_eq!((d.line, d.column), (3, 3), "{}", d.message);
        assert_eq!(d.message, "missing field `address` in this `nodes` entry");
        let d = diag("nodes: [{address: a}, {role: [worker]}]\n");
        assert_eq!((d.line, d.column), (1, 23), "{}", d.message);
        // A mapping under a key: the key.
        let d = diag(concat!(
            "nodes: [{address: a}]\ncomponents:\n  - name: s\n",
            "    service:\n      files: [a]\n      args: [b]\n"
        ));
        assert_eq!((d.line, d.column), (4, 5), "{}", d.message);
        assert_eq!(d.message, "missing field `binary` in `service`");
        // The top level: where it starts.
        let d = diag("# c\ncluster_name: x\ncomponents: []\n");
        assert_eq!((d.line, d.column), (2, 1), "{}", d.message);
        assert!(d.message.contains("`nodes`"), "{}", d.message);
    }

    #[test]
    fn a_wrong_type_names_the_key_the_value_belongs_to() {
        let d = diag("nodes:\n  first:\n    address: a\n");
        assert_eq!((d.line, d.column), (2, 3));
        assert!(
            d.message.starts_with("`nodes`: expected a list"),
            "{}",
            d.message
        );
        let d = diag("nodes:\n  - address: a\n    port: abc\n");
        assert_eq!((d.line, d.column), (3, 11));
        assert!(d.message.starts_with("`port`: "), "{}", d.message);
        let d = diag("nodes: [x]\n");
        assert_eq!((d.line, d.column), (1, 9));
        assert!(
            d.message.starts_with("`nodes` entry: expected a mapping"),
            "{}",
            d.message
        );
        let d = diag("- address: a\n");
        assert_eq!(d.message, "expected a mapping (`key: value` lines)");
    }
}
