//! One WinRS shell per host, reused for every command (k0sctl opened one per command):
//! Create once; per command Command → Send stdin → Receive until Done → Signal terminate;
//! Delete at the end. Runs over any [`Poster`], so HTTP, TLS and authentication stay pluggable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::retry::RetryPolicy;

use futures_util::future::BoxFuture;
use tokio::sync::Mutex;

use super::envelope::{is_xml_safe, Requests, ShellSpec, Signal, DEFAULT_MAX_ENVELOPE_SIZE};
use super::error::WinrmError;
use super::ids::IdSource;
use super::response::{self, ReceiveOutput};
use super::xml::Element;
use crate::transport::ExecOutput;

/// Posts one SOAP envelope to the WinRM endpoint and returns the answer's text.
pub trait Poster: Send + Sync {
    /// The endpoint URL, e.g. `https://win1:5986/wsman` (it goes into every `<a:To>`).
    fn endpoint(&self) -> &str;

    /// POST `envelope`. Faults are answers too (Windows sends them with HTTP 500): return their
    /// text and let the caller read the fault.
    fn post(&self, envelope: String) -> BoxFuture<'_, Result<String, WinrmError>>;
}

/// WSManFault codes after which a fresh shell helps, as the Ruby `winrm` gem does
/// (`WinRM::Shells::Base::FAULTS_FOR_RESET`): the shell is gone (idle timeout, service restart),
/// an error reading a registry key, and too many commands in one shell.
const FAULTS_FOR_RESET: [u32; 3] = [2_150_858_843, 2_147_943_418, 2_150_859_174];

/// Hosts may allow huge envelopes; beyond a few MiB they only cost memory on both sides.
const MAX_ENVELOPE_SIZE_USED: usize = 4 * 1024 * 1024;

/// The most output (stdout and stderr together) one command may send: rwin's scripts print
/// kilobytes; a host that sends more is broken or hostile, and would otherwise be collected
/// into memory without end. The SSH transport uses the same figure.
pub const MAX_COMMAND_OUTPUT: usize = 64 * 1024 * 1024;

const MESSAGE_ID_SIZED: &str = "00000000-0000-0000-0000-000000000000";

/// How the shell is opened and commands are sent.
#[derive(Debug, Clone)]
pub struct ShellOptions {
    pub spec: ShellSpec,
    /// The envelope size never exceeded; 150 KiB is safe on every Windows version.
    pub max_envelope_size: usize,
    /// Before creating the shell, read the host's MaxEnvelopeSizekb and use it (one more
    /// round trip; needs an administrator, otherwise the default stays).
    pub read_max_envelope_size: bool,
    /// How long the host may hold a Receive waiting for output before it answers TimedOut.
    pub operation_timeout: Duration,
    /// Start commands directly instead of through `cmd.exe /c` (no 8191-character limit).
    pub skip_cmd_shell: bool,
    /// Send stdin in pieces of at most this many bytes even when an envelope could hold more.
    pub stdin_chunk_limit: Option<usize>,
    /// How a Receive that failed for a retryable reason (the connection lost, the host
    /// unreachable for a moment) is sent again: rwin's one retry policy, with its own numbers.
    /// The shell and the command live on on the host meanwhile.
    pub receive_retry: RetryPolicy,
    /// The most stdout and stderr bytes one command may send ([`MAX_COMMAND_OUTPUT`]).
    pub max_output: usize,
}

/// 0.5 + 1 + 2 + 4 + 8 s between six tries: a vSwitch created on the NIC that carries WinRM
/// drops connections for a few seconds (flannel polls up to 30 s for the switch-over).
pub const RECEIVE_RETRY: RetryPolicy = RetryPolicy {
    attempts: 6,
    first_pause: Duration::from_millis(500),
    budget: Duration::from_secs(30),
};

impl Default for ShellOptions {
    fn default() -> Self {
        ShellOptions {
            spec: ShellSpec {
                codepage: Some(65001),
                ..ShellSpec::default()
            },
            max_envelope_size: DEFAULT_MAX_ENVELOPE_SIZE,
            read_max_envelope_size: false,
            operation_timeout: Duration::from_secs(20),
            skip_cmd_shell: false,
            stdin_chunk_limit: None,
            receive_retry: RECEIVE_RETRY,
            max_output: MAX_COMMAND_OUTPUT,
        }
    }
}

/// An open WinRS shell on one host. Call [`WinrsShell::close`] when done: a shell that is only
/// dropped stays on the host until its IdleTimeout (two hours by default).
pub struct WinrsShell {
    poster: Arc<dyn Poster>,
    ids: Arc<dyn IdSource>,
    requests: Requests,
    opts: ShellOptions,
    /// `None` once closed.
    shell_id: Mutex<Option<String>>,
    round_trips: AtomicU64,
}

impl WinrsShell {
    /// Create the shell (one round trip, two with `read_max_envelope_size`).
    pub async fn open(
        poster: Arc<dyn Poster>,
        ids: Arc<dyn IdSource>,
        opts: ShellOptions,
    ) -> Result<WinrsShell, WinrmError> {
        let mut requests = Requests::new(poster.endpoint());
        requests.max_envelope_size = opts.max_envelope_size;
        requests.operation_timeout = opts.operation_timeout;
        let mut shell = WinrsShell {
            poster,
            ids,
            requests,
            opts,
            shell_id: Mutex::new(None),
            round_trips: AtomicU64::new(0),
        };
        if shell.opts.read_max_envelope_size {
            let envelope = shell.requests.get_config(&shell.ids.next_id());
            match shell.call("Get config", envelope).await {
                Ok(body) => {
                    let host = response::max_envelope_size(&body)?;
                    shell.requests.max_envelope_size = host.min(MAX_ENVELOPE_SIZE_USED);
                }
                // Not an administrator, or the config is not readable: keep the safe default.
                Err(WinrmError::Fault { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let id = shell.create().await?;
        *shell.shell_id.get_mut() = Some(id);
        Ok(shell)
    }

    /// The envelope size this shell keeps under, in bytes.
    pub fn max_envelope_size(&self) -> usize {
        self.requests.max_envelope_size
    }

    /// The host's id for this shell, while it is open.
    pub async fn shell_id(&self) -> Option<String> {
        self.shell_id.lock().await.clone()
    }

    /// Requests posted so far (each is one HTTP round trip).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// Run `command args…` with `stdin` and collect its output and exit code.
    ///
    /// Round trips: Command, one Send per stdin chunk, one Receive per output batch or
    /// OperationTimeout, and Signal terminate: 3 for a quick command without stdin.
    pub async fn run(
        &self,
        command: &str,
        args: &[String],
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, WinrmError> {
        if !is_xml_safe(command) || !args.iter().all(|a| is_xml_safe(a)) {
            return Err(WinrmError::NotXmlText {
                what: "the command line",
            });
        }
        let mut shell_id = self.current_shell().await?;
        let mut reset = false;
        let command_id = loop {
            let envelope = self.requests.command(
                &self.ids.next_id(),
                &shell_id,
                command,
                args,
                self.opts.skip_cmd_shell,
            );
            self.check_size("the command line", &envelope, ": send the script on stdin")?;
            match self.call("Command", envelope).await {
                Ok(body) => break response::command_id(&body)?,
                Err(WinrmError::Fault { fault, .. })
                    if !reset
                        && fault
                            .wsman_code
                            .is_some_and(|c| FAULTS_FOR_RESET.contains(&c)) =>
                {
                    reset = true;
                    shell_id = self.reopen(&shell_id).await?;
                }
                Err(e) => return Err(e),
            }
        };
        if let Some(data) = stdin {
            self.send_stdin(&shell_id, &command_id, data).await?;
        }
        let mut out = ReceiveOutput::default();
        // Only Receive is asked again: Command and Send are not idempotent, a Receive with the
        // same ShellId and CommandId is.
        let code = loop {
            let receive = || async {
                let envelope = self
                    .requests
                    .receive(&self.ids.next_id(), &shell_id, &command_id);
                match self.call("Receive", envelope).await {
                    Ok(body) => response::receive_output(&body, &command_id).map(Some),
                    Err(WinrmError::Fault { fault, .. }) if fault.is_operation_timeout() => {
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            };
            let Some(chunk) = self.opts.receive_retry.run(receive, |_, _, _| {}).await? else {
                continue;
            };
            let total = out.stdout.len() + out.stderr.len();
            if total + chunk.stdout.len() + chunk.stderr.len() > self.opts.max_output {
                // Stop the command on the host; its output is not wanted any more.
                let envelope = self.requests.signal(
                    &self.ids.next_id(),
                    &shell_id,
                    &command_id,
                    Signal::Terminate,
                );
                let _ = self.call("Signal", envelope).await;
                return Err(WinrmError::OutputTooLarge {
                    limit: self.opts.max_output,
                });
            }
            out.stdout.extend_from_slice(&chunk.stdout);
            out.stderr.extend_from_slice(&chunk.stderr);
            if chunk.done {
                break chunk.exit_code.unwrap_or_default();
            }
        };
        let envelope = self.requests.signal(
            &self.ids.next_id(),
            &shell_id,
            &command_id,
            Signal::Terminate,
        );
        match self.call("Signal", envelope).await {
            // The command has exited and its output is in hand; a host that no longer knows
            // it has already released it.
            Ok(_) | Err(WinrmError::Fault { .. }) => {}
            // Lost on the way: deleting the shell at the end releases the command too.
            Err(e) if e.is_retryable() => {}
            Err(e) => return Err(e),
        }
        Ok(ExecOutput {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code,
        })
    }

    /// Delete the shell on the host (one round trip). Later `run`s fail with `ShellClosed`.
    pub async fn close(&self) -> Result<(), WinrmError> {
        let Some(id) = self.shell_id.lock().await.take() else {
            return Ok(());
        };
        let envelope = self.requests.delete(&self.ids.next_id(), &id);
        self.call("Delete", envelope).await.map(|_| ())
    }

    async fn create(&self) -> Result<String, WinrmError> {
        let envelope = self
            .requests
            .create_shell(&self.ids.next_id(), &self.opts.spec);
        let body = self.call("Create", envelope).await?;
        response::shell_id(&body)
    }

    async fn current_shell(&self) -> Result<String, WinrmError> {
        self.shell_id
            .lock()
            .await
            .clone()
            .ok_or(WinrmError::ShellClosed)
    }

    /// Replace the shell `failed` with a new one, unless another command already did.
    async fn reopen(&self, failed: &str) -> Result<String, WinrmError> {
        let mut slot = self.shell_id.lock().await;
        match slot.as_deref() {
            None => Err(WinrmError::ShellClosed),
            Some(current) if current != failed => Ok(current.to_string()),
            Some(_) => {
                let id = self.create().await?;
                *slot = Some(id.clone());
                Ok(id)
            }
        }
    }

    async fn send_stdin(
        &self,
        shell_id: &str,
        command_id: &str,
        data: &[u8],
    ) -> Result<(), WinrmError> {
        let chunk_size = self.stdin_chunk_size(shell_id, command_id)?;
        // An empty stdin still needs its End, or a command reading stdin waits forever.
        let mut chunks: Vec<&[u8]> = data.chunks(chunk_size).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let envelope =
                self.requests
                    .send(&self.ids.next_id(), shell_id, command_id, chunk, i == last);
            self.check_size("a stdin chunk", &envelope, "")?;
            self.call("Send", envelope).await?;
        }
        Ok(())
    }

    /// The most stdin bytes one Send can carry: what is left of MaxEnvelopeSize after the
    /// envelope itself, in base64's 4-for-3.
    fn stdin_chunk_size(&self, shell_id: &str, command_id: &str) -> Result<usize, WinrmError> {
        // A stand-in MessageID as long as a real one, plus slack for ids of other lengths.
        let overhead = self
            .requests
            .send(MESSAGE_ID_SIZED, shell_id, command_id, &[], true)
            .len()
            + 64;
        let room = self.requests.max_envelope_size.saturating_sub(overhead);
        let mut size = room / 4 * 3;
        if let Some(limit) = self.opts.stdin_chunk_limit {
            size = size.min(limit);
        }
        if size == 0 {
            return Err(WinrmError::EnvelopeTooLarge {
                what: "an empty stdin chunk",
                size: overhead,
                max: self.requests.max_envelope_size,
                hint: "",
            });
        }
        Ok(size)
    }

    fn check_size(
        &self,
        what: &'static str,
        envelope: &str,
        hint: &'static str,
    ) -> Result<(), WinrmError> {
        let max = self.requests.max_envelope_size;
        if envelope.len() > max {
            return Err(WinrmError::EnvelopeTooLarge {
                what,
                size: envelope.len(),
                max,
                hint,
            });
        }
        Ok(())
    }

    /// Post one request, count it, and read the answer's body (a fault becomes an error).
    async fn call(&self, action: &'static str, envelope: String) -> Result<Element, WinrmError> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let answer = self.poster.post(envelope).await?;
        response::body(action, &answer)
    }
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
