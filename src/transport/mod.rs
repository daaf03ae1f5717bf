//! How rwin reaches a host: one small trait (run a command, open a byte stream to a socket or
//! port on the host) and its implementations. Optional abilities default to `Unsupported`.
//! Errors are named and carry the node, so every message says which host and what to do.

mod error;
mod host_key;
pub mod known_hosts;
pub mod ssh;
pub mod winrm;

use std::pin::Pin;

use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite};

pub use error::TransportError;

/// What a finished remote command left behind.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    pub code: u32,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// `run`, abandoned after `limit` as a command that took too long on `node`: the one time limit
/// every transport's `exec_within` applies.
pub(crate) async fn within<T>(
    node: &str,
    limit: std::time::Duration,
    run: impl std::future::Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    tokio::time::timeout(limit, run)
        .await
        .map_err(|_| TransportError::CommandTimeout {
            node: node.to_string(),
            secs: limit.as_secs(),
        })?
}

/// A byte stream to something on the host (the Docker socket, a health-check port).
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}
pub type BoxStream = Pin<Box<dyn Stream>>;

/// One host's connection. Implementations keep one connection open and multiplex on it.
pub trait Transport: Send + Sync {
    /// The node name this connection belongs to (for messages).
    fn node(&self) -> &str;

    /// Run `command` with `stdin` fed to it; resolves when it exits.
    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> BoxFuture<'a, Result<ExecOutput, TransportError>>;

    /// `exec` with its own time limit instead of the connection's `--command-timeout`: image
    /// pulls on Windows take `--pull-timeout`. Transports with a limit of their own replace
    /// this; the default holds `exec` (and so its own limit) to `limit` as well.
    fn exec_within<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
        limit: std::time::Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, TransportError>> {
        Box::pin(within(self.node(), limit, self.exec(command, stdin)))
    }

    /// Whether this connection carries byte streams (`open_unix`, `open_command`): the Docker
    /// API can go over it. WinRM has none; its hosts run the docker CLI in scripts.
    fn has_streams(&self) -> bool {
        false
    }

    /// A stream to a Unix socket on the host.
    fn open_unix<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        let _ = path;
        Box::pin(async move {
            Err(TransportError::Unsupported {
                node: self.node().to_string(),
                what: "Unix socket streams",
            })
        })
    }

    /// A stream to the standard input and output of `command` run on the host (Docker's
    /// `docker system dial-stdio`, which is how the Docker CLI's ssh:// reaches a Windows engine).
    fn open_command<'a>(
        &'a self,
        command: &'a str,
    ) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        let _ = command;
        Box::pin(async move {
            Err(TransportError::Unsupported {
                node: self.node().to_string(),
                what: "command streams",
            })
        })
    }

    /// A TCP stream opened *from the host* to `host:port` (health checks run where the service is).
    fn open_tcp<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        let _ = (host, port);
        Box::pin(async move {
            Err(TransportError::Unsupported {
                node: self.node().to_string(),
                what: "TCP streams",
            })
        })
    }

    /// How many remote round trips this connection has made (commands + streams opened).
    fn round_trips(&self) -> u64 {
        0
    }

    /// Network requests below the commands, where they differ (WinRM's HTTP requests).
    fn wire_requests(&self) -> Option<u64> {
        None
    }

    /// Release what the connection holds on the host (WinRM's shell). Dropping is enough for SSH.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
