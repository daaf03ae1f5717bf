//! Containers through the Docker API (bollard), carried over the host's existing connection:
//! each API request opens a channel to the Docker socket on the host's one SSH connection.
//! `spec` turns a component into a container config (pure); `ensure` makes a host match it.

mod capped;
pub mod cli;
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

/// Where the Docker API is on the host.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// A Unix socket (Linux: /var/run/docker.sock, or the node's docker_socket).
    Socket(String),
    /// `docker system dial-stdio` run on the host: the API over the command's stdin/stdout,
    /// as the Docker CLI's ssh:// does. Reaches a Windows engine's named pipe over OpenSSH.
    DialStdio,
}

/// The command that bridges to the engine for [`Endpoint::DialStdio`].
pub const DIAL_STDIO: &str = "docker system dial-stdio";

/// A Docker client whose every request travels over `transport` to `endpoint` on the host.
pub fn connect(
    transport: Arc<dyn Transport>,
    endpoint: Endpoint,
) -> Result<Docker, bollard::errors::Error> {
    let dial = move |req: BollardRequest| {
        let transport = transport.clone();
        let endpoint = endpoint.clone();
        Box::pin(async move {
            let stream = match &endpoint {
                Endpoint::Socket(path) => transport.open_unix(path).await,
                Endpoint::DialStdio => transport.open_command(DIAL_STDIO).await,
            }
            .map_err(|e| bollard::errors::Error::IOError {
                err: std::io::Error::other(e.to_string()),
            })?;
            // One request per stream, so the cap bounds this one answer.
            let stream = capped::Capped::new(stream, capped::ANSWER_CAP);
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
    if let Some(cap) = capped::too_large(err) {
        return format!(
            "{cap}; rwin stopped reading it. A real engine's answers are far smaller: check what answers on the host's Docker socket"
        );
    }
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

/// How rwin works a host's container engine, chosen by what the host's connection can do.
#[derive(Clone)]
pub enum Engine {
    /// The Docker API over the connection's byte streams (SSH, to Linux or Windows).
    Api(Docker),
    /// The docker CLI inside rwin's scripts, run with this command line (WinRM has no byte
    /// streams).
    Cli { command: String },
}

impl Engine {
    /// The engine for a connection: the API where `transport` carries streams (reaching the
    /// engine at `endpoint`), else the CLI in scripts run with `script_command`.
    pub fn for_transport(
        transport: Arc<dyn Transport>,
        endpoint: Endpoint,
        script_command: String,
    ) -> Result<Engine, bollard::errors::Error> {
        if transport.has_streams() {
            connect(transport, endpoint).map(Engine::Api)
        } else {
            Ok(Engine::Cli {
                command: script_command,
            })
        }
    }

    /// The Docker API client, where the engine is worked through the API.
    pub fn api(&self) -> Option<&Docker> {
        match self {
            Engine::Api(d) => Some(d),
            Engine::Cli { .. } => None,
        }
    }

    /// Whether the engine is worked through the docker CLI in scripts.
    pub fn is_cli(&self) -> bool {
        matches!(self, Engine::Cli { .. })
    }
}

#[cfg(test)]
mod tests;
