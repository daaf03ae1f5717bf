//! The console's code pages (BEHAVIOURS.md, "Reaching the host"): a process started from an
//! OpenSSH session reads stdin and writes output in the host's OEM code page (437) until the
//! script sets `[Console]::InputEncoding`/`OutputEncoding`; a WinRS shell's WINRS_CODEPAGE
//! sets the code page its commands start in. Each bootstrap here is written out, not rwin's.

use crate::host::Host;
use crate::ps::cmdline::encode;
use crate::runner::{Launch, Output};
use crate::state::WinState;
use crate::tests::{host, tempdir, BOOTSTRAP};

/// A name the host holds: Ü and ï are CP437 bytes 9A and 8B.
const NAME: &str = "\u{DC}n\u{EF}";

/// Looks the adapter up by the name written in the script, then prints the name the host holds.
const SCRIPT: &str = "'found ' + @(Get-NetAdapter | Where-Object { $_.Name -eq '\u{DC}n\u{EF}' }).Count\n(Get-NetAdapter | Where-Object { $_.ifIndex -eq 6 }).Name\n";

/// The bootstrap without any encoding: how rwin's read before issue 12 §2.
const PLAIN: &str = "$s = $input | Out-String; & ([ScriptBlock]::Create($s))";

/// Only the output encoding set.
const OUTPUT_ONLY: &str = "[Console]::OutputEncoding = New-Object -TypeName System.Text.UTF8Encoding; $s = $input | Out-String; & ([ScriptBlock]::Create($s))";

fn renamed_host() -> (Host, tempdir::Dir) {
    let (h, d) = host();
    let mut st = WinState::load(&h.state_path).expect("state");
    let nic = st
        .adapters
        .iter_mut()
        .find(|a| a.if_index == 6)
        .expect("the Ethernet adapter");
    nic.name = NAME.to_string();
    st.save(&h.state_path).expect("state saved");
    (h, d)
}

fn line(bootstrap: &str) -> String {
    format!(
        "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {}",
        encode(bootstrap)
    )
}

fn run(h: &Host, bootstrap: &str, codepage: Option<u32>) -> Output {
    let launch = Launch {
        env: Vec::new(),
        codepage,
    };
    h.run_with(&line(bootstrap), SCRIPT.as_bytes(), &launch)
}

#[test]
fn without_encodings_stdin_and_output_are_the_oem_code_page() {
    let (h, _d) = renamed_host();
    let out = run(&h, PLAIN, None);
    // The script's UTF-8 'Ünï' was read as CP437 (six other characters): no adapter has that
    // name. The host's name went out as CP437 bytes.
    assert_eq!(out.stdout, b"found 0\r\n\x9An\x8B\r\n");
    assert_eq!((out.stderr.as_slice(), out.code), (&b""[..], 0));
}

#[test]
fn utf8_console_encodings_make_both_ways_utf8() {
    let (h, _d) = renamed_host();
    let out = run(&h, BOOTSTRAP, None);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("found 1\r\n{NAME}\r\n")
    );
    assert_eq!(out.code, 0);
    // Each property is its own: with only the output UTF-8, the script is still read as CP437.
    let out = run(&h, OUTPUT_ONLY, None);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("found 0\r\n{NAME}\r\n")
    );
}

#[test]
fn a_winrs_code_page_is_the_console_code_page() {
    let (h, _d) = renamed_host();
    let out = run(&h, PLAIN, Some(65001));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("found 1\r\n{NAME}\r\n")
    );
    let out = run(&h, PLAIN, Some(437));
    assert_eq!(out.stdout, b"found 0\r\n\x9An\x8B\r\n");
}

#[test]
fn other_code_pages_and_console_settings_are_refused() {
    let (h, _d) = renamed_host();
    let out = run(&h, PLAIN, Some(850));
    assert_eq!(out.code, 1);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "winsim: unsupported console code page 850 (winsim knows 437 and 65001)\n"
    );
    for (bootstrap, want) in [
        (
            "[Console]::OutputEncoding = New-Object -TypeName System.Text.ASCIIEncoding",
            "winsim: unsupported New-Object -TypeName System.Text.ASCIIEncoding",
        ),
        (
            "[Console]::OutputEncoding = 'utf-8'",
            "winsim: unsupported value 'utf-8' for '[Console]::OutputEncoding'",
        ),
        (
            "[Console]::Title = 'x'",
            "winsim: unsupported assignment to '[Console]::Title'",
        ),
        (
            "$e = [Console]::OutputEncoding",
            "winsim: unsupported member access '[Console]::OutputEncoding'",
        ),
    ] {
        let out = h.run_sync(&line(bootstrap), b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with(want), "{bootstrap}: {err}");
        assert_eq!(out.code, 1, "{bootstrap}");
    }
}

/// `$a = $b = value` assigns both (about_Assignment_Operators), which the bootstrap's
/// `[Console]::InputEncoding = [Console]::OutputEncoding = …` relies on.
#[test]
fn a_chained_assignment_gives_each_target_the_value() {
    let (h, _d) = host();
    let out = h.run_sync(&line("$a = $b = 'x'; $a; $b"), b"");
    assert_eq!(
        (String::from_utf8_lossy(&out.stdout).as_ref(), out.code),
        ("x\r\nx\r\n", 0)
    );
}
