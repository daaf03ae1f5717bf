//! After a YAML syntax error: find a flow collection (`[` or `{`) that was opened before the
//! error and never closed. The parser only notices it later, at whatever token cannot go on
//! (often a `key:` on the next line, "illegal placement of ':' indicator"), so the place it
//! reports is not where the mistake is. libyaml says "did not find expected ',' or ']'" and
//! points at the opening; this does the same.
//!
//! A scanner for that one question, run only on text the parser already refused: quotes,
//! comments, block scalars and `[` inside plain scalars (`image: a[1]`) are not openings.

/// An opening bracket that is still open where the parser stopped.
#[derive(Debug, PartialEq, Eq)]
pub struct Unclosed {
    /// 1-based line and column of the bracket.
    pub line: usize,
    pub column: usize,
    pub open: char,
}

impl Unclosed {
    pub fn close(&self) -> char {
        if self.open == '[' {
            ']'
        } else {
            '}'
        }
    }
}

/// The innermost flow collection opened before `error_line` (1-based) and not closed by then.
pub fn unclosed_before(source: &str, error_line: usize) -> Option<Unclosed> {
    let mut stack: Vec<Unclosed> = Vec::new();
    // Indentation of the line that started a block scalar (`|` or `>`): its deeper lines are text.
    let mut block_scalar: Option<usize> = None;
    for (i, line) in source.lines().enumerate() {
        let line_no = i + 1;
        if line_no > error_line {
            break;
        }
        let indent = line.len() - line.trim_start().len();
        if let Some(base) = block_scalar {
            if line.trim().is_empty() || indent > base {
                continue;
            }
            block_scalar = None;
        }
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let mut quote: Option<char> = None;
        // In block context, the previous significant character (an indicator starts a value).
        let mut prev: Option<char> = None;
        let mut j = 0;
        while j < chars.len() {
            let (byte, ch) = chars[j];
            if let Some(q) = quote {
                if q == '"' && ch == '\\' {
                    j += 2;
                    continue;
                }
                if ch == q {
                    // '' inside single quotes is an escaped quote.
                    if q == '\'' && chars.get(j + 1).map(|c| c.1) == Some('\'') {
                        j += 2;
                        continue;
                    }
                    quote = None;
                }
                j += 1;
                continue;
            }
            let at_value_start = matches!(prev, None | Some(':') | Some('-') | Some('?'));
            match ch {
                '#' if byte == 0 || chars[j - 1].1.is_whitespace() => break,
                '"' | '\'' if !stack.is_empty() || at_value_start => quote = Some(ch),
                '[' | '{' if !stack.is_empty() || at_value_start => stack.push(Unclosed {
                    line: line_no,
                    column: line[..byte].chars().count() + 1,
                    open: ch,
                }),
                ']' | '}' if !stack.is_empty() => {
                    stack.pop();
                }
                '|' | '>' if stack.is_empty() && at_value_start => {
                    block_scalar = Some(indent);
                    break;
                }
                c if c.is_whitespace() => {}
                _ if stack.is_empty() => {
                    // A plain scalar (a key or a value): its text runs to `: `, a final `:`,
                    // a comment (` #`) or the end of the line; brackets inside it are text.
                    let rest = &line[byte..];
                    let colon = rest
                        .find(": ")
                        .or_else(|| rest.strip_suffix(':').map(str::len));
                    let comment = rest.find(" #");
                    match (colon, comment) {
                        (Some(c), Some(h)) if h < c => break,
                        (None, _) => break,
                        (Some(c), _) => {
                            j += rest[..c].chars().count() + 1;
                            prev = Some(':');
                            continue;
                        }
                    }
                }
                _ => {}
            }
            if !ch.is_whitespace() {
                prev = Some(ch);
            }
            j += 1;
        }
    }
    stack.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_unclosed_sequence_on_an_earlier_line() {
        let src =
            "nodes:\n  - address: 1.2.3.4\n    role: [etcd, worker\ncomponents:\n  - name: web\n";
        assert_eq!(
            unclosed_before(src, 4),
            Some(Unclosed {
                line: 3,
                column: 11,
                open: '['
            })
        );
    }

    #[test]
    fn closed_collections_and_plain_brackets_are_not_openings() {
        let src = "a: [x, y]\nb: {c: 1}\nimage: reg/a[1]:tag\nd: \"[\" # [\ne: '['\nf: |\n  [ text\ng: 1\n";
        assert_eq!(unclosed_before(src, 9), None);
    }

    #[test]
    fn a_sequence_spanning_lines_is_open_until_closed() {
        let src = "role: [etcd,\n  worker\nnext: 1\n";
        assert_eq!(
            unclosed_before(src, 3).map(|u| (u.line, u.column)),
            Some((1, 7))
        );
        let src = "role: [etcd,\n  worker]\nnext: 1\n";
        assert_eq!(unclosed_before(src, 3), None);
    }

    #[test]
    fn mappings_and_nesting_report_the_innermost() {
        let src = "a: {b: [1, 2}\nc: 1\n";
        let u = unclosed_before(src, 2).unwrap();
        assert_eq!((u.line, u.column, u.close()), (1, 4, '}'));
    }
}
