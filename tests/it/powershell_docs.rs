//! tests/powershell/cmdlets.tsv against the docs: every row has a committed extract of its
//! docs page(s) under tests/powershell/docs/ (URL, source and commit, date read, the parameters
//! the page documents), the row's docs URL is one of the extract's pages, and every parameter,
//! flag or word the row allows is one those pages document. See tests/powershell/docs/README.md.

use std::collections::BTreeMap;

/// Words rows may use that the stored copy of their page could not show. Each is named here so
/// the list cannot grow unnoticed (netsh: only the command index of the Windows Server 2008 R2
/// page could be read; see tests/powershell/docs/netsh.txt).
const KNOWN_UNREAD: &[&str] = &["netsh full", "netsh private", "netsh tcp", "netsh udp"];

/// One row of cmdlets.tsv: name, allowed parameters or words, docs page.
struct Row {
    name: String,
    params: Vec<String>,
    url: String,
}

fn rows(tsv: &str) -> Vec<Row> {
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "cmdlets.tsv row needs 3 columns: {l}");
            Row {
                name: cols[0].to_string(),
                params: cols[1]
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
                url: cols[2].to_string(),
            }
        })
        .collect()
}

fn docs_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/powershell/docs")
}

/// Every extract file: row name (the file name without `.txt`) → text.
fn extract_files() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(docs_dir()).expect("tests/powershell/docs is readable") {
        let path = entry.expect("a directory entry").path();
        let Some(row) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".txt"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("an extract is readable");
        out.insert(row.to_string(), text);
    }
    out
}

/// One docs page of an extract.
#[derive(Default)]
struct Page {
    url: String,
    source: String,
    read: String,
    documents: Vec<String>,
}

#[derive(Default)]
struct Extract {
    row: String,
    pages: Vec<Page>,
    combinable: bool,
    unread: Vec<String>,
}

fn parse_extract(text: &str) -> Result<Extract, String> {
    let mut e = Extract::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| format!("line {}: not `key: value`", n + 1))?;
        let value = value.trim();
        let words = || value.split_whitespace().map(str::to_string);
        let page = e.pages.last_mut();
        match (key, page) {
            ("row", _) => e.row = value.to_string(),
            ("page", _) => e.pages.push(Page {
                url: value.to_string(),
                ..Default::default()
            }),
            ("source", Some(p)) => p.source = value.to_string(),
            ("read", Some(p)) => p.read = value.to_string(),
            ("documents" | "common", Some(p)) => p.documents.extend(words()),
            ("shorthand", Some(_)) => e.combinable = value.starts_with("combinable"),
            ("unread", Some(_)) => e.unread.extend(words()),
            ("command" | "aliases" | "note", Some(_)) => {}
            (k, None) => return Err(format!("line {}: {k} before any page:", n + 1)),
            (k, Some(_)) => return Err(format!("line {}: unknown key {k}", n + 1)),
        }
    }
    Ok(e)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// Problems between the rows and the extracts, and the `unread` words rows rely on
/// (as "row word").
fn check(rows: &[Row], extracts: &BTreeMap<String, String>) -> (Vec<String>, Vec<String>) {
    let mut bad = Vec::new();
    let mut unread_used = Vec::new();
    for row in rows {
        let name = &row.name;
        let Some(text) = extracts.get(name) else {
            bad.push(format!(
                "{name}: no extract tests/powershell/docs/{name}.txt"
            ));
            continue;
        };
        let e = match parse_extract(text) {
            Ok(e) => e,
            Err(err) => {
                bad.push(format!("{name}.txt: {err}"));
                continue;
            }
        };
        if &e.row != name {
            bad.push(format!("{name}.txt: says row: {:?}", e.row));
        }
        if e.pages.is_empty() {
            bad.push(format!("{name}.txt: no page:"));
        }
        for p in &e.pages {
            if !p.url.starts_with("https://") {
                bad.push(format!("{name}.txt: page {} is not https", p.url));
            }
            if p.source.is_empty() {
                bad.push(format!("{name}.txt: page {} has no source:", p.url));
            }
            if !is_date(&p.read) {
                bad.push(format!("{name}.txt: page {} has no read: date", p.url));
            }
            if p.documents.is_empty() {
                bad.push(format!("{name}.txt: page {} documents nothing", p.url));
            }
        }
        if !e.pages.iter().any(|p| p.url == row.url) {
            bad.push(format!(
                "{name}: its docs page {} is not a page of {name}.txt",
                row.url
            ));
        }
        let documented = |w: &str| e.pages.iter().any(|p| p.documents.iter().any(|d| d == w));
        for param in &row.params {
            let combined = e.combinable
                && param.len() > 2
                && param.starts_with('-')
                && param[1..].chars().all(|c| c.is_ascii_alphabetic())
                && param[1..].chars().all(|c| documented(&format!("-{c}")));
            if documented(param) || combined {
                continue;
            }
            if e.unread.contains(param) {
                unread_used.push(format!("{name} {param}"));
                continue;
            }
            bad.push(format!(
                "{name} {param} is not documented by {name}.txt's pages"
            ));
        }
    }
    for file in extracts.keys() {
        if !rows.iter().any(|r| &r.name == file) {
            bad.push(format!("{file}.txt: no cmdlets.tsv row {file}"));
        }
    }
    (bad, unread_used)
}

fn tsv() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/powershell/cmdlets.tsv");
    std::fs::read_to_string(path).expect("tests/powershell/cmdlets.tsv is readable")
}

#[test]
fn every_row_has_an_extract_that_documents_its_parameters() {
    let (bad, unread) = check(&rows(&tsv()), &extract_files());
    assert!(
        bad.is_empty(),
        "cmdlets.tsv against tests/powershell/docs:\n{}",
        bad.join("\n")
    );
    assert_eq!(
        unread, KNOWN_UNREAD,
        "words rows use that no stored docs page shows"
    );
}

#[test]
fn a_missing_extract_or_an_undocumented_parameter_fails() {
    let page = |url: &str, documents: &str| {
        format!("row: X\npage: {url}\nsource: s\nread: 2026-12-01\ndocuments: {documents}\n")
    };
    let tsv = "Get-NetRoute\tAddressFamily,PolicyStor\thttps://a\n\
               Stop-Computer\tForce\thttps://b\n\
               docker\tps,-aq\thttps://c\n\
               netsh\trouting\thttps://d\n";
    let extracts = BTreeMap::from([
        (
            "Get-NetRoute".to_string(),
            page("https://a", "AddressFamily PolicyStore").replace("row: X", "row: Get-NetRoute"),
        ),
        (
            "docker".to_string(),
            page("https://c", "ps -a -q").replace("row: X", "row: docker"),
        ),
        (
            "netsh".to_string(),
            page("https://elsewhere", "routing").replace("row: X", "row: netsh"),
        ),
        ("Orphan".to_string(), page("https://e", "x")),
    ]);
    let (bad, _) = check(&rows(tsv), &extracts);
    let has = |s: &str| bad.iter().any(|b| b.contains(s));
    assert!(has("Get-NetRoute PolicyStor is not documented"), "{bad:?}");
    assert!(has("Stop-Computer: no extract"), "{bad:?}");
    assert!(has("docker -aq is not documented"), "{bad:?}");
    assert!(has("netsh: its docs page https://d"), "{bad:?}");
    assert!(has("Orphan.txt: no cmdlets.tsv row"), "{bad:?}");
    assert!(!has("AddressFamily"), "{bad:?}");

    // docker's own page says one-letter flags combine: -aq is then -a and -q.
    let mut extracts = extracts;
    let docker = extracts.get_mut("docker").expect("docker");
    docker.push_str("shorthand: combinable\n");
    let (bad, _) = check(&rows(tsv), &extracts);
    assert!(!bad.iter().any(|b| b.contains("-aq")), "{bad:?}");
}

#[test]
fn removing_a_documented_parameter_from_a_real_extract_fails() {
    let mut extracts = extract_files();
    let text = extracts.get_mut("Get-NetRoute").expect("Get-NetRoute.txt");
    *text = text.replace(" DestinationPrefix", "");
    let (bad, _) = check(&rows(&tsv()), &extracts);
    assert_eq!(
        bad,
        ["Get-NetRoute DestinationPrefix is not documented by Get-NetRoute.txt's pages"]
    );
    let mut extracts = extract_files();
    extracts.remove("sc.exe");
    let (bad, _) = check(&rows(&tsv()), &extracts);
    assert_eq!(bad, ["sc.exe: no extract tests/powershell/docs/sc.exe.txt"]);
}
