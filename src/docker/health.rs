//! Health gates, run from the node itself: http and tcp checks travel through a direct-tcpip
//! channel of the node's SSH connection (so `internal_address` need not be reachable from the
//! operator's machine), exec checks through `docker exec`.

use std::time::{Duration, Instant};

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::config::HealthCheck;
use crate::transport::{Transport, TransportError};

/// A health check that did not pass in time.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// `last` is what the last try saw.
    #[error("not healthy after {secs}s: {last}")]
    NotHealthy {
        secs: u64,
        #[source]
        last: ProbeError,
    },
}

/// Why one try of a health check failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("check timed out")]
    TimedOut,

    #[error("`{target}` is not host:port")]
    NotHostPort { target: String },

    #[error("`{target}` has a bad port")]
    BadPort { target: String },

    #[error("tcp {target}: {source}")]
    Tcp {
        target: String,
        #[source]
        source: Box<TransportError>,
    },

    #[error("{url}: only http:// is supported")]
    NotHttp { url: String },

    #[error("{url}: bad port")]
    BadUrlPort { url: String },

    /// No TCP stream from the host to the URL's address.
    #[error("http {url}: {source}")]
    HttpConnect {
        url: String,
        #[source]
        source: Box<TransportError>,
    },

    #[error("http {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: hyper::Error,
    },

    /// The GET request could not be built (a path or host that is not valid in HTTP).
    #[error(transparent)]
    Request(#[from] hyper::http::Error),

    #[error("http {url} answered {status}")]
    HttpStatus {
        url: String,
        status: hyper::StatusCode,
    },

    #[error("exec: {}", super::describe(.0))]
    Exec(#[source] Box<bollard::errors::Error>),

    #[error("exec {cmd:?} exited with {code:?}")]
    ExecExit { cmd: Vec<String>, code: Option<i64> },
}

/// Poll `check` until it passes or `timeout` runs out; the error says what the last try saw.
pub async fn wait_healthy(
    transport: &dyn Transport,
    docker: &Docker,
    container: &str,
    check: &HealthCheck,
    timeout: Duration,
    interval: Duration,
) -> Result<Duration, HealthError> {
    let start = Instant::now();
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_secs(10).min(timeout),
            probe(transport, docker, container, check),
        )
        .await;
        let last = match attempt {
            Ok(Ok(())) => return Ok(start.elapsed()),
            Ok(Err(e)) => e,
            Err(_) => ProbeError::TimedOut,
        };
        if start.elapsed() >= timeout {
            return Err(HealthError::NotHealthy {
                secs: timeout.as_secs(),
                last,
            });
        }
        tokio::time::sleep(interval).await;
    }
}

async fn probe(
    transport: &dyn Transport,
    docker: &Docker,
    container: &str,
    check: &HealthCheck,
) -> Result<(), ProbeError> {
    match check {
        HealthCheck::Tcp(target) => {
            let (host, port) = split_host_port(target)?;
            transport
                .open_tcp(&host, port)
                .await
                .map(|_| ())
                .map_err(|source| ProbeError::Tcp {
                    target: target.clone(),
                    source: Box::new(source),
                })
        }
        HealthCheck::Http(url) => {
            let rest = url
                .strip_prefix("http://")
                .ok_or_else(|| ProbeError::NotHttp { url: url.clone() })?;
            let (authority, path) = rest
                .split_once('/')
                .map(|(a, p)| (a, format!("/{p}")))
                .unwrap_or((rest, "/".into()));
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse()
                        .map_err(|_| ProbeError::BadUrlPort { url: url.clone() })?,
                ),
                None => (authority.to_string(), 80),
            };
            let stream = transport.open_tcp(&host, port).await.map_err(|source| {
                ProbeError::HttpConnect {
                    url: url.clone(),
                    source: Box::new(source),
                }
            })?;
            let http = |source| ProbeError::Http {
                url: url.clone(),
                source,
            };
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(http)?;
            tokio::spawn(conn);
            let req = hyper::Request::get(path)
                .header(hyper::header::HOST, authority)
                .body(Empty::<Bytes>::new())?;
            let resp = sender.send_request(req).await.map_err(http)?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(ProbeError::HttpStatus {
                    url: url.clone(),
                    status: resp.status(),
                })
            }
        }
        HealthCheck::Exec(cmd) => {
            let exec = docker
                .create_exec(
                    container,
                    CreateExecOptions {
                        cmd: Some(cmd.clone()),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| ProbeError::Exec(Box::new(e)))?;
            if let StartExecResults::Attached { mut output, .. } = docker
                .start_exec(&exec.id, None)
                .await
                .map_err(|e| ProbeError::Exec(Box::new(e)))?
            {
                use futures_util::StreamExt;
                while output.next().await.is_some() {}
            }
            let info = docker
                .inspect_exec(&exec.id)
                .await
                .map_err(|e| ProbeError::Exec(Box::new(e)))?;
            match info.exit_code {
                Some(0) => Ok(()),
                code => Err(ProbeError::ExecExit {
                    cmd: cmd.clone(),
                    code,
                }),
            }
        }
    }
}

fn split_host_port(s: &str) -> Result<(String, u16), ProbeError> {
    let target = || s.to_string();
    let (h, p) = s
        .rsplit_once(':')
        .ok_or_else(|| ProbeError::NotHostPort { target: target() })?;
    Ok((
        h.to_string(),
        p.parse()
            .map_err(|_| ProbeError::BadPort { target: target() })?,
    ))
}
