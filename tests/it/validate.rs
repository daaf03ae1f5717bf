//! The bad-config corpus: every `tests/bad-configs/*.yml` is run through `rwin validate` and its
//! exit code and stderr are compared with a snapshot (`tests/it/snapshots/it__validate__NAME.snap`).
//!
//! Every case starts with one `# expect: LINE:COL phrase` comment line per diagnostic it must
//! produce: where the mistake is, as a person reading the file would put it, and a few words
//! the message (or its help) must contain. The diagnostics must be exactly those: none missing,
//! none extra, each at its `FILE:LINE:COL`. A snapshot alone would accept a wrong place once
//! someone accepted it; the header says what right is.
//!
//! Besides that and the snapshot, every case must:
//! - not panic;
//! - exit 2, or 0 when the file name starts with `warn-` (warnings only);
//! - point every diagnostic at `--> tests/bad-configs/NAME.yml:LINE:COL`, quoting that very line
//!   of the file (only the cases in `WHOLE_FILE` may name the file alone);
//! - list its diagnostics top to bottom, and count its errors right in the closing summary.
//!
//! To add a case, drop a YAML file in tests/bad-configs/ (the name says what is wrong) with its
//! `# expect:` lines first (after any description comment), run
//! `INSTA_UPDATE=always cargo test --test it validate`, then read the new snapshot.

use std::path::{Path, PathBuf};

use crate::common::{repo, rwin};

/// The environment variable the corpus names where a secret should come from; never set.
const UNSET_VAR: &str = "RWIN_TEST_SURELY_UNSET_VAR";

/// HOME for the corpus, so a fallback to `~/.ssh/id_rsa` is the same on every machine.
const FAKE_HOME: &str = "/nonexistent-rwin-test-home";

/// Cases whose problem has no single place in the file (reported as `--> FILE` alone).
const WHOLE_FILE: &[&str] = &[];

fn corpus() -> Vec<PathBuf> {
    let dir = repo().join("tests/bad-configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn validate(rel: &str) -> Run {
    let out = rwin()
        .current_dir(repo())
        .env_remove(UNSET_VAR)
        .env("HOME", FAKE_HOME)
        .env("WINRM_PASSWORD", "x")
        .args(["validate", rel])
        .output()
        .expect("rwin runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// One rendered diagnostic: `error: …` / `warning: …` up to the blank line after it.
struct Block<'a> {
    severity: &'a str,
    text: &'a str,
}

/// The diagnostics in stderr, without the closing `error: FILE: N problem(s) found` line.
fn blocks<'a>(stderr: &'a str, rel: &str) -> Vec<Block<'a>> {
    let summary = format!("error: {rel}: ");
    stderr
        .split("\n\n")
        .map(|b| b.trim_matches('\n'))
        .filter(|b| !b.is_empty() && !b.starts_with(&summary))
        .map(|b| {
            let severity = if b.starts_with("error: ") {
                "error"
            } else if b.starts_with("warning: ") {
                "warning"
            } else {
                "other"
            };
            Block { severity, text: b }
        })
        .collect()
}

/// One `# expect: LINE:COL phrase` header line: a diagnostic the case must produce.
#[derive(Debug)]
struct Expect {
    line: usize,
    col: usize,
    phrase: String,
}

/// The `# expect:` lines of a case. They belong to the comment block the file starts with.
fn expectations(source: &str) -> Result<Vec<Expect>, String> {
    let mut out = Vec::new();
    let mut in_header = true;
    for (i, text) in source.lines().enumerate() {
        in_header &= text.starts_with('#');
        let Some(rest) = text.trim_start().strip_prefix("# expect:") else {
            continue;
        };
        if !in_header {
            return Err(format!(
                "`# expect:` on line {} is not in the header comment",
                i + 1
            ));
        }
        let parsed = rest.trim().split_once(' ').and_then(|(at, phrase)| {
            let (l, c) = at.split_once(':')?;
            Some(Expect {
                line: l.parse().ok()?,
                col: c.parse().ok()?,
                phrase: phrase.trim().to_string(),
            })
        });
        match parsed {
            Some(e) if e.line > 0 && e.col > 0 && !e.phrase.is_empty() => out.push(e),
            _ => {
                return Err(format!(
                    "line {}: want `# expect: LINE:COL phrase`, got {text:?}",
                    i + 1
                ))
            }
        }
    }
    if out.is_empty() {
        return Err(
            "no `# expect: LINE:COL phrase` header: say where each diagnostic must point".into(),
        );
    }
    Ok(out)
}

/// A diagnostic as the expectations see it: where it points and what it says (the message and
/// its help, not the quoted source line).
struct Found {
    at: Option<(usize, usize)>,
    head: String,
    words: String,
}

fn found(blocks: &[Block<'_>], rel: &str) -> Vec<Found> {
    blocks
        .iter()
        .map(|b| {
            let at = b
                .text
                .lines()
                .find_map(|l| l.trim_start().strip_prefix("--> "))
                .and_then(|a| a.strip_prefix(rel)?.strip_prefix(':')?.split_once(':'))
                .and_then(|(l, c)| Some((l.parse().ok()?, c.parse().ok()?)));
            let words = b
                .text
                .lines()
                .filter(|l| {
                    l.starts_with("error: ")
                        || l.starts_with("warning: ")
                        || l.trim_start().starts_with("= help:")
                })
                .collect::<Vec<_>>()
                .join("\n");
            Found {
                at,
                head: b.text.lines().next().unwrap_or_default().to_string(),
                words,
            }
        })
        .collect()
}

/// The diagnostics must be the expected ones: each expectation met by its own diagnostic at
/// that line and column that contains the phrase, and no diagnostic left over.
fn unmet(expects: &[Expect], found: &[Found]) -> Vec<String> {
    let mut bad = Vec::new();
    let mut used = vec![false; found.len()];
    for e in expects {
        let hit = found.iter().enumerate().position(|(i, f)| {
            !used[i] && f.at == Some((e.line, e.col)) && f.words.contains(&e.phrase)
        });
        match hit {
            Some(i) => used[i] = true,
            None => {
                let there: Vec<&str> = found
                    .iter()
                    .filter(|f| f.at == Some((e.line, e.col)))
                    .map(|f| f.head.as_str())
                    .collect();
                bad.push(if there.is_empty() {
                    format!(
                        "expected a diagnostic at {}:{} ({:?}); none points there",
                        e.line, e.col, e.phrase
                    )
                } else {
                    format!(
                        "expected {:?} at {}:{}; what points there says {there:?}",
                        e.phrase, e.line, e.col
                    )
                });
            }
        }
    }
    for (f, _) in found.iter().zip(&used).filter(|(_, u)| !**u) {
        let at =
            f.at.map_or("no line:column".to_string(), |(l, c)| format!("{l}:{c}"));
        bad.push(format!("unexpected diagnostic at {at}: `{}`", f.head));
    }
    bad
}

/// Check what every case must satisfy; return what is wrong (empty: all fine).
fn invariants(name: &str, rel: &str, source: &str, run: &Run) -> Vec<String> {
    let mut bad = Vec::new();
    let all = format!("{}{}", run.stdout, run.stderr);
    if all.contains("panicked") || all.contains("RUST_BACKTRACE") {
        bad.push("rwin panicked".to_string());
    }
    let want = if name.starts_with("warn-") { 0 } else { 2 };
    if run.code != want {
        bad.push(format!("exit code {} (want {want})", run.code));
    }
    if want == 0 && !run.stdout.contains(": valid (") {
        bad.push("a warnings-only config should still be reported valid on stdout".into());
    }

    let blocks = blocks(&run.stderr, rel);
    if blocks.is_empty() {
        bad.push("no diagnostic at all".into());
    }
    let lines: Vec<&str> = source.lines().collect();
    let mut last = (0usize, 0usize);
    let mut errors = 0;
    for b in &blocks {
        let head = b.text.lines().next().unwrap_or_default();
        match b.severity {
            "error" => errors += 1,
            "warning" => {}
            _ => {
                bad.push(format!(
                    "stderr has text that is not a diagnostic: {head:?}"
                ));
                continue;
            }
        }
        let Some(arrow) = b
            .text
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("--> "))
        else {
            bad.push(format!("`{head}` has no --> line"));
            continue;
        };
        let Some(loc) = arrow.strip_prefix(rel) else {
            bad.push(format!("`{head}` points at {arrow}, not at {rel}"));
            continue;
        };
        if loc.is_empty() {
            if !WHOLE_FILE.contains(&name) {
                bad.push(format!("`{head}` has no line and column"));
            }
            continue;
        }
        let parsed = loc
            .strip_prefix(':')
            .and_then(|l| l.split_once(':'))
            .and_then(|(l, c)| Some((l.parse::<usize>().ok()?, c.parse::<usize>().ok()?)));
        let Some((line, col)) = parsed else {
            bad.push(format!("`{head}`: malformed location {arrow}"));
            continue;
        };
        if line == 0 || col == 0 {
            bad.push(format!("`{head}`: location {line}:{col} is not 1-based"));
        }
        if (line, col) < last {
            bad.push(format!(
                "`{head}` at {line}:{col} comes after {}:{} (not in file order)",
                last.0, last.1
            ));
        }
        last = (line, col);
        // The quoted source line must be the file's line `line`.
        if let Some(text) = line.checked_sub(1).and_then(|i| lines.get(i)) {
            let quoted = format!("{line} | {text}");
            if !b.text.lines().any(|l| l.trim_end() == quoted.trim_end()) {
                bad.push(format!("`{head}` does not quote line {line} ({text:?})"));
            }
        } else if !(source.is_empty() && line == 1) {
            bad.push(format!(
                "`{head}`: line {line} is past the end of the file ({} lines)",
                lines.len()
            ));
        }
    }
    if want == 2 {
        let summary = format!("error: {rel}: {errors} problem(s) found; nothing was changed");
        if !run.stderr.lines().any(|l| l == summary) {
            bad.push(format!("missing or wrong summary; want `{summary}`"));
        }
    } else if errors > 0 {
        bad.push(format!("{errors} error(s) in a warnings-only case"));
    }
    bad
}

#[test]
fn bad_configs_report_every_problem_at_its_place() {
    let mut failures = Vec::new();
    let mut runs = Vec::new();
    for path in corpus() {
        let name = stem(&path);
        let rel = format!("tests/bad-configs/{name}.yml");
        let source = std::fs::read_to_string(&path).expect("readable case");
        let run = validate(&rel);
        for problem in invariants(&name, &rel, &source, &run) {
            failures.push(format!("{rel}: {problem}"));
        }
        let problems = match expectations(&source) {
            Ok(expects) => unmet(&expects, &found(&blocks(&run.stderr, &rel), &rel)),
            Err(e) => vec![e],
        };
        for problem in problems {
            failures.push(format!("{rel}: {problem}"));
        }
        runs.push((name, run));
    }
    // Shown even when a snapshot mismatch below ends the test first.
    if !failures.is_empty() {
        eprintln!("bad-config corpus:\n  {}", failures.join("\n  "));
    }
    for (name, run) in &runs {
        insta::assert_snapshot!(
            name.as_str(),
            format!("exit code: {}\n{}", run.code, run.stderr)
        );
    }
    assert!(
        failures.is_empty(),
        "bad-config corpus:\n  {}",
        failures.join("\n  ")
    );
}

#[test]
fn bad_config_corpus_has_at_least_40_cases() {
    let n = corpus().len();
    assert!(
        n >= 40,
        "tests/bad-configs/ has {n} cases; the corpus needs at least 40"
    );
}

#[test]
fn several_errors_are_all_reported_in_one_run_in_line_order() {
    let rel = "tests/bad-configs/several-errors.yml";
    let source = std::fs::read_to_string(repo().join(rel)).expect("readable case");
    let expects = expectations(&source).expect("several-errors.yml has its # expect: lines");
    // One per mistake planted in the file, each on its own line.
    let mut lines: Vec<usize> = expects.iter().map(|e| e.line).collect();
    lines.dedup();
    assert!(
        lines.len() >= 14,
        "several-errors.yml plants only {} mistakes",
        lines.len()
    );
    let run = validate(rel);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let problems = unmet(&expects, &found(&blocks(&run.stderr, rel), rel));
    assert!(problems.is_empty(), "{problems:#?}\n{}", run.stderr);
    let order: Vec<usize> = run
        .stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--> "))
        .filter_map(|f| f.strip_prefix(rel)?.split(':').nth(1)?.parse().ok())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "not in line order: {order:?}"
    );
}

#[test]
fn examples_are_valid() {
    let dir = repo().join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    // The README points at these by name: they must exist (and are all checked below).
    for named in [
        "three-node-linux.yml",
        "mixed-linux-windows.yml",
        "aws-two-subnet.yml",
    ] {
        assert!(
            files.iter().any(|f| f.ends_with(named)),
            "examples/{named} is missing"
        );
    }
    // A HOME with the usual key files, for examples that rely on ~/.ssh defaults.
    let home = tempfile::tempdir().expect("temp dir");
    let ssh = home.path().join(".ssh");
    std::fs::create_dir_all(&ssh).expect("mkdir .ssh");
    for key in ["id_rsa", "id_ed25519", "id_ecdsa"] {
        std::fs::write(ssh.join(key), "test key; only its existence is checked\n")
            .expect("write key");
    }
    let mut failures = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(repo())
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        let out = rwin()
            .current_dir(repo())
            .env("HOME", home.path())
            .env("REGISTRY_PASSWORD", "x")
            .env("WINRM_PASSWORD", "x")
            .args(["validate", &rel])
            .output()
            .expect("rwin runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(0) || stderr.contains("panicked") {
            failures.push(format!("{rel}: exit {:?}\n{stderr}", out.status.code()));
        }
    }
    assert!(
        failures.is_empty(),
        "examples that do not validate:\n{}",
        failures.join("\n")
    );
}
