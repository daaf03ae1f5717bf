//! The WinRM [`Transport`]: one WinRS shell per host, opened at connect and reused for every
//! command, closed when the run ends. WinRM has no byte streams, so `open_unix`/`open_tcp` stay
//! unsupported and the phases drive such hosts with scripts only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{
    clixml_to_text, HttpOptions, HttpPoster, RandomIds, ShellOptions, WinrmError, WinrsShell,
};
use crate::transport::{ExecOutput, Transport, TransportError};

/// Where and how to reach one Windows host over WinRM.
pub struct WinrmTarget {
    pub node: String,
    pub http: HttpOptions,
    pub command_timeout: Duration,
    /// Environment variables of the host's shell (the registry passwords scripts read from
    /// `$env:`, see `docker::cli::registry_environment`).
    pub env: Vec<(String, crate::secret::Secret)>,
}

pub struct WinrmTransport {
    node: String,
    shell: WinrsShell,
    commands: AtomicU64,
    command_timeout: Duration,
}

impl WinrmTransport {
    /// Authenticate and create the shell: one round trip (two with NTLM's handshake).
    pub async fn connect(target: WinrmTarget) -> Result<Arc<WinrmTransport>, TransportError> {
        let node = target.node.clone();
        let err = |e: WinrmError| TransportError::Winrm {
            node: node.clone(),
            source: Box::new(e),
        };
        let operation_timeout = target.http.operation_timeout;
        let poster = HttpPoster::new(target.http).map_err(err)?;
        let opts = ShellOptions {
            operation_timeout,
            // Commands start directly, not through cmd.exe: no 8191-character limit and no
            // second layer of quoting.
            skip_cmd_shell: true,
            ..ShellOptions::default()
        };
        let opts = ShellOptions {
            spec: super::ShellSpec {
                env: target.env,
                ..opts.spec
            },
            ..opts
        };
        let shell = WinrsShell::open(Arc::new(poster), Arc::new(RandomIds::default()), opts)
            .await
            .map_err(err)?;
        Ok(Arc::new(WinrmTransport {
            node: target.node,
            shell,
            commands: AtomicU64::new(0),
            command_timeout: target.command_timeout,
        }))
    }

    /// HTTP requests made so far (Create, Command, Send, Receive, Signal, Delete).
    pub fn http_requests(&self) -> u64 {
        self.shell.round_trips()
    }

    /// Delete the shell on the host; a shell only dropped lingers there until its IdleTimeout.
    pub async fn close(&self) {
        let _ = self.shell.close().await;
    }
}

impl Transport for WinrmTransport {
    fn node(&self) -> &str {
        &self.node
    }

    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> BoxFuture<'a, Result<ExecOutput, TransportError>> {
        self.exec_within(command, stdin, self.command_timeout)
    }

    fn exec_within<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
        limit: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, TransportError>> {
        Box::pin(async move {
            self.commands.fetch_add(1, Ordering::Relaxed);
            let mut words = command.split_whitespace().map(str::to_string);
            let program = words.next().unwrap_or_default();
            let args: Vec<String> = words.collect();
            let run = async {
                self.shell
                    .run(&program, &args, stdin)
                    .await
                    .map_err(|e| TransportError::Winrm {
                        node: self.node.clone(),
                        source: Box::new(e),
                    })
            };
            let out = crate::transport::within(&self.node, limit, run).await?;
            Ok(ExecOutput {
                stderr: clixml_to_text(&out.stderr),
                ..out
            })
        })
    }

    fn round_trips(&self) -> u64 {
        self.commands.load(Ordering::Relaxed)
    }

    fn wire_requests(&self) -> Option<u64> {
        Some(self.http_requests())
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(WinrmTransport::close(self))
    }
}
