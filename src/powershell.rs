//! The PowerShell every Windows script generator and transport writes, in one place: the
//! single-quoted literal that carries any value as data, the `-EncodedCommand` encoding, the
//! bootstrap that runs a script sent on standard input, and the command lines built from them.
//!
//! It sits below `os`, `docker` and `transport` (it uses none of them), so every script
//! generator (`os::windows`, `docker::cli`) and both ways to a Windows host (WinRM, OpenSSH)
//! share one definition.

use base64::Engine as _;

/// The characters PowerShell opens and closes a single-quoted string with: `'` and the
/// typographic ‘ ’ ‚ ‛ (U+2018..U+201B). The PowerShell language specification (§2.3.5.2,
/// *single-quote-character*) and about_Quoting_Rules list the same five, and PowerShell's
/// tokenizer tests exactly these (`CharExtensions.IsSingleQuote` in
/// src/System.Management.Automation/engine/parser/CharTraits.cs of PowerShell/PowerShell,
/// unchanged from the 2016 Windows PowerShell 5.1 sources to today).
pub const SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// Whether PowerShell ends (or opens) a single-quoted string at `c`.
pub fn is_single_quote(c: char) -> bool {
    SINGLE_QUOTES.contains(&c)
}

/// `value` as a PowerShell single-quoted string literal: taken verbatim (no `$` expansion, no
/// backtick escapes), with every single-quote character doubled, which is the only escape such
/// a string has. The tokenizer (`ScanStringLiteral` in tokenizer.cs) reads a quote character
/// followed by another as the second one, and ends the string at a quote character followed by
/// anything else, so a lone ’ would end the literal as surely as a lone `'`.
///
/// Any other character, newlines and NUL included, is carried as it is: the tokenizer stops
/// at NUL only when it is the end of the script. (What a value may hold once it reaches a
/// native command is the caller's business: see `docker::cli`'s `arg`.)
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if is_single_quote(c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `text` made safe to follow `#` on one line of a script: PowerShell ends a comment at a line
/// break (CR, LF; and NEL, LS, PS in .NET's sense of one), so every control character and
/// those separators become a space and nothing after them can run.
pub fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// `script` as `-EncodedCommand` wants it: base64 of its UTF-16LE code units. Neither cmd.exe
/// nor PowerShell re-parses the result, so it needs no quoting on any command line.
pub fn encode_command(script: &str) -> String {
    let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(utf16)
}

/// The script every rwin script runs under; the script itself goes on stdin (Ansible's
/// Windows bootstrap does the same), so the command line stays the same whatever the script.
///
/// Before it reads stdin it makes the console UTF-8 both ways, as Ansible's bootstrap does
/// (`bootstrap_wrapper.ps1` in ansible/ansible): a console starts in the host's OEM code page
/// (Console.InputEncoding and Console.OutputEncoding default to the console's code page,
/// which the system locale decides: 437 on an en-US host), and nothing else sets it over
/// OpenSSH, so PowerShell would read rwin's UTF-8 script and write its output as CP437 and
/// mangle every non-ASCII character (over WinRM, rwin's WINRS_CODEPAGE=65001 already does it).
/// It assigns the properties rather than run `chcp.com 65001` (older Ansible): .NET caches
/// Console.InputEncoding, so a code page changed behind its back need not reach it (the
/// Console.InputEncoding docs). `New-Object System.Text.UTF8Encoding` writes no byte order
/// mark (the UTF8Encoding() constructor's docs), so output starts with the script's first byte.
pub const BOOTSTRAP: &str = "$ProgressPreference = 'SilentlyContinue'; \
     [Console]::InputEncoding = [Console]::OutputEncoding = New-Object -TypeName System.Text.UTF8Encoding; \
     $s = $input | Out-String; & ([ScriptBlock]::Create($s))";

/// Windows PowerShell 5.1 by its full path, as WinRS must be given it: rwin's WinRM transport
/// starts commands without cmd.exe (WINRS_SKIP_CMD_SHELL), and a host then does not look a
/// bare `powershell.exe` up on PATH but answers 0x80070002, "The system cannot find the file
/// specified" (pypsrp's recording of a real host, tests/responses/test_winrs_no_cmd_shell.yml,
/// which runs this path; tests/winsim/BEHAVIOURS.md). Through cmd.exe or PowerShell (OpenSSH's
/// default shells) the path works as well. It assumes Windows in `C:\Windows`, as a Windows
/// Server install puts it.
pub const POWERSHELL_EXE: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";

/// The command that runs a script sent on stdin, over WinRM and OpenSSH alike:
/// `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe -NoProfile -NonInteractive
/// -ExecutionPolicy Bypass -EncodedCommand <BOOTSTRAP encoded>`. Its words hold no quotes or
/// spaces: OpenSSH hands the line to the account's default shell (cmd.exe or PowerShell; it is
/// far below cmd.exe's 8191 characters), and WinRM splits it at whitespace and starts
/// [`POWERSHELL_EXE`] directly.
pub fn script_command() -> String {
    format!(
        "{POWERSHELL_EXE} -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {}",
        encode_command(BOOTSTRAP)
    )
}

/// [`POWERSHELL_EXE`] `-NoProfile -NonInteractive -EncodedCommand <script encoded>`, as the
/// command and arguments of a WinRS Command, for running a short script without stdin.
///
/// Through cmd.exe (the WinRS default) the whole line must stay under 8191 characters, so a
/// script of about 3000 characters is the most this carries; larger ones belong on stdin
/// (`script_command`) or in an uploaded file.
pub fn encoded_command(script: &str) -> (String, Vec<String>) {
    (
        POWERSHELL_EXE.to_string(),
        vec![
            "-NoProfile".to_string(),
            "-NonInteractive".to_string(),
            "-EncodedCommand".to_string(),
            encode_command(script),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What PowerShell reads from `text`, which starts with a single-quoted string: the
    /// string's value and the text after it, or `None` if the string is never closed. Follows
    /// `ScanStringLiteral` in PowerShell's tokenizer.cs: a quote character followed by another
    /// stands for the second; a quote character followed by anything else ends the string.
    fn scan_literal(text: &str) -> Option<(String, &str)> {
        let mut chars = text.char_indices().peekable();
        let (_, open) = chars.next()?;
        assert!(is_single_quote(open), "{text:?} does not open a literal");
        let mut value = String::new();
        while let Some((i, c)) = chars.next() {
            if is_single_quote(c) {
                match chars.peek() {
                    Some(&(_, next)) if is_single_quote(next) => {
                        value.push(next);
                        chars.next();
                        continue;
                    }
                    _ => return Some((value, &text[i + c.len_utf8()..])),
                }
            }
            value.push(c);
        }
        None
    }

    /// Assert that `quote(value)` is one literal PowerShell reads back as `value`, with
    /// nothing after it, and that a statement placed after it stays outside it.
    fn round_trips(value: &str) {
        let q = quote(value);
        assert_eq!(
            scan_literal(&q),
            Some((value.to_string(), "")),
            "{value:?} quoted as {q:?}"
        );
        let followed = format!("{q}; Remove-Item x");
        assert_eq!(
            scan_literal(&followed),
            Some((value.to_string(), "; Remove-Item x")),
            "{value:?} quoted as {q:?}"
        );
    }

    #[test]
    fn each_single_quote_character_is_doubled() {
        for (c, expected) in [
            ('\'', "'it''s'"),
            ('\u{2018}', "'it\u{2018}\u{2018}s'"),
            ('\u{2019}', "'it\u{2019}\u{2019}s'"),
            ('\u{201A}', "'it\u{201A}\u{201A}s'"),
            ('\u{201B}', "'it\u{201B}\u{201B}s'"),
        ] {
            let value = format!("it{c}s");
            assert_eq!(quote(&value), expected);
            round_trips(&value);
            // Alone, at either end, and several in a row.
            round_trips(&c.to_string());
            round_trips(&format!("{c}{c}{c}"));
            round_trips(&format!("{c}x{c}"));
        }
        assert_eq!(quote("it’s ‘x’"), "'it’’s ‘‘x’’'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn other_characters_are_carried_verbatim() {
        // Double quotes (straight and typographic), `$`, backticks, newlines, NUL: none of
        // them is special in a single-quoted string.
        for value in [
            "\"a\" \u{201C}b\u{201D} \u{201E}c",
            "$env:PATH $(Remove-Item x) `n",
            "line 1\r\nline 2\n",
            "a\0b",
            "\u{2032}\u{02BC}\u{FF07}", // prime, modifier apostrophe, fullwidth apostrophe
        ] {
            assert_eq!(quote(value), format!("'{value}'"));
            round_trips(value);
        }
    }

    /// Every string of up to four characters over an alphabet of the quote characters and
    /// their neighbours, then longer pseudo-random ones: each quotes to exactly one literal
    /// holding exactly the string, so no quote in a value can end the literal early.
    #[test]
    fn no_value_can_end_its_literal_early() {
        const ALPHABET: [char; 12] = [
            '\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}', '"', '\u{201C}', '`', '$', ' ',
            '\n', 'a',
        ];
        let mut values = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|s| ALPHABET.iter().map(move |c| format!("{s}{c}")))
                .collect();
            values.extend(last.iter().cloned());
        }
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let len = (next() % 40) as usize;
            values.push((0..len).map(|_| ALPHABET[(next() % 12) as usize]).collect());
        }
        assert!(values.len() > 20_000);
        for v in &values {
            round_trips(v);
        }
    }

    /// tree-sitter-powershell (what winsim and the script tests parse with) reads the same
    /// text as one verbatim string: it knows only `'`, and doubled typographic quotes are
    /// plain characters to it.
    #[test]
    fn tree_sitter_reads_one_verbatim_string() {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_powershell::LANGUAGE.into())
            .unwrap();
        for value in ["it's", "it’s ‘x’ ‚y‛", "''", "'", "a ' b '' c", "$x `n \""] {
            let script = format!("Write-Output {}\n", quote(value));
            let tree = parser.parse(&script, None).unwrap();
            assert!(!tree.root_node().has_error(), "{script}");
            let mut strings = vec![];
            let mut stack = vec![tree.root_node()];
            while let Some(n) = stack.pop() {
                if n.kind() == "verbatim_string_characters" {
                    strings.push(n.utf8_text(script.as_bytes()).unwrap().to_string());
                }
                let mut cursor = n.walk();
                stack.extend(n.children(&mut cursor));
            }
            assert_eq!(strings, [quote(value)], "{script}");
        }
    }

    fn decode(encoded: &str) -> String {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        let units: Vec<u16> = raw
            .chunks(2)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    }

    #[test]
    fn encoded_command_is_utf16le_base64() {
        let (cmd, args) = encoded_command("Write-Host 'hé'");
        assert_eq!(
            cmd,
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
        );
        assert_eq!(
            args[..3],
            ["-NoProfile", "-NonInteractive", "-EncodedCommand"]
        );
        assert_eq!(decode(&args[3]), "Write-Host 'hé'");
        // "Wr" in UTF-16LE is 57 00 72 00: base64 "VwBy".
        assert!(args[3].starts_with("VwBy"));
        // Outside the BMP: a surrogate pair, low unit first within each pair's bytes.
        assert_eq!(encode_command("\u{1F600}"), "PdgA3g==");
        assert_eq!(decode(&encode_command("it’s \u{1F600}")), "it’s \u{1F600}");
    }

    /// The bootstrap travels in every command line, over WinRM too: ASCII, and it makes the
    /// console UTF-8 before `$input` first reads the script.
    #[test]
    fn the_bootstrap_sets_utf8_before_it_reads_the_script() {
        assert!(BOOTSTRAP.is_ascii());
        let at = |s: &str| BOOTSTRAP.find(s).unwrap_or_else(|| panic!("no {s}"));
        let read = at("$input");
        assert!(at("[Console]::InputEncoding") < read);
        assert!(at("[Console]::OutputEncoding") < read);
        assert!(BOOTSTRAP.contains("New-Object -TypeName System.Text.UTF8Encoding;"));
        // Far below cmd.exe's 8191 characters (OpenSSH's default shell).
        assert!(script_command().len() < 1000, "{}", script_command().len());
    }

    #[test]
    fn script_command_runs_the_bootstrap() {
        let command = script_command();
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(
            words[..6],
            [
                r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-EncodedCommand"
            ]
        );
        assert_eq!(words.len(), 7);
        assert_eq!(decode(words[6]), BOOTSTRAP);
        // Nothing cmd.exe or PowerShell would re-read: base64 only.
        assert!(words[6]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')));
    }
}
