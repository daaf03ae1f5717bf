//! The Docker API client against an engine that misbehaves: its answers are read through a
//! cap, so a host cannot make rwin hold an answer of any size in memory.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{connect, describe, Endpoint};
use crate::transport::{BoxStream, ExecOutput, Transport, TransportError};

/// A host whose Docker socket is served by `answer`: each stream opened gets one HTTP answer
/// with a body of `body_len` bytes of valid JSON (an object padded with one long string).
struct FakeEngine {
    body_len: usize,
}

impl Transport for FakeEngine {
    fn node(&self) -> &str {
        "lin1"
    }

    fn exec<'a>(
        &'a self,
        _: &'a str,
        _: Option<&'a [u8]>,
    ) -> BoxFuture<'a, Result<ExecOutput, TransportError>> {
        Box::pin(async { panic!("the Docker API needs no commands") })
    }

    fn has_streams(&self) -> bool {
        true
    }

    fn open_unix<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        let body_len = self.body_len;
        Box::pin(async move {
            let (client, mut server) = tokio::io::duplex(64 * 1024);
            tokio::spawn(async move {
                // Read the request head, then answer.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match server.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let prefix = br#"{"Version":"27.0.0","ApiVersion":"1.47","Padding":""#;
                let suffix = br#""}"#;
                let pad = body_len.saturating_sub(prefix.len() + suffix.len());
                let header = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    prefix.len() + pad + suffix.len()
                );
                if server.write_all(header.as_bytes()).await.is_err()
                    || server.write_all(prefix).await.is_err()
                {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = pad;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if server.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
                let _ = server.write_all(suffix).await;
            });
            Ok(Box::pin(client) as BoxStream)
        })
    }
}

#[tokio::test]
async fn an_ordinary_answer_is_read() {
    let docker = connect(
        Arc::new(FakeEngine { body_len: 4096 }),
        Endpoint::Socket("/var/run/docker.sock".into()),
    )
    .unwrap();
    let v = docker.version().await.unwrap();
    assert_eq!(v.version.as_deref(), Some("27.0.0"));
}

#[tokio::test]
async fn an_answer_larger_than_the_cap_is_refused_and_says_so() {
    let docker = connect(
        Arc::new(FakeEngine { body_len: 65 << 20 }),
        Endpoint::Socket("/var/run/docker.sock".into()),
    )
    .unwrap();
    let err = docker
        .version()
        .await
        .expect_err("a 65 MiB answer to /version must not be accepted");
    let msg = describe(&err);
    assert!(
        msg.contains("64 MiB") && msg.contains("Docker"),
        "the message names the cap and the engine: {msg}"
    );
}
