//! Edits to cluster.yml that keep the rest of the file exactly as it was (comments, order,
//! quoting): only one node's entry is taken out. The entry is found by the parsed structure
//! (not by looking for `- ` above its `address:`, which cut a list item of the node's own when
//! `address:` was not its first key), and the result must parse and list exactly the other
//! nodes before it is returned.

use std::ops::Range;

use super::outline::{Kind, Outline};

/// Why a node's entry could not be taken out; the file is then left alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("it is not valid YAML any more")]
    Unparsable,
    #[error("it has no `nodes:` list")]
    NoNodes,
    #[error("no entry under `nodes:` is named {0}")]
    NotFound(String),
    #[error("taking the entry out would have changed more than that entry")]
    Unverified,
}

/// Remove the `nodes:` entry named `name` (its `hostname_override`, else its `address`).
pub fn remove_node_entry(source: &str, name: &str) -> Result<String, EditError> {
    let outline = Outline::parse(source).ok_or(EditError::Unparsable)?;
    let before = node_names(&outline)?;
    let entry = before
        .iter()
        .find(|(_, n)| n == name)
        .map(|(i, _)| *i)
        .ok_or_else(|| EditError::NotFound(name.to_string()))?;
    let cut = entry_range(&outline, source, entry).ok_or(EditError::Unverified)?;
    let mut out = String::with_capacity(source.len());
    out.push_str(&source[..cut.start]);
    out.push_str(&source[cut.end..]);
    if before.len() == 1 {
        out = empty_block_list(&outline, &out, entry).ok_or(EditError::Unverified)?;
    }
    // The result must parse (as cluster.yml when the original did) and name the same nodes,
    // in the same order, less this one.
    let after = Outline::parse(&out).ok_or(EditError::Unverified)?;
    let want: Vec<&String> = before
        .iter()
        .filter(|(i, _)| *i != entry)
        .map(|(_, n)| n)
        .collect();
    let got = node_names(&after).map_err(|_| EditError::Unverified)?;
    let was_config = serde_saphyr::from_str::<super::schema::RawConfig>(source).is_ok();
    let is_config = serde_saphyr::from_str::<super::schema::RawConfig>(&out).is_ok();
    if got.iter().map(|(_, n)| n).ne(want) || (was_config && !is_config) {
        return Err(EditError::Unverified);
    }
    Ok(out)
}

/// Each entry of the top-level `nodes:` list with its name.
fn node_names(o: &Outline) -> Result<Vec<(usize, String)>, EditError> {
    let root = o
        .nodes
        .iter()
        .position(|n| n.parent.is_none() && n.kind == Kind::Mapping)
        .ok_or(EditError::NoNodes)?;
    let (_, list) = o.child(root, "nodes").ok_or(EditError::NoNodes)?;
    if o.nodes[list].kind != Kind::Sequence {
        return Err(EditError::NoNodes);
    }
    Ok(o.nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.parent == Some(list))
        .map(|(i, _)| {
            let name = ["hostname_override", "address"]
                .iter()
                .find_map(|k| o.child(i, k))
                .map(|(_, v)| o.nodes[v].value.clone())
                .unwrap_or_default();
            (i, name)
        })
        .collect())
}

/// With its only entry cut from a block list, `nodes:` would be null: make it `nodes: []`
/// (the key's line is above the entry, so its place in `text` is unchanged).
fn empty_block_list(o: &Outline, text: &str, entry: usize) -> Option<String> {
    let list = o.nodes[entry].parent?;
    if !o.nodes[list].block {
        return Some(text.to_string());
    }
    let (line, col) = o.nodes[list].key.as_ref()?.at;
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let key_at = line_start + text[line_start..].char_indices().nth(col - 1)?.0;
    let colon = key_at + text[key_at..].strip_prefix("nodes")?.find(':')? + "nodes".len() + 1;
    Some(format!("{} []{}", &text[..colon], &text[colon..]))
}

/// The bytes to cut for entry `i`: in a block list its lines, from its `-` to the next line
/// at or left of that `-` (comments and blank lines before that belong to what follows); in
/// a flow list (`[{…}, {…}]`) the entry and one comma next to it.
fn entry_range(o: &Outline, source: &str, i: usize) -> Option<Range<usize>> {
    let list = o.nodes[i].parent?;
    if o.nodes[list].block {
        let (dash_line, dash_col) = o.entry_pos(i);
        let lines: Vec<&str> = source.split_inclusive('\n').collect();
        let start = dash_line.checked_sub(1)?;
        let indent = |l: &str| l.len() - l.trim_start().len();
        let dash = indent(lines.get(start)?);
        // The `-` is the first thing on its line, where the outline put it.
        if !lines[start].trim_start().starts_with('-')
            || lines[start][..dash].chars().count() + 1 != dash_col
        {
            return None;
        }
        let mut end = start + 1;
        while end < lines.len() {
            let t = lines[end].trim();
            if !t.is_empty() && indent(lines[end]) <= dash && !t.starts_with('#') {
                break;
            }
            end += 1;
        }
        while end > start + 1
            && (lines[end - 1].trim().is_empty() || lines[end - 1].trim_start().starts_with('#'))
        {
            end -= 1;
        }
        let offset = |n: usize| lines[..n].iter().map(|l| l.len()).sum::<usize>();
        return Some(offset(start)..offset(end));
    }
    let entry = o.nodes[i].bytes.clone()?;
    let after = &source[entry.end..];
    let gap = after.len() - after.trim_start().len();
    if after[gap..].starts_with(',') {
        let rest = &after[gap + 1..];
        let space = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        return Some(entry.start..entry.end + gap + 1 + space);
    }
    // The last entry: the comma before it goes with it; the only one goes alone.
    let before = &source[..entry.start];
    match before.trim_end().strip_suffix(',') {
        Some(kept) => Some(kept.len()..entry.end),
        None => Some(entry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# my cluster\ncluster_name: demo\nnodes:\n  - address: 10.0.0.1   # first\n    hostname_override: a\n    role: [etcd]\n\n  # the second one\n  - address: 10.0.0.2\n    hostname_override: b\n  - {address: 10.0.0.3, hostname_override: c}\ncomponents: []\n";

    #[test]
    fn removes_only_the_entry_and_keeps_everything_else() {
        let out = remove_node_entry(FILE, "b").unwrap();
        assert_eq!(out, "# my cluster\ncluster_name: demo\nnodes:\n  - address: 10.0.0.1   # first\n    hostname_override: a\n    role: [etcd]\n\n  # the second one\n  - {address: 10.0.0.3, hostname_override: c}\ncomponents: []\n");
        let out = remove_node_entry(FILE, "a").unwrap();
        assert!(out.starts_with("# my cluster\ncluster_name: demo\nnodes:\n\n  # the second one\n  - address: 10.0.0.2\n"), "{out}");
        let out = remove_node_entry(FILE, "c").unwrap();
        assert!(
            out.ends_with("    hostname_override: b\ncomponents: []\n"),
            "{out}"
        );
        assert_eq!(
            remove_node_entry(FILE, "10.0.0.2"),
            Err(EditError::NotFound("10.0.0.2".into())),
            "a node with hostname_override is named by it"
        );
    }

    #[test]
    fn a_node_whose_address_is_not_its_first_key_goes_whole() {
        let file = "nodes:\n  - hostname_override: a\n    role:\n      - etcd\n      - worker\n    address: 10.0.0.1\n  - address: 10.0.0.2\n";
        let out = remove_node_entry(file, "a").unwrap();
        assert_eq!(out, "nodes:\n  - address: 10.0.0.2\n");
    }

    #[test]
    fn flow_entries_and_flow_lists() {
        let file = "nodes: [{role: [etcd], address: 10.0.0.1}, {address: 10.0.0.2},\n  {address: 10.0.0.3}]  # all\n";
        assert_eq!(
            remove_node_entry(file, "10.0.0.1").unwrap(),
            "nodes: [{address: 10.0.0.2},\n  {address: 10.0.0.3}]  # all\n"
        );
        assert_eq!(
            remove_node_entry(file, "10.0.0.3").unwrap(),
            "nodes: [{role: [etcd], address: 10.0.0.1}, {address: 10.0.0.2}]  # all\n"
        );
        assert_eq!(
            remove_node_entry("nodes: [{address: 10.0.0.1}]\n", "10.0.0.1").unwrap(),
            "nodes: []\n"
        );
        let block = "cluster_name: demo\nnodes:   # the hosts\n  - {role: [etcd], hostname_override: gone, address: 10.0.0.1}\ncomponents: []\n";
        assert_eq!(
            remove_node_entry(block, "gone").unwrap(),
            "cluster_name: demo\nnodes: []   # the hosts\ncomponents: []\n"
        );
    }
}
