//! The replay server's own strictness: each kind of difference between a request and the
//! recorded one fails, and rwin's deliberate differences from the recorded client (pypsrp)
//! pass only exactly as the table of allowed differences states them. Without these, a
//! recording could seem to prove what the server never compared.

use super::*;

/// Which side of one exchange an edit changes.
#[derive(Clone, Copy)]
enum Side {
    /// What the client sent.
    Sent,
    /// What the recording says the client should send.
    Recorded,
}

/// Sends every request of `sent` to a server replaying `expected`; returns its failures.
fn play(expected: Vec<RecordedExchange>, sent: &[RecordedExchange]) -> Vec<String> {
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    let mut server = Replay::new(expected);
    for exchange in sent {
        let headers = HashMap::from([
            ("authorization".to_string(), auth.clone()),
            (
                "content-type".to_string(),
                "application/soap+xml;charset=UTF-8".to_string(),
            ),
        ]);
        server.answer(&Request {
            headers,
            body: exchange.request.clone(),
        });
    }
    server.failures
}

/// Replays recording `name` with request `index` edited (the first `from` becomes `to`) on
/// `side`, and returns the server's failures. The unedited recording must replay cleanly
/// first, so whatever fails afterwards fails for the edit alone.
fn failures_after(name: &str, index: usize, side: Side, from: &str, to: &str) -> Vec<String> {
    let script = recording(name);
    let clean = play(script.clone(), &script);
    assert!(clean.is_empty(), "{name} against itself: {clean:#?}");
    let original = &script[index].request;
    assert!(
        original.contains(from),
        "request {index} of {name} holds no {from:?}"
    );
    let mut edited = script.clone();
    edited[index].request = original.replacen(from, to, 1);
    match side {
        Side::Sent => play(script, &edited),
        Side::Recorded => play(edited, &script),
    }
}

/// Whether the edit was caught by exactly one failure, which names `what`.
fn caught(failures: &[String], what: &str) -> Result<(), String> {
    match failures {
        [one] if one.contains(what) => Ok(()),
        _ => Err(format!(
            "expected one mismatch naming {what:?}; the server reported {failures:#?}"
        )),
    }
}

fn assert_caught(failures: &[String], what: &str) {
    if let Err(why) = caught(failures, what) {
        panic!("{why}");
    }
}

/// Each edit of request `index` (`from` → `to` in what the client sends) is caught by a
/// failure naming its `what`; lists every edit that was not.
fn assert_each_caught(index: usize, edits: &[(&str, &str, &str)]) {
    let missed: Vec<String> = edits
        .iter()
        .filter_map(|(from, to, what)| {
            caught(&failures_after(STANDARD, index, Side::Sent, from, to), what).err()
        })
        .collect();
    assert!(
        missed.is_empty(),
        "{} of {} edits not caught:\n{}",
        missed.len(),
        edits.len(),
        missed.join("\n")
    );
}

const STANDARD: &str = "test_winrs_standard";
// Requests of test_winrs_standard, in order.
const CREATE: usize = 0;
const COMMAND: usize = 1;
const RECEIVE: usize = 2;
const SIGNAL: usize = 3;
const DELETE: usize = 4;

#[test]
fn a_different_signal_code_is_caught() {
    let f = failures_after(
        STANDARD,
        SIGNAL,
        Side::Sent,
        "signal/ctrl_c",
        "signal/ctrl_break",
    );
    assert_caught(&f, "rsp:Code");
}

#[test]
fn a_changed_option_value_is_caught() {
    let f = failures_after(
        STANDARD,
        COMMAND,
        Side::Sent,
        "WINRS_SKIP_CMD_SHELL\">False<",
        "WINRS_SKIP_CMD_SHELL\">True<",
    );
    assert_caught(&f, "WINRS_SKIP_CMD_SHELL");
}

#[test]
fn an_option_the_host_must_comply_with_is_caught() {
    let f = failures_after(
        STANDARD,
        RECEIVE,
        Side::Sent,
        "Name=\"WSMAN_CMDSHELL_OPTION_KEEPALIVE\">",
        "Name=\"WSMAN_CMDSHELL_OPTION_KEEPALIVE\" MustComply=\"true\">",
    );
    assert_caught(&f, "MustComply");
}

#[test]
fn an_option_set_the_host_may_ignore_is_caught() {
    let f = failures_after(
        STANDARD,
        COMMAND,
        Side::Sent,
        "<wsman:OptionSet s:mustUnderstand=\"true\">",
        "<wsman:OptionSet>",
    );
    assert_caught(&f, "w:OptionSet");
}

#[test]
fn an_added_option_is_caught() {
    let f = failures_after(
        STANDARD,
        CREATE,
        Side::Sent,
        "</s:Header>",
        "<wsman:OptionSet><wsman:Option Name=\"WINRS_CONSOLEMODE_STDIN\">TRUE</wsman:Option></wsman:OptionSet></s:Header>",
    );
    assert_caught(&f, "WINRS_CONSOLEMODE_STDIN");
}

/// An option rwin may add (WINRS_NOPROFILE, stating the default) with any other value fails.
#[test]
fn an_allowed_difference_with_another_value_is_caught() {
    let f = failures_after(
        STANDARD,
        CREATE,
        Side::Sent,
        "</s:Header>",
        "<wsman:OptionSet><wsman:Option Name=\"WINRS_NOPROFILE\">TRUE</wsman:Option></wsman:OptionSet></s:Header>",
    );
    assert_caught(&f, "WINRS_NOPROFILE");
}

#[test]
fn a_missing_selector_is_caught() {
    let f = failures_after(
        STANDARD,
        DELETE,
        Side::Recorded,
        "</wsman:SelectorSet>",
        "<wsman:Selector Name=\"Shard\">2</wsman:Selector></wsman:SelectorSet>",
    );
    assert_caught(&f, "Shard");
}

#[test]
fn an_extra_selector_is_caught() {
    let f = failures_after(
        STANDARD,
        DELETE,
        Side::Sent,
        "</wsman:SelectorSet>",
        "<wsman:Selector Name=\"Shard\">2</wsman:Selector></wsman:SelectorSet>",
    );
    assert_caught(&f, "Shard");
}

#[test]
fn each_setting_of_the_created_shell_is_compared() {
    let edits = [
        (
            "stdout stderr</rsp:OutputStreams>",
            "stdout</rsp:OutputStreams>",
            "rsp:OutputStreams",
        ),
        (
            "</rsp:Shell>",
            "<rsp:WorkingDirectory>C:\\</rsp:WorkingDirectory></rsp:Shell>",
            "rsp:WorkingDirectory",
        ),
        (
            "</rsp:Shell>",
            "<rsp:Environment><rsp:Variable Name=\"RWIN_X\">1</rsp:Variable></rsp:Environment></rsp:Shell>",
            "RWIN_X",
        ),
        (
            "</rsp:Shell>",
            "<rsp:Lifetime>PT60S</rsp:Lifetime></rsp:Shell>",
            "rsp:Lifetime",
        ),
    ];
    assert_each_caught(CREATE, &edits);
}

#[test]
fn each_header_that_changes_meaning_is_compared() {
    let edits = [
        ("PT20S", "PT60S", "w:OperationTimeout"),
        (">153600<", ">512000<", "w:MaxEnvelopeSize"),
        (
            "<wsman:Locale s:mustUnderstand=\"false\" xml:lang=\"en-US\" />",
            "<wsman:Locale s:mustUnderstand=\"false\" xml:lang=\"de-DE\" />",
            "w:Locale",
        ),
        (
            "<wsmv:DataLocale s:mustUnderstand=\"false\" xml:lang=\"en-US\" />",
            "<wsmv:DataLocale s:mustUnderstand=\"false\" xml:lang=\"de-DE\" />",
            "p:DataLocale",
        ),
        (
            "addressing/role/anonymous",
            "addressing/role/elsewhere",
            "a:ReplyTo",
        ),
        (
            "<wsman:ResourceURI s:mustUnderstand=\"true\">",
            "<wsman:ResourceURI s:mustUnderstand=\"false\">",
            "w:ResourceURI",
        ),
    ];
    assert_each_caught(RECEIVE, &edits);
}

/// A header the server has no rule for fails until someone decides whether it changes what
/// the request does.
#[test]
fn a_header_the_server_has_no_rule_for_is_caught() {
    let f = failures_after(
        STANDARD,
        CREATE,
        Side::Sent,
        "</s:Header>",
        "<wsmv:CompressionType s:mustUnderstand=\"true\">xpress</wsmv:CompressionType></s:Header>",
    );
    assert_caught(&f, "CompressionType");
}

/// rwin's WINRS_CODEPAGE=65001 is allowed where pypsrp sent none; against a recording that
/// asked for 437 it is a difference like any other, printed with both values.
#[tokio::test]
async fn rwin_code_page_passes_only_where_the_recording_has_none() {
    let mut script = recording(STANDARD);
    script[CREATE].request = script[CREATE].request.replacen(
        "</s:Header>",
        "<wsman:OptionSet><wsman:Option Name=\"WINRS_CODEPAGE\">437</wsman:Option></wsman:OptionSet></s:Header>",
        1,
    );
    let (port, state) = replay(script).await;
    let poster = HttpPoster::new(plain_http(port)).expect("client builds");
    let opened = WinrsShell::open(
        Arc::new(poster),
        Arc::new(RandomIds::default()),
        ShellOptions::default(),
    )
    .await;
    assert!(
        opened.is_err(),
        "the Create differs, so the shell must not open"
    );
    let failures = state.lock().unwrap().failures.clone();
    assert_caught(&failures, "WINRS_CODEPAGE");
    assert!(
        failures[0].contains("65001") && failures[0].contains("437"),
        "{}",
        failures[0]
    );
}

/// rwin's Signal terminate is allowed in place of pypsrp's ctrl_c, not of any other code.
#[tokio::test]
async fn rwin_terminate_passes_only_in_place_of_ctrl_c() {
    let mut script = recording(STANDARD);
    script[SIGNAL].request =
        script[SIGNAL]
            .request
            .replacen("signal/ctrl_c", "signal/ctrl_break", 1);
    let (port, state) = replay(script).await;
    let shell = open_shell(port, ShellOptions::default()).await;
    let _ = shell
        .run("cmd.exe", &args(&["/c", "echo", "hi"]), None)
        .await;
    let failures = state.lock().unwrap().failures.clone();
    assert_caught(&failures, "rsp:Code");
    assert!(
        failures[0].contains("signal/terminate") && failures[0].contains("signal/ctrl_break"),
        "{}",
        failures[0]
    );
}

/// Every row of the table is a difference rwin really makes against these recordings, so the
/// table cannot keep a permission nothing needs.
#[tokio::test]
async fn each_allowed_difference_is_one_rwin_makes() {
    let (port, state) = replay(recording("test_winrs_send")).await;
    let opts = ShellOptions {
        stdin_chunk_limit: Some(22),
        ..ShellOptions::default()
    };
    let shell = open_shell(port, opts).await;
    let stdin = b"Write-Host \"output 1\";Write-Host \"output 2\";";
    shell
        .run("powershell.exe", &args(&["-"]), Some(stdin))
        .await
        .unwrap();
    shell.close().await.unwrap();
    assert_replayed(&state);
    let used = state.lock().unwrap().used.clone();
    let unused: Vec<&str> = ALLOWED
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, a)| a.field)
        .collect();
    assert!(unused.is_empty(), "rows no request needed: {unused:?}");
}
