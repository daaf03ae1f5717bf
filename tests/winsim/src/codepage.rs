//! Console code pages: how a Windows console program's stdin bytes become text and its text
//! becomes stdout and stderr bytes. A console starts in the host's OEM code page (437 on an
//! en-US Windows Server: "Code Page Identifiers", "437 IBM437 OEM United States",
//! https://learn.microsoft.com/windows/win32/intl/code-page-identifiers; chcp's docs list 437
//! for the United States); `chcp`, WinRS's WINRS_CODEPAGE or a program's own
//! `[Console]::InputEncoding`/`OutputEncoding` change it. winsim knows that one OEM code page
//! and UTF-8 (65001), and refuses any other loudly.

/// The OEM code page of the en-US Windows Server winsim stands for.
pub const OEM: u32 = 437;
/// UTF-8.
pub const UTF8: u32 = 65001;

/// CP437's bytes 0x80..=0xFF; 0x00..=0x7F are ASCII. From Microsoft's table as the Unicode
/// Consortium publishes it (https://www.unicode.org/Public/MAPPINGS/VENDORS/MICSFT/PC/CP437.TXT).
const CP437_HIGH: [char; 128] = [
    '\u{00C7}', '\u{00FC}', '\u{00E9}', '\u{00E2}', '\u{00E4}', '\u{00E0}', '\u{00E5}', '\u{00E7}',
    '\u{00EA}', '\u{00EB}', '\u{00E8}', '\u{00EF}', '\u{00EE}', '\u{00EC}', '\u{00C4}', '\u{00C5}',
    '\u{00C9}', '\u{00E6}', '\u{00C6}', '\u{00F4}', '\u{00F6}', '\u{00F2}', '\u{00FB}', '\u{00F9}',
    '\u{00FF}', '\u{00D6}', '\u{00DC}', '\u{00A2}', '\u{00A3}', '\u{00A5}', '\u{20A7}', '\u{0192}',
    '\u{00E1}', '\u{00ED}', '\u{00F3}', '\u{00FA}', '\u{00F1}', '\u{00D1}', '\u{00AA}', '\u{00BA}',
    '\u{00BF}', '\u{2310}', '\u{00AC}', '\u{00BD}', '\u{00BC}', '\u{00A1}', '\u{00AB}', '\u{00BB}',
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{2561}', '\u{2562}', '\u{2556}',
    '\u{2555}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255D}', '\u{255C}', '\u{255B}', '\u{2510}',
    '\u{2514}', '\u{2534}', '\u{252C}', '\u{251C}', '\u{2500}', '\u{253C}', '\u{255E}', '\u{255F}',
    '\u{255A}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256C}', '\u{2567}',
    '\u{2568}', '\u{2564}', '\u{2565}', '\u{2559}', '\u{2558}', '\u{2552}', '\u{2553}', '\u{256B}',
    '\u{256A}', '\u{2518}', '\u{250C}', '\u{2588}', '\u{2584}', '\u{258C}', '\u{2590}', '\u{2580}',
    '\u{03B1}', '\u{00DF}', '\u{0393}', '\u{03C0}', '\u{03A3}', '\u{03C3}', '\u{00B5}', '\u{03C4}',
    '\u{03A6}', '\u{0398}', '\u{03A9}', '\u{03B4}', '\u{221E}', '\u{03C6}', '\u{03B5}', '\u{2229}',
    '\u{2261}', '\u{00B1}', '\u{2265}', '\u{2264}', '\u{2320}', '\u{2321}', '\u{00F7}', '\u{2248}',
    '\u{00B0}', '\u{2219}', '\u{00B7}', '\u{221A}', '\u{207F}', '\u{00B2}', '\u{25A0}', '\u{00A0}',
];

fn unsupported(cp: u32) -> String {
    format!("winsim: unsupported console code page {cp} (winsim knows {OEM} and {UTF8})")
}

/// Whether winsim models code page `cp`.
pub fn is_known(cp: u32) -> Result<(), String> {
    match cp {
        OEM | UTF8 => Ok(()),
        other => Err(unsupported(other)),
    }
}

/// `bytes` read in code page `cp`. Every byte is a character in CP437; in UTF-8 a malformed
/// sequence becomes U+FFFD, as .NET's UTF8Encoding decodes without throwing (its
/// constructor's docs: it "does not throw an exception when an invalid encoding is detected").
pub fn decode(cp: u32, bytes: &[u8]) -> Result<String, String> {
    match cp {
        OEM => Ok(bytes
            .iter()
            .map(|&b| match b {
                0x00..=0x7F => char::from(b),
                _ => CP437_HIGH[usize::from(b - 0x80)],
            })
            .collect()),
        UTF8 => Ok(String::from_utf8_lossy(bytes).into_owned()),
        other => Err(unsupported(other)),
    }
}

/// `text` written in code page `cp`. A character CP437 lacks becomes `?`. Windows may write a
/// look-alike instead (best fit: WideCharToMultiByte without WC_NO_BEST_FIT_CHARS), which
/// winsim does not model; either way the character itself is lost.
pub fn encode(cp: u32, text: &str) -> Result<Vec<u8>, String> {
    match cp {
        OEM => Ok(text
            .chars()
            .map(|c| match u8::try_from(u32::from(c)) {
                Ok(b) if b < 0x80 => b,
                _ => CP437_HIGH
                    .iter()
                    .position(|&h| h == c)
                    .and_then(|i| u8::try_from(0x80 + i).ok())
                    .unwrap_or(b'?'),
            })
            .collect()),
        UTF8 => Ok(text.as_bytes().to_vec()),
        other => Err(unsupported(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp437_maps_every_byte_and_back() {
        let all: Vec<u8> = (0..=255).collect();
        let text = decode(OEM, &all).unwrap();
        assert_eq!(text.chars().count(), 256);
        assert_eq!(encode(OEM, &text).unwrap(), all);
        assert_eq!(decode(OEM, &[0x9A, 0x6E, 0x8B]).unwrap(), "\u{DC}n\u{EF}");
    }

    #[test]
    fn utf8_read_as_cp437_is_other_text() {
        // "é" in UTF-8 is C3 A9: two CP437 characters.
        assert_eq!(
            decode(OEM, "caf\u{E9}".as_bytes()).unwrap(),
            "caf\u{251C}\u{2310}"
        );
        // An en dash has no CP437 byte.
        assert_eq!(encode(OEM, "a \u{2013} b").unwrap(), b"a ? b");
        assert_eq!(encode(UTF8, "\u{2013}").unwrap(), "\u{2013}".as_bytes());
    }

    #[test]
    fn other_code_pages_are_refused() {
        assert!(is_known(850)
            .unwrap_err()
            .contains("unsupported console code page 850"));
        assert!(decode(1252, b"x").is_err());
        assert!(encode(850, "x").is_err());
    }
}
