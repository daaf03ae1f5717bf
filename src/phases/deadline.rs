//! One connection, two time limits. Image pulls run as commands of their own for as long as
//! `--pull-timeout` allows (Windows base images are several GB: issue 12), every other command
//! for `--command-timeout`. The transport is opened with the longer limit, and the phases get
//! it through [`CommandDeadline`], which holds each command to the shorter one; the pull goes
//! to the transport itself (`Engine::Cli`'s `pulls`).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::transport::{BoxStream, ExecOutput, Transport, TransportError};

/// `inner`, with every command abandoned after `limit` as the transport itself would.
pub struct CommandDeadline {
    pub inner: Arc<dyn Transport>,
    pub limit: Duration,
}

impl Transport for CommandDeadline {
    fn node(&self) -> &str {
        self.inner.node()
    }

    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> BoxFuture<'a, Result<ExecOutput, TransportError>> {
        Box::pin(async move {
            match tokio::time::timeout(self.limit, self.inner.exec(command, stdin)).await {
                Ok(out) => out,
                Err(_) => Err(TransportError::CommandTimeout {
                    node: self.inner.node().to_string(),
                    secs: self.limit.as_secs(),
                }),
            }
        })
    }

    fn has_streams(&self) -> bool {
        self.inner.has_streams()
    }

    fn open_unix<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        self.inner.open_unix(path)
    }

    fn open_command<'a>(
        &'a self,
        command: &'a str,
    ) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        self.inner.open_command(command)
    }

    fn open_tcp<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        self.inner.open_tcp(host, port)
    }

    fn round_trips(&self) -> u64 {
        self.inner.round_trips()
    }

    fn wire_requests(&self) -> Option<u64> {
        self.inner.wire_requests()
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        self.inner.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every command after `delay`.
    struct Slow {
        delay: Duration,
    }

    impl Transport for Slow {
        fn node(&self) -> &str {
            "win1"
        }

        fn exec<'a>(
            &'a self,
            _command: &'a str,
            _stdin: Option<&'a [u8]>,
        ) -> BoxFuture<'a, Result<ExecOutput, TransportError>> {
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                Ok(ExecOutput {
                    stdout: "ok".into(),
                    stderr: String::new(),
                    code: 0,
                })
            })
        }
    }

    #[tokio::test]
    async fn a_command_past_the_limit_times_out_as_the_transport_would_say() {
        let slow: Arc<dyn Transport> = Arc::new(Slow {
            delay: Duration::from_millis(300),
        });
        let bounded = CommandDeadline {
            inner: slow.clone(),
            limit: Duration::from_millis(50),
        };
        let err = bounded.exec("powershell.exe", None).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "win1: command timed out after 0s (raise --command-timeout if the host is just slow)"
        );
        // The connection itself waits as long as the command takes (a pull).
        assert_eq!(
            slow.exec("powershell.exe", None).await.unwrap().stdout,
            "ok"
        );
    }
}
