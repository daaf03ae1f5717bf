//! Answer envelopes, written the way Windows Server writes them (prefixes, header order, fault
//! layout copied from the real exchanges in `tests/fixtures/winrm-recorded/`), and the request
//! header values every handler needs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::xml::{escape, Element, NS_ADDRESSING, NS_SOAP, NS_WSMAN};

const ENVELOPE_OPEN: &str = r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">"#;

/// ERROR_WSMAN_OPERATION_TIMEDOUT: Receive found no output within OperationTimeout.
pub const CODE_TIMED_OUT: u32 = 2_150_858_793;
/// The shell (or command) named in the request does not exist.
pub const CODE_SHELL_NOT_FOUND: u32 = 2_150_858_843;
/// 0x80070002, ERROR_FILE_NOT_FOUND as an HRESULT: the command to start does not exist.
pub const CODE_FILE_NOT_FOUND: u32 = 2_147_942_402;

/// What the handlers need from a request's header.
#[derive(Debug, Default)]
pub struct Header {
    pub action: String,
    pub message_id: String,
    pub shell_id: Option<String>,
    pub operation_timeout: Option<Duration>,
    pub max_envelope_size: Option<usize>,
    /// The `<wsman:Option Name=…>` values of the OptionSet (WINRS_SKIP_CMD_SHELL, …).
    pub options: Vec<(String, String)>,
}

impl Header {
    pub fn read(envelope: &Element) -> Header {
        let mut h = Header::default();
        let Some(header) = envelope.child(NS_SOAP, "Header") else {
            return h;
        };
        let text = |ns: &str, name: &str| header.child(ns, name).map(|e| e.text.trim().to_string());
        h.action = text(NS_ADDRESSING, "Action").unwrap_or_default();
        h.message_id = text(NS_ADDRESSING, "MessageID").unwrap_or_default();
        h.operation_timeout = text(NS_WSMAN, "OperationTimeout").and_then(|t| duration(&t));
        h.max_envelope_size = text(NS_WSMAN, "MaxEnvelopeSize").and_then(|t| t.parse().ok());
        h.shell_id = header
            .child(NS_WSMAN, "SelectorSet")
            .and_then(|set| {
                set.children_named(NS_WSMAN, "Selector")
                    .find(|s| s.attr("Name") == Some("ShellId"))
            })
            .map(|s| s.text.trim().to_string());
        h.options = header
            .child(NS_WSMAN, "OptionSet")
            .map(|set| {
                set.children_named(NS_WSMAN, "Option")
                    .filter_map(|o| Some((o.attr("Name")?.to_string(), o.text.trim().to_string())))
                    .collect()
            })
            .unwrap_or_default();
        h
    }

    /// An option's value, by case-insensitive name.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An xs:duration as WinRM clients send it: `PT20S`, `PT20.000S`, `PT1M30S`.
fn duration(text: &str) -> Option<Duration> {
    let rest = text.strip_prefix("PT")?;
    let mut secs = 0f64;
    let mut num = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' | '.' => num.push(c),
            'H' | 'M' | 'S' => {
                let n: f64 = num.parse().ok()?;
                secs += n * match c {
                    'H' => 3600.0,
                    'M' => 60.0,
                    _ => 1.0,
                };
                num.clear();
            }
            _ => return None,
        }
    }
    num.is_empty().then(|| Duration::from_secs_f64(secs))
}

/// A fresh upper-case GUID-shaped id, as Windows writes ShellIds and CommandIds.
pub fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
        ^ (u64::from(std::process::id()) << 32);
    let a = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n;
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        a as u16,
        n as u16,
        (seed ^ n.rotate_left(17)) & 0xFFFF_FFFF_FFFF
    )
}

/// A whole answer envelope: header for `action`, relating to the request, and `body` inside
/// `<s:Body>`.
pub fn envelope(action: &str, relates_to: &str, body: &str) -> String {
    format!(
        "{ENVELOPE_OPEN}<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{id}</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:RelatesTo>{rel}</a:RelatesTo></s:Header><s:Body>{body}</s:Body></s:Envelope>",
        id = new_id(),
        rel = escape(relates_to),
    )
}

/// A SOAP fault with Windows' WSManFault detail. `subcode` is a prefixed QName using the
/// envelope's prefixes (`w:TimedOut`, `a:ActionNotSupported`); `code` is the WSManFault code
/// where Windows' is known.
pub fn fault(
    relates_to: &str,
    receiver: bool,
    subcode: &str,
    code: Option<u32>,
    message: &str,
) -> String {
    let who = if receiver { "s:Receiver" } else { "s:Sender" };
    let code_attr = code.map(|c| format!(" Code=\"{c}\"")).unwrap_or_default();
    let message = escape(message);
    let body = format!(
        "<s:Fault><s:Code><s:Value>{who}</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en-US\">{message}</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f=\"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault\"{code_attr} Machine=\"winsim\"><f:Message>{message}</f:Message></f:WSManFault></s:Detail></s:Fault>"
    );
    envelope(
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault",
        relates_to,
        &body,
    )
}

/// Windows' answer when Receive had nothing to return within OperationTimeout.
pub fn timed_out(relates_to: &str) -> String {
    fault(
        relates_to,
        true,
        "w:TimedOut",
        Some(CODE_TIMED_OUT),
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ",
    )
}

/// Windows' answer for a ShellId it does not know.
pub fn shell_not_found(relates_to: &str, shell_id: &str) -> String {
    fault(
        relates_to,
        false,
        "w:InvalidSelectors",
        Some(CODE_SHELL_NOT_FOUND),
        &format!("The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and try the operation again. "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_ids() {
        assert_eq!(duration("PT20S"), Some(Duration::from_secs(20)));
        assert_eq!(duration("PT1.500S"), Some(Duration::from_millis(1500)));
        assert_eq!(duration("PT1M30S"), Some(Duration::from_secs(90)));
        assert_eq!(duration("20"), None);
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
    }

    #[test]
    fn the_timeout_fault_parses_and_carries_the_code() {
        let xml = timed_out("uuid:1");
        let root = super::super::xml::parse(&xml).unwrap();
        let fault = root
            .child(NS_SOAP, "Body")
            .and_then(|b| b.child(NS_SOAP, "Fault"));
        assert!(fault.is_some());
        assert!(xml.contains("Code=\"2150858793\""));
        assert!(xml.contains("<s:Value>w:TimedOut</s:Value>"));
    }
}
