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
use crate::transport::Transport;

/// Poll `check` until it passes or `timeout` runs out; the error says what the last try saw.
pub async fn wait_healthy(
    transport: &dyn Transport,
    docker: &Docker,
    container: &str,
    check: &HealthCheck,
    timeout: Duration,
    interval: Duration,
) -> Result<Duration, String> {
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
            Err(_) => "check timed out".to_string(),
        };
        if start.elapsed() >= timeout {
            return Err(format!("not healthy after {}s: {last}", timeout.as_secs()));
        }
        tokio::time::sleep(interval).await;
    }
}

async fn probe(
    transport: &dyn Transport,
    docker: &Docker,
    container: &str,
    check: &HealthCheck,
) -> Result<(), String> {
    match check {
        HealthCheck::Tcp(target) => {
            let (host, port) = split_host_port(target)?;
            transport
                .open_tcp(&host, port)
                .await
                .map(|_| ())
                .map_err(|e| format!("tcp {target}: {e}"))
        }
        HealthCheck::Http(url) => {
            let rest = url
                .strip_prefix("http://")
                .ok_or_else(|| format!("{url}: only http:// is supported"))?;
            let (authority, path) = rest
                .split_once('/')
                .map(|(a, p)| (a, format!("/{p}")))
                .unwrap_or((rest, "/".into()));
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse().map_err(|_| format!("{url}: bad port"))?,
                ),
                None => (authority.to_string(), 80),
            };
            let stream = transport
                .open_tcp(&host, port)
                .await
                .map_err(|e| format!("http {url}: {e}"))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| format!("http {url}: {e}"))?;
            tokio::spawn(conn);
            let req = hyper::Request::get(path)
                .header(hyper::header::HOST, authority)
                .body(Empty::<Bytes>::new())
                .map_err(|e| e.to_string())?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| format!("http {url}: {e}"))?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(format!("http {url} answered {}", resp.status()))
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
                .map_err(|e| format!("exec: {}", super::describe(&e)))?;
            if let StartExecResults::Attached { mut output, .. } = docker
                .start_exec(&exec.id, None)
                .await
                .map_err(|e| format!("exec: {}", super::describe(&e)))?
            {
                use futures_util::StreamExt;
                while output.next().await.is_some() {}
            }
            let info = docker
                .inspect_exec(&exec.id)
                .await
                .map_err(|e| format!("exec: {}", super::describe(&e)))?;
            match info.exit_code {
                Some(0) => Ok(()),
                code => Err(format!("exec {cmd:?} exited with {code:?}")),
            }
        }
    }
}

fn split_host_port(s: &str) -> Result<(String, u16), String> {
    let (h, p) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("`{s}` is not host:port"))?;
    Ok((
        h.to_string(),
        p.parse().map_err(|_| format!("`{s}` has a bad port"))?,
    ))
}
