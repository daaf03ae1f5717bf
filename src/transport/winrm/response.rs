//! Reading WinRM answers: the SOAP body, or the fault in its place, and the few values the
//! shell lifecycle needs (ShellId, CommandId, output chunks, exit code, MaxEnvelopeSizekb).

use base64::Engine as _;

use super::error::{SoapFault, WinrmError};
use super::uris::*;
use super::xml::{self, Element};

/// What one Receive returned.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReceiveOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The command has exited (CommandState Done).
    pub done: bool,
    pub exit_code: Option<u32>,
}

fn protocol(action: &'static str, reason: impl Into<String>) -> WinrmError {
    WinrmError::Protocol {
        action,
        reason: reason.into(),
    }
}

/// The `s:Body` of an answer to `action`, or the SOAP fault it carries as an error.
pub fn body(action: &'static str, answer: &str) -> Result<Element, WinrmError> {
    let root = xml::parse(answer).map_err(|source| WinrmError::Xml { action, source })?;
    if !root.is(NS_SOAP, "Envelope") {
        return Err(protocol(
            action,
            format!("expected a SOAP 1.2 Envelope, got <{}>", root.name),
        ));
    }
    let body = root
        .children
        .into_iter()
        .find(|c| c.is(NS_SOAP, "Body"))
        .ok_or_else(|| protocol(action, "the envelope has no Body"))?;
    if let Some(fault) = body.child(NS_SOAP, "Fault") {
        return Err(WinrmError::Fault {
            action,
            fault: Box::new(parse_fault(fault)),
        });
    }
    Ok(body)
}

/// The parts of a SOAP 1.2 fault ([MS-WSMV] 2.2.4.43 WSManFault in the detail).
pub fn parse_fault(fault: &Element) -> SoapFault {
    let code = fault.path(&[(NS_SOAP, "Code"), (NS_SOAP, "Value")]);
    let subcode = fault.path(&[(NS_SOAP, "Code"), (NS_SOAP, "Subcode"), (NS_SOAP, "Value")]);
    let detail = fault.path(&[(NS_SOAP, "Detail"), (NS_WSMAN_FAULT, "WSManFault")]);
    let non_empty = |s: String| (!s.trim().is_empty()).then_some(s);
    SoapFault {
        code: code.map(|v| match v.text_qname() {
            Some((_, local)) => local.to_string(),
            None => v.text().trim().to_string(),
        }),
        subcode: subcode.map(|v| match v.text_qname() {
            Some((ns, local)) => (ns.to_string(), local.to_string()),
            None => (String::new(), v.text().trim().to_string()),
        }),
        reason: fault
            .path(&[(NS_SOAP, "Reason"), (NS_SOAP, "Text")])
            .and_then(|t| non_empty(t.all_text())),
        wsman_code: detail
            .and_then(|d| d.attr("Code"))
            .and_then(|c| c.trim().parse().ok()),
        machine: detail.and_then(|d| d.attr("Machine")).map(str::to_string),
        message: detail
            .and_then(|d| d.child(NS_WSMAN_FAULT, "Message"))
            .and_then(|m| non_empty(m.all_text())),
    }
}

/// The ShellId from a CreateResponse: `rsp:Shell/rsp:ShellId`, or the `ShellId` selector of
/// the created resource's reference (older hosts send only that).
pub fn shell_id(body: &Element) -> Result<String, WinrmError> {
    let from_shell = body
        .path(&[(NS_SHELL, "Shell"), (NS_SHELL, "ShellId")])
        .map(Element::text);
    let from_selector = || {
        body.path(&[
            (NS_TRANSFER, "ResourceCreated"),
            (NS_ADDRESSING, "ReferenceParameters"),
            (NS_WSMAN, "SelectorSet"),
        ])?
        .children_named(NS_WSMAN, "Selector")
        .find(|s| s.attr("Name") == Some("ShellId"))
        .map(Element::text)
    };
    from_shell
        .or_else(from_selector)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| protocol("Create", "no ShellId in the CreateResponse"))
}

/// The CommandId from a CommandResponse.
pub fn command_id(body: &Element) -> Result<String, WinrmError> {
    body.path(&[(NS_SHELL, "CommandResponse"), (NS_SHELL, "CommandId")])
        .map(|e| e.text().trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| protocol("Command", "no CommandId in the CommandResponse"))
}

/// The output chunks and state in a ReceiveResponse for `command_id`.
pub fn receive_output(body: &Element, command_id: &str) -> Result<ReceiveOutput, WinrmError> {
    let resp = body
        .child(NS_SHELL, "ReceiveResponse")
        .ok_or_else(|| protocol("Receive", "no ReceiveResponse in the answer"))?;
    let ours = |el: &Element| {
        el.attr("CommandId")
            .is_none_or(|id| id.trim().eq_ignore_ascii_case(command_id))
    };
    let mut out = ReceiveOutput::default();
    for stream in resp.children_named(NS_SHELL, "Stream").filter(|s| ours(s)) {
        let data = stream.text().trim();
        if data.is_empty() {
            continue;
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| protocol("Receive", format!("stream data is not base64: {e}")))?;
        match stream.attr("Name") {
            Some("stdout") => out.stdout.extend_from_slice(&bytes),
            Some("stderr") => out.stderr.extend_from_slice(&bytes),
            // Only stdout and stderr were asked for; anything else is not ours to show.
            _ => {}
        }
    }
    if let Some(state) = resp
        .children_named(NS_SHELL, "CommandState")
        .find(|s| ours(s))
    {
        out.done = state.attr("State").map(str::trim) == Some(STATE_DONE);
        if let Some(code) = state.child(NS_SHELL, "ExitCode") {
            out.exit_code = Some(parse_exit_code(code.text())?);
        }
    }
    if out.done && out.exit_code.is_none() {
        return Err(protocol(
            "Receive",
            "the command is Done but has no ExitCode",
        ));
    }
    Ok(out)
}

/// Exit codes are DWORDs; a negative one (`exit -1`) is its two's complement.
fn parse_exit_code(text: &str) -> Result<u32, WinrmError> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u32>() {
        return Ok(n);
    }
    t.parse::<i32>()
        .map(|n| n as u32)
        .map_err(|_| protocol("Receive", format!("ExitCode {t:?} is not a number")))
}

/// MaxEnvelopeSize in bytes from a Get of the service configuration.
pub fn max_envelope_size(body: &Element) -> Result<usize, WinrmError> {
    let kb = body
        .path(&[(NS_CONFIG, "Config"), (NS_CONFIG, "MaxEnvelopeSizekb")])
        .ok_or_else(|| protocol("Get config", "no MaxEnvelopeSizekb in the configuration"))?;
    kb.text()
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|k| k.checked_mul(1024))
        .ok_or_else(|| {
            protocol(
                "Get config",
                format!("MaxEnvelopeSizekb {:?} is not a size", kb.text()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The TimedOut fault exactly as a real host sent it (pypsrp's recording).
    const TIMED_OUT: &str = r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="192.168.56.11"><f:Message>The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>"#;

    #[test]
    fn timed_out_fault_is_recognised() {
        let err = body("Receive", TIMED_OUT).unwrap_err();
        let fault = err.fault().unwrap();
        assert!(fault.is_operation_timeout());
        assert_eq!(fault.code.as_deref(), Some("Receiver"));
        assert_eq!(
            fault.subcode,
            Some((NS_WSMAN.to_string(), "TimedOut".to_string()))
        );
        assert_eq!(fault.wsman_code, Some(2_150_858_793));
        assert_eq!(fault.machine.as_deref(), Some("192.168.56.11"));
        assert!(err.to_string().starts_with(
            "WinRM fault on Receive: The WS-Management service cannot complete the operation"
        ));
    }

    #[test]
    fn subcode_is_resolved_by_uri_not_prefix() {
        // Same fault, other prefixes, no WSManFault detail: still "poll again".
        let x = r#"<E:Envelope xmlns:E="http://www.w3.org/2003/05/soap-envelope" xmlns:man="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><E:Body><E:Fault><E:Code><E:Value>E:Receiver</E:Value><E:Subcode><E:Value>man:TimedOut</E:Value></E:Subcode></E:Code></E:Fault></E:Body></E:Envelope>"#;
        let err = body("Receive", x).unwrap_err();
        assert!(err.fault().unwrap().is_operation_timeout());
        // A prefix that merely *looks* like Windows' but is bound elsewhere is not TimedOut.
        let y = x.replace(
            "xmlns:man=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\"",
            "xmlns:man=\"urn:other\"",
        );
        assert!(!body("Receive", &y)
            .unwrap_err()
            .fault()
            .unwrap()
            .is_operation_timeout());
    }

    #[test]
    fn other_faults_are_errors_with_code_and_message() {
        let x = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:InvalidSelectors</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot process the request because the request contained invalid selectors for the resource. </s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858843" Machine="win1"><f:Message><f:ProviderFault>The request for the Windows Remote Shell with ShellId X failed because the shell was not found on the server.</f:ProviderFault></f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>"#;
        let err = body("Command", x).unwrap_err();
        let fault = err.fault().unwrap();
        assert!(!fault.is_operation_timeout());
        assert_eq!(fault.wsman_code, Some(2_150_858_843));
        assert_eq!(
            err.to_string(),
            "WinRM fault on Command: The request for the Windows Remote Shell with ShellId X failed \
             because the shell was not found on the server. (InvalidSelectors, code 2150858843 = 0x8033805B)"
        );
    }

    #[test]
    fn receive_collects_chunks_state_and_exit_code() {
        let x = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Body><rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="c1">b3V0IA0K</rsp:Stream><rsp:Stream Name="stderr" CommandId="c1">ZXJyIA0K</rsp:Stream><rsp:Stream Name="stdout" CommandId="OTHER">eHh4</rsp:Stream><rsp:Stream Name="stdout" CommandId="c1" End="true"></rsp:Stream><rsp:CommandState CommandId="C1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>-1</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>"#;
        let out = receive_output(&body("Receive", x).unwrap(), "c1").unwrap();
        assert_eq!(out.stdout, b"out \r\n");
        assert_eq!(out.stderr, b"err \r\n");
        assert!(out.done);
        assert_eq!(out.exit_code, Some(u32::MAX));
    }

    #[test]
    fn receive_still_running_and_broken_answers() {
        let running = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Body><rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="c1">aGk=</rsp:Stream><rsp:CommandState CommandId="c1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"></rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>"#;
        let out = receive_output(&body("Receive", running).unwrap(), "c1").unwrap();
        assert_eq!((out.stdout.as_slice(), out.done), (&b"hi"[..], false));

        let bad64 = running.replace("aGk=", "not base64!");
        let err = receive_output(&body("Receive", &bad64).unwrap(), "c1").unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");

        let no_code = running.replace("CommandState/Running", "CommandState/Done");
        assert!(receive_output(&body("Receive", &no_code).unwrap(), "c1").is_err());

        assert!(body("Receive", "<html>Bad Gateway</html>").is_err());
        assert!(body("Receive", "not xml at all <").is_err());
    }

    #[test]
    fn shell_id_from_shell_or_selector() {
        let only_selector = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Body><x:ResourceCreated><a:Address>http://h:5985/wsman</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">ABC</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated></s:Body></s:Envelope>"#;
        assert_eq!(
            shell_id(&body("Create", only_selector).unwrap()).unwrap(),
            "ABC"
        );
        let empty = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#;
        assert!(shell_id(&body("Create", empty).unwrap()).is_err());
        assert!(command_id(&body("Command", empty).unwrap()).is_err());
    }
}
