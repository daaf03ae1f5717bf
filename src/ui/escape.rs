//! Host text made safe for a terminal. Remote stderr, PRETTY_NAME and other text a host sends can
//! hold escape sequences that retitle the terminal, move the cursor over earlier lines or
//! reorder text (bidi controls); printed raw, a hostile host could make rwin's output lie.

use std::fmt::Write;

/// `text` with every control character written as an escape (`\x1b`, `\r`, `\u{9b}`), except
/// newline and tab, which multi-line messages (stderr excerpts, plans) mean.
pub fn terminal_safe(text: &str) -> String {
    escape(text, |c| c == '\n' || c == '\t')
}

/// `text` on one line: every control character escaped, newline and tab too (an OS name, a
/// single field).
pub fn one_line(text: &str) -> String {
    escape(text, |_| false)
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> String {
    if !text.chars().any(|c| is_control(c) && !keep(c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if keep(c) || !is_control(c) => out.push(c),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, r"\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, r"\u{{{:x}}}", c as u32);
            }
        }
    }
    out
}

/// C0 and C1 controls, DEL, and the bidi embedding, override and isolate controls.
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::{one_line, terminal_safe};

    #[test]
    fn escapes_leave_plain_text_and_intended_lines_alone() {
        assert_eq!(
            terminal_safe("apt: E: Unable\n\tto lock"),
            "apt: E: Unable\n\tto lock"
        );
        assert_eq!(terminal_safe("Grüße, 東京"), "Grüße, 東京");
        assert_eq!(
            one_line("Debian GNU/Linux 12 (bookworm)"),
            "Debian GNU/Linux 12 (bookworm)"
        );
    }

    #[test]
    fn every_other_control_character_is_written_as_an_escape() {
        assert_eq!(
            terminal_safe("ok\x1b]0;owned\x07\r\x1b[1A\x00\x7f\u{9b}2J\u{202e}txt.exe\n"),
            r"ok\x1b]0;owned\x07\r\x1b[1A\x00\x7f\u{9b}2J\u{202e}txt.exe".to_string() + "\n"
        );
        assert_eq!(one_line("a\nb\tc\r"), r"a\nb\tc\r");
    }
}
