//! The shell lifecycle against a scripted poster: what is sent, in which order, and how faults,
//! stdin chunking and size limits are handled.

use std::collections::VecDeque;
use std::sync::Mutex as StdMutex;

use super::*;
use crate::transport::winrm::ids::SequentialIds;
use crate::transport::winrm::uris::*;
use crate::transport::winrm::xml;

const ENV: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Body>"#;
const END: &str = "</s:Body></s:Envelope>";

fn created(id: &str) -> String {
    format!("{ENV}<rsp:Shell><rsp:ShellId>{id}</rsp:ShellId></rsp:Shell>{END}")
}
fn command(id: &str) -> String {
    format!(
        "{ENV}<rsp:CommandResponse><rsp:CommandId>{id}</rsp:CommandId></rsp:CommandResponse>{END}"
    )
}
fn done(cid: &str, stdout_b64: &str, code: i32) -> String {
    format!(
        "{ENV}<rsp:ReceiveResponse><rsp:Stream Name=\"stdout\" CommandId=\"{cid}\">{stdout_b64}</rsp:Stream>\
         <rsp:CommandState CommandId=\"{cid}\" State=\"{STATE_DONE}\"><rsp:ExitCode>{code}</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>{END}"
    )
}
fn fault(code: u32, subcode: &str) -> String {
    format!(
        "{ENV}<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>\
         <s:Reason><s:Text>r</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f=\"{NS_WSMAN_FAULT}\" Code=\"{code}\" Machine=\"h\">\
         <f:Message>m</f:Message></f:WSManFault></s:Detail></s:Fault>{END}"
    )
}
fn empty() -> String {
    format!("{ENV}{END}")
}

/// Answers from a script, in order, and keeps every request.
struct Scripted {
    answers: StdMutex<VecDeque<String>>,
    sent: StdMutex<Vec<String>>,
}

impl Scripted {
    fn new(answers: Vec<String>) -> Arc<Scripted> {
        Arc::new(Scripted {
            answers: StdMutex::new(answers.into()),
            sent: StdMutex::new(Vec::new()),
        })
    }
    fn sent(&self) -> Vec<xml::Element> {
        let sent = self.sent.lock().unwrap();
        sent.iter().map(|x| xml::parse(x).unwrap()).collect()
    }
    fn actions(&self) -> Vec<String> {
        self.sent()
            .iter()
            .map(|e| {
                let a = e
                    .path(&[(NS_SOAP, "Header"), (NS_ADDRESSING, "Action")])
                    .unwrap()
                    .text();
                a.rsplit('/').next().unwrap().to_string()
            })
            .collect()
    }
}

impl Poster for Scripted {
    fn endpoint(&self) -> &str {
        "https://h:5986/wsman"
    }
    fn post(&self, envelope: String) -> BoxFuture<'_, Result<String, WinrmError>> {
        self.sent.lock().unwrap().push(envelope);
        let answer = self.answers.lock().unwrap().pop_front();
        Box::pin(async move { Ok(answer.expect("the client sent more requests than scripted")) })
    }
}

async fn open(p: &Arc<Scripted>, opts: ShellOptions) -> WinrsShell {
    WinrsShell::open(p.clone(), Arc::new(SequentialIds::default()), opts)
        .await
        .unwrap()
}

fn selector(e: &xml::Element) -> String {
    e.path(&[
        (NS_SOAP, "Header"),
        (NS_WSMAN, "SelectorSet"),
        (NS_WSMAN, "Selector"),
    ])
    .unwrap()
    .text()
    .to_string()
}

#[tokio::test]
async fn one_shell_many_commands_timeouts_polled_again() {
    let p = Scripted::new(vec![
        created("S1"),
        command("C1"),
        done("C1", "aGk=", 0),
        empty(),
        command("C2"),
        fault(WSMAN_CODE_TIMED_OUT, "w:TimedOut"),
        done("C2", "", 3),
        // A Signal fault after Done does not fail the command.
        fault(2_150_858_843, "w:InvalidSelectors"),
        empty(),
    ]);
    let shell = open(&p, ShellOptions::default()).await;
    let a = shell
        .run("cmd.exe", &["/c".into(), "echo hi".into()], None)
        .await
        .unwrap();
    assert_eq!((a.stdout.as_str(), a.code), ("hi", 0));
    let b = shell.run("cmd.exe", &[], None).await.unwrap();
    assert_eq!(b.code, 3);
    shell.close().await.unwrap();
    assert_eq!(
        p.actions(),
        [
            "Create", "Command", "Receive", "Signal", "Command", "Receive", "Receive", "Signal",
            "Delete"
        ]
    );
    assert_eq!(shell.round_trips(), 9);
    assert!(p.sent()[1..].iter().all(|e| selector(e) == "S1"));
    let err = shell.run("cmd.exe", &[], None).await.unwrap_err();
    assert!(matches!(err, WinrmError::ShellClosed), "{err}");
}

#[tokio::test]
async fn a_vanished_shell_is_recreated_once() {
    let p = Scripted::new(vec![
        created("S1"),
        fault(2_150_858_843, "w:InvalidSelectors"),
        created("S2"),
        command("C1"),
        done("C1", "", 0),
        empty(),
    ]);
    let shell = open(&p, ShellOptions::default()).await;
    shell.run("whoami.exe", &[], None).await.unwrap();
    assert_eq!(
        p.actions(),
        ["Create", "Command", "Create", "Command", "Receive", "Signal"]
    );
    assert_eq!(selector(&p.sent()[3]), "S2");
    assert_eq!(shell.shell_id().await.as_deref(), Some("S2"));

    // A second reset fault in a row is reported, not looped on.
    let p = Scripted::new(vec![
        created("S1"),
        fault(2_150_858_843, "w:InvalidSelectors"),
        created("S2"),
        fault(2_150_858_843, "w:InvalidSelectors"),
    ]);
    let shell = open(&p, ShellOptions::default()).await;
    let err = shell.run("whoami.exe", &[], None).await.unwrap_err();
    assert_eq!(err.fault().unwrap().wsman_code, Some(2_150_858_843));
}

#[tokio::test]
async fn other_faults_fail_the_command() {
    let p = Scripted::new(vec![
        created("S1"),
        command("C1"),
        fault(5, "w:AccessDenied"),
    ]);
    let shell = open(&p, ShellOptions::default()).await;
    let err = shell.run("x", &[], None).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("WinRM fault on Receive: m (AccessDenied, code 5"),
        "{err}"
    );
}

#[tokio::test]
async fn stdin_is_chunked_under_max_envelope_size() {
    let opts = ShellOptions {
        max_envelope_size: 3000,
        ..ShellOptions::default()
    };
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let mut answers = vec![created("S1"), command("C1")];
    answers.extend((0..4).map(|_| empty()));
    answers.extend([done("C1", "", 0), empty()]);
    let p = Scripted::new(answers);
    let shell = open(&p, opts).await;
    shell.run("x", &[], Some(&data)).await.unwrap();

    let sent = p.sent.lock().unwrap().clone();
    assert!(sent.iter().all(|x| x.len() <= 3000));
    let sends: Vec<_> = p
        .sent()
        .into_iter()
        .filter_map(|e| {
            let s = e.path(&[(NS_SOAP, "Body"), (NS_SHELL, "Send"), (NS_SHELL, "Stream")])?;
            Some((s.attr("End").map(str::to_string), s.text().to_string()))
        })
        .collect();
    assert!(
        sends.len() > 1,
        "5000 bytes cannot fit one 3000-byte envelope"
    );
    let ends: Vec<_> = sends.iter().map(|(e, _)| e.clone()).collect();
    assert!(ends[..ends.len() - 1].iter().all(Option::is_none));
    assert_eq!(ends.last().unwrap().as_deref(), Some("true"));
    let joined: Vec<u8> = sends
        .iter()
        .flat_map(|(_, b64)| {
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap()
        })
        .collect();
    assert_eq!(joined, data);
}

#[tokio::test]
async fn empty_stdin_still_closes_it() {
    let p = Scripted::new(vec![
        created("S1"),
        command("C1"),
        empty(),
        done("C1", "", 0),
        empty(),
    ]);
    let shell = open(&p, ShellOptions::default()).await;
    shell.run("x", &[], Some(b"")).await.unwrap();
    assert_eq!(
        p.actions(),
        ["Create", "Command", "Send", "Receive", "Signal"]
    );
}

#[tokio::test]
async fn oversized_or_unencodable_command_lines_are_refused_before_sending() {
    let p = Scripted::new(vec![created("S1")]);
    let shell = open(&p, ShellOptions::default()).await;
    let huge = "x".repeat(DEFAULT_MAX_ENVELOPE_SIZE);
    let err = shell.run("cmd.exe", &[huge], None).await.unwrap_err();
    assert!(matches!(err, WinrmError::EnvelopeTooLarge { .. }), "{err}");
    assert!(
        err.to_string().contains("send the script on stdin"),
        "{err}"
    );
    let err = shell
        .run("cmd.exe", &["a\0b".into()], None)
        .await
        .unwrap_err();
    assert!(matches!(err, WinrmError::NotXmlText { .. }), "{err}");
    assert_eq!(shell.round_trips(), 1);
}

#[tokio::test]
async fn max_envelope_size_is_read_or_left_at_the_default() {
    let config = |kb: &str| {
        format!(
            "{ENV}<cfg:Config xmlns:cfg=\"{NS_CONFIG}\"><cfg:MaxEnvelopeSizekb>{kb}</cfg:MaxEnvelopeSizekb></cfg:Config>{END}"
        )
    };
    let opts = ShellOptions {
        read_max_envelope_size: true,
        ..ShellOptions::default()
    };
    let p = Scripted::new(vec![config("500"), created("S1")]);
    let shell = open(&p, opts.clone()).await;
    assert_eq!(shell.max_envelope_size(), 512_000);
    let create = &p.sent()[1];
    let max = create
        .path(&[(NS_SOAP, "Header"), (NS_WSMAN, "MaxEnvelopeSize")])
        .unwrap();
    assert_eq!(max.text(), "512000");

    // Not an administrator: access denied, and the safe default stays.
    let p = Scripted::new(vec![fault(5, "w:AccessDenied"), created("S1")]);
    let shell = open(&p, opts).await;
    assert_eq!(shell.max_envelope_size(), DEFAULT_MAX_ENVELOPE_SIZE);
}

#[tokio::test]
async fn an_answer_that_is_not_xml_is_a_protocol_error_with_its_xml_kind() {
    let p = Scripted::new(vec![format!("{ENV}<rsp:Shell>")]);
    let err = WinrsShell::open(
        p,
        Arc::new(SequentialIds::default()),
        ShellOptions::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(
        matches!(
            err,
            WinrmError::Xml {
                action: "Create",
                source: xml::XmlError::Unclosed
            }
        ),
        "{err}"
    );
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(
        err.to_string(),
        "WinRM answer to Create is not what the protocol says: document ends inside an element"
    );
}

/// A host that sends more output than the cap: the command fails saying so, and is
/// terminated, instead of rwin collecting it all in memory (issue 13 point 6).
#[tokio::test]
async fn output_past_the_cap_fails_the_command() {
    let running = |cid: &str, b64: &str| {
        format!(
            "{ENV}<rsp:ReceiveResponse><rsp:Stream Name=\"stdout\" CommandId=\"{cid}\">{b64}</rsp:Stream>\
             <rsp:CommandState CommandId=\"{cid}\" State=\"{NS_SHELL}/CommandState/Running\"/></rsp:ReceiveResponse>{END}"
        )
    };
    // 12 bytes per answer ("aGVsbG8gd29ybGQh" = "hello world!"), a cap of 20.
    let mut answers = vec![created("S1"), command("C1")];
    answers.extend((0..4).map(|_| running("C1", "aGVsbG8gd29ybGQh")));
    answers.push(empty());
    let p = Scripted::new(answers);
    let opts = ShellOptions {
        max_output: 20,
        ..ShellOptions::default()
    };
    let shell = open(&p, opts).await;
    let err = shell.run("x", &[], None).await.unwrap_err();
    assert!(
        matches!(err, WinrmError::OutputTooLarge { limit: 20 }),
        "{err}"
    );
    assert!(err.to_string().contains("more than 20 bytes"), "{err}");
    assert_eq!(
        p.actions(),
        ["Create", "Command", "Receive", "Receive", "Signal"]
    );
}
