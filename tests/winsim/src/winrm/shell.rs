//! WinRS semantics ([MS-WSMV] 3.1.4.1): shells and their commands, kept across connections
//! like the WinRM service keeps them. A command runs through the [`CommandRunner`] once its
//! stdin is closed (a Send with `End="true"`), or at the first Receive when no stdin was sent.
//! Receive holds for up to the request's OperationTimeout and then answers the real
//! `w:TimedOut` fault, which clients take as "poll again".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::sync::watch;

use super::soap::{self, Header};
use super::xml::{escape, Element, NS_SHELL, NS_SOAP};
use crate::runner::{CommandRunner, Launch, Output};

const RESOURCE_CMD: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
const SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
const TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
const STATE_DONE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done";
const STATE_RUNNING: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running";
/// Windows' default OperationTimeout when the request names none.
const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// One command: its line, stdin so far, and its output once it has exited.
struct Command {
    line: String,
    stdin: Vec<u8>,
    send_seen: bool,
    started: bool,
    done: watch::Receiver<Option<Output>>,
    done_tx: Option<watch::Sender<Option<Output>>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Bytes of stdout and stderr already returned by earlier Receives.
    sent: (usize, usize),
    /// How the shell starts its commands' processes (environment, code page).
    launch: Launch,
}

/// `C:\…`: a path CreateProcess can start without searching for it.
fn is_absolute_windows_path(program: &str) -> bool {
    let b = program.as_bytes();
    b.len() > 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\'
}

/// Every open shell on the simulated host.
pub struct Shells {
    runner: Arc<dyn CommandRunner>,
    shells: Mutex<HashMap<String, HashMap<String, Command>>>,
    /// How each shell starts its commands: its `rsp:Environment` (MS-WSMV Shell: Environment,
    /// `rsp:Variable Name=`) and its WINRS_CODEPAGE.
    launches: Mutex<HashMap<String, Launch>>,
}

/// An answer: whether it is a fault (HTTP 500) and the envelope.
pub struct Answer {
    pub fault: bool,
    pub xml: String,
}

fn ok(xml: String) -> Answer {
    Answer { fault: false, xml }
}

fn failed(xml: String) -> Answer {
    Answer { fault: true, xml }
}

impl Shells {
    pub fn new(runner: Arc<dyn CommandRunner>) -> Shells {
        Shells {
            runner,
            shells: Mutex::new(HashMap::new()),
            launches: Mutex::new(HashMap::new()),
        }
    }

    /// The host the shells run on.
    pub fn runner(&self) -> Arc<dyn CommandRunner> {
        Arc::clone(&self.runner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, Command>>> {
        // A handler that panicked leaves the map as it was between two statements: still usable.
        self.shells.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answer one request envelope.
    pub async fn handle(&self, envelope: &str) -> Answer {
        let root = match super::xml::parse(envelope) {
            Ok(root) if root.is(NS_SOAP, "Envelope") => root,
            Ok(_) | Err(_) => {
                return failed(soap::fault(
                    "",
                    false,
                    "w:SchemaValidationError",
                    None,
                    "The SOAP XML in the message does not match the corresponding XML schema definition.",
                ))
            }
        };
        let h = Header::read(&root);
        let empty = Element::default();
        let body = root.child(NS_SOAP, "Body").unwrap_or(&empty);
        let action = h.action.as_str();
        match action.strip_prefix(TRANSFER).or(action.strip_prefix(SHELL)) {
            Some("/Create") => self.create(&h, body),
            Some("/Delete") => self.delete(&h),
            Some("/Command") => self.command(&h, body),
            Some("/Send") => self.send(&h, body),
            Some("/Receive") => self.receive(&h, body).await,
            Some("/Signal") => self.signal(&h, body),
            _ => failed(soap::fault(
                &h.message_id,
                false,
                "a:ActionNotSupported",
                None,
                &format!("The action {action:?} is not supported by the service (winsim knows Create, Command, Send, Receive, Signal and Delete of the cmd shell)."),
            )),
        }
    }

    fn create(&self, h: &Header, body: &Element) -> Answer {
        // The client's console code page, which the service makes the shell's input and output
        // code page ([MS-WSMV] Remote Shells); without it the shell has the host's OEM one.
        let codepage = match h.option("WINRS_CODEPAGE") {
            None => None,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(cp) => Some(cp),
                Err(_) => {
                    return failed(soap::fault(
                        &h.message_id,
                        false,
                        "w:InvalidOptions",
                        None,
                        &format!(
                            "winsim: unsupported WINRS_CODEPAGE value {v:?} (a code page number)"
                        ),
                    ))
                }
            },
        };
        let id = soap::new_id();
        let env: Vec<(String, String)> = body
            .child(NS_SHELL, "Shell")
            .and_then(|s| s.child(NS_SHELL, "Environment"))
            .map(|e| {
                e.children_named(NS_SHELL, "Variable")
                    .filter_map(|v| Some((v.attr("Name")?.to_string(), v.text.clone())))
                    .collect()
            })
            .unwrap_or_default();
        self.launches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), Launch { env, codepage });
        self.lock().insert(id.clone(), HashMap::new());
        let body = format!(
            "<x:ResourceCreated><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address><a:ReferenceParameters><w:ResourceURI>{RESOURCE_CMD}</w:ResourceURI><w:SelectorSet><w:Selector Name=\"ShellId\">{id}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated><rsp:Shell xmlns:rsp=\"{NS_SHELL}\"><rsp:ShellId>{id}</rsp:ShellId><rsp:ResourceUri>{RESOURCE_CMD}</rsp:ResourceUri><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
        );
        ok(soap::envelope(
            &format!("{TRANSFER}/CreateResponse"),
            &h.message_id,
            &body,
        ))
    }

    fn delete(&self, h: &Header) -> Answer {
        let id = h.shell_id.clone().unwrap_or_default();
        self.launches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        match self.lock().remove(&id) {
            Some(commands) => {
                for c in commands.into_values() {
                    if let Some(t) = c.task {
                        t.abort();
                    }
                }
                ok(soap::envelope(
                    &format!("{TRANSFER}/DeleteResponse"),
                    &h.message_id,
                    "",
                ))
            }
            None => failed(soap::shell_not_found(&h.message_id, &id)),
        }
    }

    fn command(&self, h: &Header, body: &Element) -> Answer {
        let id = h.shell_id.clone().unwrap_or_default();
        let Some(line) = body.child(NS_SHELL, "CommandLine") else {
            return failed(soap::fault(
                &h.message_id,
                false,
                "w:SchemaValidationError",
                None,
                "The Command request has no rsp:CommandLine.",
            ));
        };
        let program = line
            .child(NS_SHELL, "Command")
            .map(|c| c.text.trim().to_string())
            .unwrap_or_default();
        // WINRS_SKIP_CMD_SHELL=TRUE starts the program itself instead of `cmd.exe /c` (MS-WSMV
        // 3.1.4.11), and then a bare name is not looked up on PATH: a real host answers
        // `powershell.exe` with this fault and runs
        // `C:\Windows\system32\WindowsPowerShell\v1.0\powershell.exe` (pypsrp's recording
        // tests/responses/test_winrs_no_cmd_shell.yml). Through cmd.exe (FALSE, the default)
        // the bare name is found on PATH (its test_winrs_send.yml runs `powershell.exe -`).
        let skip_cmd_shell = h
            .option("WINRS_SKIP_CMD_SHELL")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if skip_cmd_shell && !is_absolute_windows_path(&program) {
            return failed(soap::fault(
                &h.message_id,
                true,
                "w:InternalError",
                Some(soap::CODE_FILE_NOT_FOUND),
                "The system cannot find the file specified. ",
            ));
        }
        let mut words = vec![program];
        words.extend(
            line.children_named(NS_SHELL, "Arguments")
                .map(|a| a.text.clone()),
        );
        let command_id = line
            .attr("CommandId")
            .map(str::to_uppercase)
            .unwrap_or_else(soap::new_id);
        let launch = self
            .launches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
            .unwrap_or_default();
        let mut shells = self.lock();
        let Some(commands) = shells.get_mut(&id) else {
            return failed(soap::shell_not_found(&h.message_id, &id));
        };
        let (tx, rx) = watch::channel(None);
        commands.insert(
            command_id.clone(),
            Command {
                line: words.join(" "),
                stdin: Vec::new(),
                send_seen: false,
                started: false,
                done: rx,
                done_tx: Some(tx),
                task: None,
                sent: (0, 0),
                launch,
            },
        );
        let body = format!(
            "<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
        );
        ok(soap::envelope(
            &format!("{SHELL}/CommandResponse"),
            &h.message_id,
            &body,
        ))
    }

    fn send(&self, h: &Header, body: &Element) -> Answer {
        let id = h.shell_id.clone().unwrap_or_default();
        let mut shells = self.lock();
        let Some(commands) = shells.get_mut(&id) else {
            return failed(soap::shell_not_found(&h.message_id, &id));
        };
        let streams = body
            .child(NS_SHELL, "Send")
            .map(|s| s.children_named(NS_SHELL, "Stream").collect::<Vec<_>>())
            .unwrap_or_default();
        for stream in streams {
            let cid = stream.attr("CommandId").unwrap_or_default().to_uppercase();
            let Some(cmd) = commands.get_mut(&cid) else {
                return failed(soap::shell_not_found(&h.message_id, &id));
            };
            let data = base64::engine::general_purpose::STANDARD
                .decode(stream.text.trim())
                .unwrap_or_default();
            cmd.send_seen = true;
            cmd.stdin.extend_from_slice(&data);
            if matches!(
                stream.attr("End"),
                Some("true") | Some("TRUE") | Some("True")
            ) {
                self.start(cmd);
            }
        }
        ok(soap::envelope(
            &format!("{SHELL}/SendResponse"),
            &h.message_id,
            "<rsp:SendResponse/>",
        ))
    }

    fn start(&self, cmd: &mut Command) {
        if cmd.started {
            return;
        }
        cmd.started = true;
        let runner = Arc::clone(&self.runner);
        let line = cmd.line.clone();
        let stdin = std::mem::take(&mut cmd.stdin);
        let launch = cmd.launch.clone();
        let Some(tx) = cmd.done_tx.take() else { return };
        cmd.task = Some(tokio::spawn(async move {
            let out = runner.launch(&line, &stdin, &launch).await;
            let _ = tx.send(Some(out));
        }));
    }

    async fn receive(&self, h: &Header, body: &Element) -> Answer {
        let id = h.shell_id.clone().unwrap_or_default();
        let cid = body
            .child(NS_SHELL, "Receive")
            .and_then(|r| r.child(NS_SHELL, "DesiredStream"))
            .and_then(|d| d.attr("CommandId"))
            .unwrap_or_default()
            .to_uppercase();
        let mut done = {
            let mut shells = self.lock();
            let Some(cmd) = shells.get_mut(&id).and_then(|c| c.get_mut(&cid)) else {
                return failed(soap::shell_not_found(&h.message_id, &id));
            };
            if !cmd.send_seen {
                self.start(cmd);
            }
            cmd.done.clone()
        };
        let limit = h.operation_timeout.unwrap_or(DEFAULT_OPERATION_TIMEOUT);
        let output = match tokio::time::timeout(limit, done.wait_for(Option::is_some)).await {
            Ok(Ok(out)) => out.clone().unwrap_or_default(),
            Ok(Err(_)) => Output {
                stderr: b"winsim: the command was terminated\r\n".to_vec(),
                code: 1,
                ..Output::default()
            },
            Err(_) => return failed(soap::timed_out(&h.message_id)),
        };
        // Keep each answer within the client's MaxEnvelopeSize, as Windows does.
        let room = h.max_envelope_size.unwrap_or(153_600).saturating_sub(4096) / 4 * 3 / 2;
        let room = room.max(1024);
        let mut shells = self.lock();
        let Some(cmd) = shells.get_mut(&id).and_then(|c| c.get_mut(&cid)) else {
            return failed(soap::shell_not_found(&h.message_id, &id));
        };
        let out_part = next_piece(&output.stdout, &mut cmd.sent.0, room);
        let err_part = next_piece(&output.stderr, &mut cmd.sent.1, room);
        let finished = cmd.sent.0 == output.stdout.len() && cmd.sent.1 == output.stderr.len();
        let cid = escape(&cid);
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut xml = String::from("<rsp:ReceiveResponse>");
        for (name, part) in [("stdout", out_part), ("stderr", err_part)] {
            if !part.is_empty() {
                xml.push_str(&format!(
                    "<rsp:Stream Name=\"{name}\" CommandId=\"{cid}\">{}</rsp:Stream>",
                    b64(part)
                ));
            }
        }
        if finished {
            xml.push_str(&format!("<rsp:Stream Name=\"stdout\" CommandId=\"{cid}\" End=\"true\"></rsp:Stream><rsp:Stream Name=\"stderr\" CommandId=\"{cid}\" End=\"true\"></rsp:Stream><rsp:CommandState CommandId=\"{cid}\" State=\"{STATE_DONE}\"><rsp:ExitCode>{}</rsp:ExitCode></rsp:CommandState>", output.code));
        } else {
            xml.push_str(&format!(
                "<rsp:CommandState CommandId=\"{cid}\" State=\"{STATE_RUNNING}\"></rsp:CommandState>"
            ));
        }
        xml.push_str("</rsp:ReceiveResponse>");
        ok(soap::envelope(
            &format!("{SHELL}/ReceiveResponse"),
            &h.message_id,
            &xml,
        ))
    }

    fn signal(&self, h: &Header, body: &Element) -> Answer {
        let id = h.shell_id.clone().unwrap_or_default();
        let signal = body.child(NS_SHELL, "Signal");
        let cid = signal
            .and_then(|s| s.attr("CommandId"))
            .unwrap_or_default()
            .to_uppercase();
        let code = signal
            .and_then(|s| s.child(NS_SHELL, "Code"))
            .map(|c| c.text.trim().to_string())
            .unwrap_or_default();
        let mut shells = self.lock();
        let Some(commands) = shells.get_mut(&id) else {
            return failed(soap::shell_not_found(&h.message_id, &id));
        };
        // terminate and ctrl_c both end the command here; winsim commands cannot trap Ctrl+C.
        if code.ends_with("/terminate") || code.ends_with("/ctrl_c") {
            if let Some(cmd) = commands.remove(&cid) {
                if let Some(t) = cmd.task {
                    t.abort();
                }
            }
        }
        ok(soap::envelope(
            &format!("{SHELL}/SignalResponse"),
            &h.message_id,
            "<rsp:SignalResponse/>",
        ))
    }
}

fn next_piece<'a>(all: &'a [u8], sent: &mut usize, room: usize) -> &'a [u8] {
    let start = (*sent).min(all.len());
    let end = (start + room).min(all.len());
    *sent = end;
    &all[start..end]
}
