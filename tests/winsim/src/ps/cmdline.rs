//! The one powershell.exe command line rwin sends: fixed switches and `-EncodedCommand`, whose
//! value is base64 of UTF-16LE. Anything else is refused; the decoded text is then parsed and
//! evaluated like any script (no special-casing of the bootstrap).

use base64::Engine;

/// Where Windows PowerShell 5.1 is on Windows Server (`%SystemRoot%` being `C:\Windows`).
pub const POWERSHELL_PATH: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";

const SWITCHES: [&str; 4] = [
    "-NoProfile",
    "-NonInteractive",
    "-ExecutionPolicy",
    "-EncodedCommand",
];

/// Returns the decoded script of `powershell.exe … -EncodedCommand <B>`.
pub fn decode(command_line: &str) -> Result<String, String> {
    let words: Vec<&str> = command_line.split_whitespace().collect();
    let Some((exe, rest)) = words.split_first() else {
        return Err("winsim: unsupported command line: empty".into());
    };
    // The bare name (through cmd.exe, OpenSSH's default shell and WinRS's unless
    // WINRS_SKIP_CMD_SHELL, PATH finds it) or Windows PowerShell's full path.
    if !exe.eq_ignore_ascii_case("powershell.exe")
        && !exe.eq_ignore_ascii_case("powershell")
        && !exe.eq_ignore_ascii_case(POWERSHELL_PATH)
    {
        return Err(format!(
            "winsim: unsupported command line: {exe} (only powershell.exe -EncodedCommand and docker system dial-stdio)"
        ));
    }
    let mut encoded = None;
    let mut i = 0;
    while i < rest.len() {
        let w = rest[i];
        match SWITCHES.iter().find(|s| s.eq_ignore_ascii_case(w)) {
            Some(&"-ExecutionPolicy") => {
                match rest.get(i + 1) {
                    Some(p) if p.eq_ignore_ascii_case("Bypass") => {}
                    other => {
                        return Err(format!(
                            "winsim: unsupported command line: -ExecutionPolicy {}",
                            other.unwrap_or(&"")
                        ))
                    }
                }
                i += 1;
            }
            Some(&"-EncodedCommand") => {
                encoded = rest.get(i + 1).copied();
                i += 1;
            }
            Some(_) => {}
            None => {
                return Err(format!(
                    "winsim: unsupported command line: powershell.exe parameter {w}"
                ))
            }
        }
        i += 1;
    }
    let encoded = encoded
        .ok_or("winsim: unsupported command line: powershell.exe without -EncodedCommand")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| format!("winsim: -EncodedCommand is not base64: {e}"))?;
    if bytes.len() % 2 != 0 {
        return Err("winsim: -EncodedCommand is not UTF-16LE (odd length)".into());
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).map_err(|e| format!("winsim: -EncodedCommand is not UTF-16LE: {e}"))
}

/// True when the command line starts powershell.exe with `-NonInteractive` ("Doesn't present
/// an interactive prompt to the user", about_PowerShell_exe).
pub fn non_interactive(command_line: &str) -> bool {
    command_line
        .split_whitespace()
        .any(|w| w.eq_ignore_ascii_case("-NonInteractive"))
}

/// base64 of UTF-16LE, as rwin and `powershell.exe -EncodedCommand` expect it.
pub fn encode(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
