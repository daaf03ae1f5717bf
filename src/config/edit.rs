//! Edits to cluster.yml that keep the rest of the file exactly as it was (comments, order,
//! quoting): only the lines of one node's entry are taken out.

/// Remove the `nodes:` entry whose `address:` is on `line` (1-based). `None` if the entry's
/// shape is not recognised (then the file is left alone and the user edits it).
pub fn remove_node_entry(source: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = source.split_inclusive('\n').collect();
    let at = line.checked_sub(1).filter(|i| *i < lines.len())?;
    let indent = |l: &str| l.len() - l.trim_start().len();
    // The entry starts at the closest line at or above `at` that begins a list item.
    let start = (0..=at)
        .rev()
        .find(|i| lines[*i].trim_start().starts_with("- ") || lines[*i].trim() == "-")?;
    let dash = indent(lines[start]);
    if (start..at).any(|i| !lines[i].trim().is_empty() && indent(lines[i]) < dash) {
        return None;
    }
    // It runs while lines are blank, comments, or indented deeper than its dash.
    let mut end = start + 1;
    while end < lines.len() {
        let l = lines[end];
        let t = l.trim();
        if !t.is_empty() && indent(l) <= dash && !t.starts_with('#') {
            break;
        }
        end += 1;
    }
    // Keep trailing blank lines and comments: they belong to what follows.
    while end > start + 1
        && (lines[end - 1].trim().is_empty() || lines[end - 1].trim_start().starts_with('#'))
    {
        end -= 1;
    }
    let mut out: String = lines[..start].concat();
    out.push_str(&lines[end..].concat());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# my cluster\ncluster_name: demo\nnodes:\n  - address: 10.0.0.1   # first\n    hostname_override: a\n    role: [etcd]\n\n  # the second one\n  - address: 10.0.0.2\n    hostname_override: b\n  - {address: 10.0.0.3, hostname_override: c}\ncomponents: []\n";

    #[test]
    fn removes_only_the_entry_and_keeps_everything_else() {
        let out = remove_node_entry(FILE, 9).unwrap();
        assert_eq!(out, "# my cluster\ncluster_name: demo\nnodes:\n  - address: 10.0.0.1   # first\n    hostname_override: a\n    role: [etcd]\n\n  # the second one\n  - {address: 10.0.0.3, hostname_override: c}\ncomponents: []\n");
        let out = remove_node_entry(FILE, 4).unwrap();
        assert!(out.starts_with("# my cluster\ncluster_name: demo\nnodes:\n\n  # the second one\n  - address: 10.0.0.2\n"), "{out}");
        let out = remove_node_entry(FILE, 11).unwrap();
        assert!(
            out.ends_with("    hostname_override: b\ncomponents: []\n"),
            "{out}"
        );
    }
}
