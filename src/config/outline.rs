//! The shape of cluster.yml as written: every mapping, sequence and scalar with where it
//! starts and the key it is the value of. serde says *that* something is wrong and where it
//! stopped reading; this says *what* that place is, so a message can name the key (`nodes`
//! rather than the first key under it), point at the entry that lacks a field rather than at
//! its last key, or at a key itself (`health:`) rather than at its value.
//!
//! Built from the YAML parser's events (the parser serde-saphyr itself uses), so positions
//! are the ones `Spanned` values carry: 1-based line, 1-based column counted in characters.

use std::ops::Range;

use serde_saphyr::granit_parser::{Event, Parser, Span, StructureStyle};

/// 1-based line and column (in characters).
pub type Pos = (usize, usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mapping,
    Sequence,
    Scalar,
}

/// A key of a mapping, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub name: String,
    pub at: Pos,
}

#[derive(Debug)]
pub struct Node {
    pub kind: Kind,
    pub start: Pos,
    /// Block (`key: value` lines, `- item` lines) rather than flow (`{…}`, `[…]`) style.
    pub block: bool,
    /// Byte range of the node in the source; for a scalar the text as written (quotes
    /// included). `None` when the parser gave no byte offsets.
    pub bytes: Option<Range<usize>>,
    pub parent: Option<usize>,
    /// The key this node is the value of (its parent is a mapping).
    pub key: Option<Key>,
    /// A mapping's keys in file order, each with the index of its value.
    pub entries: Vec<(Key, usize)>,
    /// A scalar's value after YAML processing (quotes and escapes removed).
    pub value: String,
}

/// Every node of the file's first document, parents before children.
#[derive(Debug, Default)]
pub struct Outline {
    pub nodes: Vec<Node>,
    source: String,
}

/// Where a container being read stands.
struct Open {
    node: usize,
    /// A mapping that has read a key and waits for its value.
    key: Option<Key>,
    /// A collection used as a mapping key (`? [a, b]: …`): its end completes a key.
    is_key: bool,
}

fn pos(span: &Span) -> Pos {
    (span.start.line(), span.start.col() + 1)
}

impl Outline {
    /// The outline of `source`, or `None` when it is not valid YAML.
    pub fn parse(source: &str) -> Option<Outline> {
        let mut out = Outline {
            nodes: Vec::new(),
            source: source.to_string(),
        };
        let mut stack: Vec<Open> = Vec::new();
        for event in Parser::new_from_str(source) {
            let (event, span) = event.ok()?;
            let (kind, block, value) = match event {
                Event::DocumentEnd => break,
                Event::MappingEnd | Event::SequenceEnd => {
                    let open = stack.pop()?;
                    if let (Some(start), Some(end)) = (
                        out.nodes[open.node].bytes.as_ref().map(|b| b.start),
                        span.end.byte_offset(),
                    ) {
                        out.nodes[open.node].bytes = Some(start..end.max(start));
                    }
                    if open.is_key {
                        if let Some(parent) = stack.last_mut() {
                            parent.key = Some(Key {
                                name: String::new(),
                                at: out.nodes[open.node].start,
                            });
                        }
                    }
                    continue;
                }
                Event::MappingStart(style, ..) => {
                    (Kind::Mapping, style == StructureStyle::Block, String::new())
                }
                Event::SequenceStart(style, ..) => (
                    Kind::Sequence,
                    style == StructureStyle::Block,
                    String::new(),
                ),
                Event::Scalar(text, ..) => (Kind::Scalar, false, text.into_owned()),
                Event::Alias(..) | Event::UnresolvedAlias(..) => {
                    (Kind::Scalar, false, String::new())
                }
                _ => continue,
            };
            let at = pos(&span);
            let parent = stack.last_mut();
            // In a mapping waiting for a key, this node is that key.
            let key_position = parent
                .as_ref()
                .is_some_and(|p| out.nodes[p.node].kind == Kind::Mapping && p.key.is_none());
            if key_position && kind == Kind::Scalar {
                if let Some(p) = parent {
                    p.key = Some(Key { name: value, at });
                }
                continue;
            }
            let (parent_index, key) = match parent {
                Some(p) if key_position => (Some(p.node), None),
                Some(p) => (Some(p.node), p.key.take()),
                None => (None, None),
            };
            let index = out.nodes.len();
            if let (Some(p), Some(k)) = (parent_index, &key) {
                out.nodes[p].entries.push((k.clone(), index));
            }
            let bytes = match (span.start.byte_offset(), span.end.byte_offset()) {
                (Some(s), Some(e)) => Some(s..e.max(s)),
                _ => None,
            };
            out.nodes.push(Node {
                kind,
                start: at,
                block,
                bytes,
                parent: parent_index,
                key,
                entries: Vec::new(),
                value,
            });
            if kind != Kind::Scalar {
                stack.push(Open {
                    node: index,
                    key: None,
                    is_key: key_position,
                });
            }
        }
        Some(out)
    }

    /// The innermost node that starts at `at`.
    pub fn node_at(&self, at: Pos) -> Option<usize> {
        self.nodes.iter().rposition(|n| n.start == at)
    }

    /// The key whose value starts at `at` (the value of a `Spanned` field, say).
    pub fn key_of(&self, at: Pos) -> Option<&Key> {
        self.node_at(at).and_then(|i| self.nodes[i].key.as_ref())
    }

    /// The mapping that has a key at `at`.
    pub fn mapping_with_key_at(&self, at: Pos) -> Option<usize> {
        self.nodes
            .iter()
            .rposition(|n| n.entries.iter().any(|(k, _)| k.at == at))
    }

    /// Where to point at node `i` as a whole: its key (`health:`), the `-` of its entry in a
    /// block list, or where it starts.
    pub fn entry_pos(&self, i: usize) -> Pos {
        let n = &self.nodes[i];
        if let Some(k) = &n.key {
            return k.at;
        }
        let in_block_list = n
            .parent
            .is_some_and(|p| self.nodes[p].kind == Kind::Sequence && self.nodes[p].block);
        if in_block_list {
            if let Some(dash) = self.dash_before(n.start) {
                return dash;
            }
        }
        n.start
    }

    /// The `-` that introduces a block list entry starting at `at`, on the same line.
    fn dash_before(&self, (line, col): Pos) -> Option<Pos> {
        let text = self.source.lines().nth(line.checked_sub(1)?)?;
        let before: Vec<char> = text.chars().take(col.checked_sub(1)?).collect();
        let end = before.iter().rposition(|c| !c.is_whitespace())?;
        let starts_item = end == 0 || before[end - 1].is_whitespace();
        (before[end] == '-' && starts_item).then_some((line, end + 1))
    }

    /// The value of key `name` in mapping `i`, with the key.
    pub fn child(&self, i: usize, name: &str) -> Option<(&Key, usize)> {
        self.nodes
            .get(i)?
            .entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(k, v)| (k, *v))
    }

    /// The key at the end of `path` from the mapping that starts at `at`
    /// (`["windows_image", "server2022"]` from a component).
    pub fn key_path(&self, at: Pos, path: &[&str]) -> Option<&Key> {
        let mut node = self.node_at(at)?;
        let mut key = None;
        for name in path {
            let (k, v) = self.child(node, name)?;
            key = Some(k);
            node = v;
        }
        key
    }

    /// The source position of `range` (byte offsets into the scalar's value) in the scalar
    /// that starts at `at`, with its length in characters. `None` when the written text and
    /// the value differ there (escapes, folded lines): the caller points at the scalar.
    pub fn in_scalar(&self, at: Pos, range: Range<usize>) -> Option<(Pos, usize)> {
        let n = &self.nodes[self.node_at(at)?];
        let piece = n.value.get(range.clone())?;
        if piece.is_empty() || n.kind != Kind::Scalar {
            return None;
        }
        let written = self.source.get(n.bytes.clone()?)?;
        // The same occurrence of the piece in the written text as in the value.
        let nth = n.value[..range.start].matches(piece).count();
        let found: Vec<usize> = written.match_indices(piece).map(|(i, _)| i).collect();
        if found.len() != n.value.matches(piece).count() {
            return None;
        }
        let offset = n.bytes.as_ref()?.start + *found.get(nth)?;
        let before = &self.source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.source[line_start..offset].chars().count() + 1;
        let width = piece.lines().next().unwrap_or_default().chars().count();
        Some(((line, col), width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_entries_and_positions() {
        let src = "# c\na: 1\nnodes:\n  first:\n    x: [1, {y: 2}]\nlist:\n  - k: v\n    m: n\n  - \"q\"\n";
        let o = Outline::parse(src).unwrap();
        // The mapping under `nodes` starts at `first`, and is the value of `nodes`.
        let first = o.node_at((4, 3)).unwrap();
        assert_eq!(o.nodes[first].kind, Kind::Mapping);
        assert_eq!(o.key_of((4, 3)).unwrap().name, "nodes");
        assert_eq!(o.entry_pos(first), (3, 1));
        // A block list entry is pointed at by its dash.
        let entry = o.mapping_with_key_at((8, 5)).unwrap();
        assert_eq!(o.nodes[entry].start, (7, 5));
        assert_eq!(o.entry_pos(entry), (7, 3));
        // Flow collections and scalars in them.
        let y = o.node_at((5, 12)).unwrap();
        assert_eq!(o.nodes[y].kind, Kind::Mapping);
        assert!(!o.nodes[y].block);
        assert_eq!(o.key_of((5, 16)).unwrap().name, "y");
        assert_eq!(o.key_path((4, 3), &["first", "x"]).unwrap().at, (5, 5));
        assert_eq!(o.key_path((4, 3), &["first", "z"]), None);
        // The root mapping starts at its first key.
        assert_eq!(o.entry_pos(0), (2, 1));
        assert_eq!(o.nodes[o.node_at((9, 5)).unwrap()].value, "q");
    }

    #[test]
    fn a_piece_of_a_scalar_is_found_where_it_is_written() {
        let src = "args: [\"--a={{x}} --b={{x}}\"]\nplain: p {{y}}\nesc: \"\\t{{z}}\"\n";
        let o = Outline::parse(src).unwrap();
        // The second `{{x}}` (value bytes 14..19) is in column 23 of the line.
        assert_eq!(o.in_scalar((1, 8), 14..19), Some(((1, 23), 5)));
        assert_eq!(o.in_scalar((2, 8), 2..7), Some(((2, 10), 5)));
        assert_eq!(o.in_scalar((3, 6), 1..6), Some(((3, 9), 5)));
        assert_eq!(o.in_scalar((2, 8), 40..45), None);
    }

    #[test]
    fn invalid_yaml_has_no_outline() {
        assert!(Outline::parse("a: [1, 2\nb: 3\n").is_none());
    }
}
