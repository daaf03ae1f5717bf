//! Reading PowerShell's errors. (The command line that runs scripts, and its `-EncodedCommand`
//! encoding, are `crate::powershell`'s.) Errors come back on stderr as CLIXML (`#< CLIXML` then
//! an `<Objs>` document), which is turned back into readable text.

use super::xml;

const CLIXML_MARKER: &str = "#< CLIXML";
const NS_PS: &str = "http://schemas.microsoft.com/powershell/2004/04";

/// Turn PowerShell's CLIXML error stream into the text a console would have shown. Text that
/// is not CLIXML passes through unchanged, and so does CLIXML that cannot be read, so nothing
/// the host said is ever lost. Progress records (which PowerShell also serialises there) are
/// dropped.
pub fn clixml_to_text(stderr: &str) -> String {
    if !stderr.contains(CLIXML_MARKER) {
        return stderr.to_string();
    }
    let mut out = String::new();
    let mut rest = stderr;
    while let Some(pos) = rest.find(CLIXML_MARKER) {
        out.push_str(&rest[..pos]);
        let after = rest[pos + CLIXML_MARKER.len()..].trim_start_matches(['\r', '\n']);
        let Some(end) = after.find("</Objs>").map(|e| e + "</Objs>".len()) else {
            out.push_str(&rest[pos..]);
            return out;
        };
        let doc_end = rest.len() - after.len() + end;
        match decode_objs(&after[..end]) {
            Some(text) => out.push_str(&text),
            None => out.push_str(&rest[pos..doc_end]),
        }
        rest = rest[doc_end..].trim_start_matches(['\r', '\n']);
    }
    out.push_str(rest);
    out
}

/// The text of the `<S S="Error">` (and warning, verbose, …) strings of one `<Objs>` document.
fn decode_objs(doc: &str) -> Option<String> {
    let root = xml::parse(doc).ok()?;
    if !root.is(NS_PS, "Objs") {
        return None;
    }
    let mut out = String::new();
    for s in root.children_named(NS_PS, "S") {
        let stream = s.attr("S").unwrap_or_default();
        let prefix = match stream.to_ascii_lowercase().as_str() {
            "error" | "" => "",
            "warning" => "WARNING: ",
            "verbose" => "VERBOSE: ",
            "debug" => "DEBUG: ",
            _ => "",
        };
        let starts_line = out.is_empty() || out.ends_with('\n');
        if starts_line {
            out.push_str(prefix);
        }
        out.push_str(&unescape_ps(&s.all_text()));
    }
    Some(out)
}

/// Undo PowerShell's `_xHHHH_` escapes (`_x000D__x000A_` is CR LF; surrogate pairs come as two).
fn unescape_ps(s: &str) -> String {
    let mut units: Vec<u16> = Vec::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("_x") {
        let (before, tail) = rest.split_at(pos);
        units.extend(before.encode_utf16());
        let hex = tail.get(2..6);
        let closed = tail.as_bytes().get(6) == Some(&b'_');
        match hex.and_then(|h| u16::from_str_radix(h, 16).ok()) {
            Some(unit)
                if closed && hex.is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())) =>
            {
                units.push(unit);
                rest = &tail[7..];
            }
            _ => {
                units.extend("_x".encode_utf16());
                rest = &tail[2..];
            }
        }
    }
    units.extend(rest.encode_utf16());
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Write-Error boom` with a progress record before it, in the shape PowerShell writes.
    const WRITE_ERROR: &str = "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><Obj S=\"progress\" RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I64 N=\"SourceId\">1</I64><PR N=\"Record\"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj><S S=\"Error\">Write-Error boom : boom_x000D__x000A_</S><S S=\"Error\">    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException_x000D__x000A_</S><S S=\"Error\">    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException_x000D__x000A_ _x000D__x000A_</S></Objs>";

    #[test]
    fn clixml_errors_become_text() {
        assert_eq!(
            clixml_to_text(WRITE_ERROR),
            "Write-Error boom : boom\r\n    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException\r\n    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException\r\n \r\n"
        );
    }

    #[test]
    fn plain_and_broken_stderr_pass_through() {
        assert_eq!(clixml_to_text("plain error\r\n"), "plain error\r\n");
        let broken = "#< CLIXML\r\n<Objs><S S=\"Error\">never closed";
        assert_eq!(clixml_to_text(broken), broken);
        let not_ps = "#< CLIXML\r\n<Objs xmlns=\"urn:x\"><S S=\"Error\">x</S></Objs>";
        assert_eq!(clixml_to_text(not_ps), not_ps);
    }

    #[test]
    fn text_around_clixml_and_warnings_are_kept() {
        let s = "before\n#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"warning\">careful_x000A_</S><S S=\"Error\">a_x005F_x000A_b_xD83D__xDE00_</S></Objs>after";
        assert_eq!(
            clixml_to_text(s),
            "before\nWARNING: careful\na_x000A_b\u{1F600}after"
        );
    }
}
