//! winsim knows only documented PowerShell: every cmdlet and parameter it accepts is in
//! tests/powershell/cmdlets.tsv, the table (with each cmdlet's Microsoft docs page) that rwin's
//! own tests check every generated script against, and each of those parameters is one the
//! cmdlet's docs page documents (tests/powershell/docs/<cmdlet>.txt, an extract of that page).
//! So a script that winsim accepts uses nothing but cmdlets and parameters Microsoft documents.

use std::collections::{BTreeMap, BTreeSet};

/// rwin's table, then winsim's additions (tests/winsim/contract/additions.tsv: what winsim
/// accepts that rwin does not send yet), a row there replacing rwin's row of the same cmdlet.
fn table() -> BTreeMap<String, (BTreeSet<String>, String)> {
    let mut t = rows(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../powershell/cmdlets.tsv"
    ));
    t.extend(rows(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contract/additions.tsv"
    )));
    t
}

fn rows(path: &str) -> BTreeMap<String, (BTreeSet<String>, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "three tab-separated columns: {l}");
            let params = cols[1]
                .split(',')
                .map(|p| p.trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .collect();
            (cols[0].to_ascii_lowercase(), (params, cols[2].to_string()))
        })
        .collect()
}

/// The extract of `cmdlet`'s docs page: its pages, and the parameters they document
/// (`documents:` and `common:` lines; tests/powershell/docs/README.md).
/// winsim's own extracts (tests/winsim/contract/docs/) stand for cmdlets rwin does not send yet.
fn extract(cmdlet: &str) -> Option<(Vec<String>, BTreeSet<String>)> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{dir}/../powershell/docs/{cmdlet}.txt"))
        .or_else(|_| std::fs::read_to_string(format!("{dir}/contract/docs/{cmdlet}.txt")))
        .ok()?;
    let mut pages = Vec::new();
    let mut documented = BTreeSet::new();
    for line in text.lines() {
        match line.split_once(':') {
            Some(("page", url)) => pages.push(url.trim().to_string()),
            Some(("documents" | "common", words)) => {
                documented.extend(words.split_whitespace().map(str::to_string))
            }
            _ => {}
        }
    }
    Some((pages, documented))
}

#[test]
fn every_cmdlet_winsim_knows_is_documented_in_the_table() {
    let table = table();
    let mut problems = Vec::new();
    for spec in winsim::cmdlets::all() {
        let Some((params, url)) = table.get(&spec.name.to_ascii_lowercase()) else {
            problems.push(format!("{} is not in cmdlets.tsv", spec.name));
            continue;
        };
        if !url.starts_with("https://learn.microsoft.com/") {
            problems.push(format!("{}: docs page {url} is not Microsoft's", spec.name));
        }
        let Some((pages, documented)) = extract(spec.name) else {
            problems.push(format!(
                "{}: no extract tests/powershell/docs/{}.txt",
                spec.name, spec.name
            ));
            continue;
        };
        if !pages.contains(url) {
            problems.push(format!(
                "{}: docs page {url} is not in its extract",
                spec.name
            ));
        }
        for (p, _) in spec.params {
            if !params.contains(&p.to_ascii_lowercase()) {
                problems.push(format!("{} -{p} is not in cmdlets.tsv", spec.name));
            }
            if !documented.contains(*p) {
                problems.push(format!(
                    "{} -{p} is not documented by its docs page (tests/powershell/docs/{}.txt)",
                    spec.name, spec.name
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "winsim accepts PowerShell the table does not document:\n{}",
        problems.join("\n")
    );
}
