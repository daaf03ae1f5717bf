//! What a value that reaches a host may hold. Every such value is quoted where it is used, but
//! a control character is never right in one (a newline in a script starts a line of its
//! own), and a node's name goes into file paths, service arguments and messages, so it is a
//! host name (issue 13: `hostname_override: "a’;calc;’"` reached a service's arguments).

use std::net::IpAddr;

use super::{set_help, Checker, S};
use crate::powershell::SINGLE_QUOTES;

/// How much of the printable range a field allows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Text {
    /// A command, an argument, an environment value: anything printable, and tab.
    Free,
    /// A user, a path, a label value, an adapter name: printable, no tab.
    Line,
    /// An image, a registry `host[:port]`: no whitespace and no quotes either.
    Word,
}

/// The first character `rule` refuses in `s`.
fn refused(s: &str, rule: Text) -> Option<char> {
    s.chars().find(|&ch| {
        let control = (ch.is_control() && !(ch == '\t' && rule == Text::Free))
            || matches!(ch, '\u{2028}' | '\u{2029}');
        let word =
            rule == Text::Word && (ch.is_whitespace() || ch == '"' || SINGLE_QUOTES.contains(&ch));
        control || word
    })
}

/// A host name: parts of letters, digits and '-' (not at either end), at most 63 characters
/// each, separated by '.', 253 characters in all (RFC 1123).
pub(super) fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part.len() <= 63
                && !part.starts_with('-')
                && !part.ends_with('-')
                && part
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        })
}

/// An IP address or a host name.
pub(super) fn is_host(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok() || is_host_name(s)
}

/// `s` as a message shows it: control characters escaped (`\n`, `\u{1b}`), the rest as is.
pub(super) fn shown(s: &str) -> String {
    s.chars()
        .map(|ch| {
            if ch.is_control() || matches!(ch, '\u{2028}' | '\u{2029}') {
                ch.escape_debug().to_string()
            } else {
                ch.to_string()
            }
        })
        .collect()
}

/// How a refused character is named: `control character U+000A` or `quote ’`.
fn describe(ch: char) -> String {
    if ch.is_control() || matches!(ch, '\u{2028}' | '\u{2029}') {
        format!("a control character (U+{:04X})", u32::from(ch))
    } else if ch.is_whitespace() {
        "whitespace".into()
    } else {
        format!("a quote ({ch})")
    }
}

impl Checker {
    /// Report `s` when `rule` refuses a character of it. `what` names the field as the
    /// message starts: "node n1: user". True when the value is fine.
    pub(super) fn check_text(&mut self, s: &S<String>, what: &str, rule: Text) -> bool {
        let Some(ch) = refused(&s.value, rule) else {
            return true;
        };
        let d = self.error(
            s,
            format!("{what} `{}` contains {}", shown(&s.value), describe(ch)),
        );
        set_help(
            d,
            match rule {
                Text::Free => "only tab may appear among control characters: split the value, or pass multi-line text through a file",
                Text::Line => "write the value on one line, without control characters",
                Text::Word => "write it without spaces, quotes or control characters",
            },
        );
        false
    }

    /// `check_text` for an optional field.
    pub(super) fn check_text_opt(&mut self, s: &Option<S<String>>, what: &str, rule: Text) {
        if let Some(s) = s {
            self.check_text(s, what, rule);
        }
    }

    /// An address rwin connects to: an IP address or a host name.
    pub(super) fn check_host(&mut self, s: &S<String>, what: &str) -> bool {
        if is_host(&s.value) {
            return true;
        }
        let d = self.error(
            s,
            format!(
                "{what} `{}` is neither an IP address nor a host name",
                shown(&s.value)
            ),
        );
        set_help(
            d,
            "write an IPv4 or IPv6 address, or a host name of letters, digits, '-' and '.'",
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_follow_rfc_1123() {
        for ok in ["lin1", "WIN-2", "a.b.example", "192.168.50.11", "x"] {
            assert!(is_host_name(ok), "{ok}");
        }
        for bad in [
            "",
            "-lead",
            "lead-",
            "a..b",
            "a’;calc;’",
            "a'b",
            "a b",
            "a/b",
            "a_b",
            "fd00::1",
            "a\nb",
            &"x".repeat(64),
        ] {
            assert!(!is_host_name(bad), "{bad:?}");
        }
        assert!(is_host("fd00::1") && is_host("10.0.0.1") && !is_host("10.0.0.9;reboot"));
    }

    #[test]
    fn each_rule_refuses_what_it_says() {
        assert_eq!(refused("sh -c 'a\tb'", Text::Free), None);
        assert_eq!(refused("a\nb", Text::Free), Some('\n'));
        assert_eq!(refused("a\u{85}b", Text::Free), Some('\u{85}'));
        assert_eq!(refused("a\u{2028}b", Text::Free), Some('\u{2028}'));
        assert_eq!(refused("Bob’s NIC", Text::Line), None);
        assert_eq!(refused("a\tb", Text::Line), Some('\t'));
        assert_eq!(refused("nginx:1.27", Text::Word), None);
        assert_eq!(refused("nginx 1", Text::Word), Some(' '));
        assert_eq!(refused("ngin‛x", Text::Word), Some('‛'));
    }
}
