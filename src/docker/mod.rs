//! Containers through the Docker API (bollard), carried over the host's existing connection:
//! each API request opens a channel to the Docker socket on the host's one SSH connection.
//! `spec` turns a component into a container config (pure); `ensure` makes a host match it.

pub mod ensure;
pub mod health;
pub mod spec;

use std::sync::Arc;

use bollard::{BollardRequest, Docker};
use hyper_util::rt::TokioIo;

use crate::transport::Transport;

/// Label keys rwin puts on everything it creates, so it can find (and remove) exactly that.
pub const LABEL_CLUSTER: &str = "io.rwin.cluster";
pub const LABEL_COMPONENT: &str = "io.rwin.component";
pub const LABEL_NODE: &str = "io.rwin.node";
pub const LABEL_HASH: &str = "io.rwin.hash";

/// A Docker client whose every request travels over `transport` to `socket` on the host.
pub fn connect(
    transport: Arc<dyn Transport>,
    socket: &str,
) -> Result<Docker, bollard::errors::Error> {
    let socket = socket.to_string();
    let dial = move |req: BollardRequest| {
        let transport = transport.clone();
        let socket = socket.clone();
        Box::pin(async move {
            let stream = transport.open_unix(&socket).await.map_err(|e| {
                bollard::errors::Error::IOError {
                    err: std::io::Error::other(e.to_string()),
                }
            })?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.with_upgrades().await;
            });
            let (mut parts, body) = req.into_parts();
            // Origin-form request target and a Host header, as a plain HTTP/1.1 client sends.
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            parts.uri = path.parse().map_err(|e: hyper::http::uri::InvalidUri| {
                bollard::errors::Error::IOError {
                    err: std::io::Error::other(e.to_string()),
                }
            })?;
            parts.headers.insert(
                hyper::header::HOST,
                hyper::header::HeaderValue::from_static("docker"),
            );
            Ok(sender
                .send_request(BollardRequest::from_parts(parts, body))
                .await?)
        })
    };
    Docker::connect_with_custom_transport(
        dial,
        Some("http://docker"),
        300,
        bollard::API_DEFAULT_VERSION,
    )
}

/// Docker's error, in words an operator can act on.
pub fn describe(err: &bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => format!("Docker said ({status_code}): {message}"),
        // The transport's message already names the socket; say the likely cause once.
        bollard::errors::Error::IOError { err } if err.to_string().contains("ConnectFailed") => {
            "Docker is not running on the host: nothing listens on its socket (start dockerd, or fix docker_socket)".to_string()
        }
        bollard::errors::Error::IOError { err } if err.to_string().contains("socket") => {
            format!("{err} — is dockerd running, is docker_socket right, and may this user open it (docker group)?")
        }
        other if other.to_string().contains("connection closed") => {
            format!("{other} — the connection to the host was lost (sshd stopped, host down, or the network dropped); run rwin up again once it is reachable")
        }
        other => other.to_string(),
    }
}
