//! Turning reqwest, hyper and rustls failures and odd answers into sentences that say what to
//! check: the error chain without repeats, TLS failures with their usual cause, a short excerpt
//! of a body.

/// The error and its sources, each message once (reqwest repeats inner text in outer ones).
pub(super) fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let msg = err.to_string();
        if !out.iter().any(|m| m == &msg) {
            out.push(msg);
        }
        cur = err.source();
    }
    out
}

/// The kinds of the I/O errors in the error's chain, the error itself included.
pub(super) fn io_kinds(e: &(dyn std::error::Error + 'static)) -> Vec<std::io::ErrorKind> {
    let mut kinds = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            kinds.push(io.kind());
        }
        cur = err.source();
    }
    kinds
}

pub(super) fn looks_like_tls(messages: &[String]) -> bool {
    messages.iter().any(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("certificate")
            || m.contains("tls")
            || m.contains("handshake")
            || m.contains("corrupt message")
    })
}

/// rustls' own words for the failure, and what usually causes it.
pub(super) fn tls_reason(messages: &[String]) -> String {
    let inner = messages.last().cloned().unwrap_or_default();
    let lower = inner.to_ascii_lowercase();
    let advice = if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        "the host's certificate is not signed by a CA rwin trusts: set winrm.ca_cert to the CA that signed it"
    } else if lower.contains("not valid for name") || lower.contains("notvalidforname") {
        "the host's certificate does not name the address rwin connects to: use a name the certificate lists, or reissue it"
    } else if lower.contains("expired") {
        "the host's certificate has expired (or a clock is wrong): renew it and rebind the WinRM HTTPS listener"
    } else if lower.contains("not valid yet") {
        "the host's certificate is not valid yet: check the clocks"
    } else if lower.contains("causedasendentity") {
        "the host presents a CA certificate as its own: give the listener a server certificate signed by that CA"
    } else if lower.contains("corrupt message") || lower.contains("invalidcontenttype") {
        "the port does not speak TLS: is it the HTTP listener (5985) rather than HTTPS (5986)?"
    } else {
        "check the host's WinRM HTTPS listener certificate (winrm enumerate winrm/config/listener)"
    };
    format!("{inner}; {advice}")
}

pub(super) fn excerpt(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = one_line.chars().take(200).collect();
    if cut.len() < one_line.len() {
        cut.push('…');
    }
    if cut.is_empty() {
        cut.push_str("(empty body)");
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_reasons_give_advice() {
        let m = vec!["invalid peer certificate: UnknownIssuer".to_string()];
        assert!(looks_like_tls(&m));
        assert!(tls_reason(&m).contains("winrm.ca_cert"));
        let m = vec!["invalid peer certificate: certificate not valid for name \"win1\"; certificate is only valid for win2".to_string()];
        assert!(tls_reason(&m).contains("does not name"));
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt(""), "(empty body)");
        let long = "a\n b ".repeat(200);
        let cut = excerpt(&long);
        assert!(cut.ends_with('…') && !cut.contains('\n'), "{cut}");
    }
}
