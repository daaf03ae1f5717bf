//! Connect: open the host's one connection and check its container engine answers.

use std::sync::Arc;

use super::{Host, RunContext};
use crate::config::{Connection, Node, WinrmAuth};
use crate::plan::PlannedNode;
use crate::secret::Secret;
use crate::transport::ssh::{SshTarget, SshTransport};
use crate::transport::winrm::{Auth, HttpOptions, WinrmTarget, WinrmTransport};
use crate::transport::Transport;

pub async fn run(ctx: &RunContext, h: &mut Host) {
    ctx.ui.host_step(&h.node.name, "connecting");
    match open(ctx, &h.node).await {
        Ok((transport, docker)) => {
            ctx.ui.host_step(&h.node.name, "connected");
            h.transport = Some(transport);
            h.docker = docker;
        }
        Err(e) => h.fail(&ctx.ui, e),
    }
}

/// A new connection to `planned`, and its Docker client where the transport has streams.
pub async fn open(
    ctx: &RunContext,
    planned: &PlannedNode,
) -> Result<(Arc<dyn Transport>, Option<bollard::Docker>), String> {
    let node = &planned.node;
    let transport: Arc<dyn Transport> = match node.connection {
        Connection::Ssh => SshTransport::connect(ssh_target(ctx, node))
            .await
            .map_err(|e| e.to_string())?,
        Connection::Winrm => WinrmTransport::connect(winrm_target(ctx, node)?)
            .await
            .map_err(|e| e.to_string())?,
    };
    // WinRM has no streams: such hosts run Docker through the docker CLI in their scripts.
    let no_engine = ctx.config.network.container_engine == crate::config::ContainerEngine::None;
    let endpoint = match node.connection {
        Connection::Winrm => None,
        _ if no_engine => None,
        Connection::Ssh => Some(planned.host_os.docker_endpoint(&node.docker_socket)),
    };
    let docker = match endpoint {
        Some(endpoint) => Some(
            crate::docker::connect(transport.clone(), endpoint)
                .map_err(|e| format!("{}: Docker client: {e}", node.name))?,
        ),
        None => None,
    };
    Ok((transport, docker))
}

fn ssh_target(ctx: &RunContext, node: &Node) -> SshTarget {
    let settings = &ctx.settings;
    let bastion = ctx.config.bastion.as_ref().map(|b| {
        Box::new(SshTarget {
            node: format!("bastion {}", b.address),
            address: b.address.clone(),
            port: b.port,
            user: b.user.clone(),
            key_path: b.key_path.clone(),
            key_passphrase: ctx.config.ssh_key_passphrase.clone(),
            agent_auth: node.agent_auth,
            password: None,
            known_hosts: settings.known_hosts.clone(),
            accept_new_host_keys: settings.accept_new_host_keys,
            confirm: ctx.ui.asker(),
            connect_timeout: settings.connect_timeout,
            command_timeout: settings.command_timeout,
            bastion: None,
        })
    });
    SshTarget {
        node: node.name.clone(),
        address: node.address.clone(),
        port: node.port,
        user: node.user.clone(),
        key_path: node.key_path.clone(),
        key_passphrase: ctx.config.ssh_key_passphrase.clone(),
        agent_auth: node.agent_auth,
        password: node.password.clone(),
        known_hosts: settings.known_hosts.clone(),
        accept_new_host_keys: settings.accept_new_host_keys,
        confirm: ctx.ui.asker(),
        connect_timeout: settings.connect_timeout,
        command_timeout: settings.command_timeout,
        bastion,
    }
}

fn winrm_target(ctx: &RunContext, node: &Node) -> Result<WinrmTarget, String> {
    let Some(w) = &node.winrm else {
        return Err(format!("{}: no WinRM settings", node.name));
    };
    let password = w
        .password
        .clone()
        .unwrap_or_else(|| Secret::new(String::new()));
    let auth = match w.auth {
        WinrmAuth::Basic => Auth::Basic {
            user: w.user.clone(),
            password,
        },
        WinrmAuth::Ntlm => Auth::Ntlm {
            user: w.user.clone(),
            password,
        },
        WinrmAuth::Kerberos => Auth::Kerberos {
            user: w.user.clone(),
        },
    };
    if w.insecure_skip_verify && w.https {
        ctx.ui.warn(&format!(
            "{}: WinRM TLS certificate checks are OFF (winrm.insecure_skip_verify): anyone on the path can read the password",
            node.name
        ));
    }
    Ok(WinrmTarget {
        node: node.name.clone(),
        http: HttpOptions {
            host: node.address.clone(),
            port: w.port,
            https: w.https,
            auth,
            ca_cert: w.ca_cert.clone(),
            insecure_skip_verify: w.insecure_skip_verify,
            connect_timeout: ctx.settings.connect_timeout,
            operation_timeout: std::time::Duration::from_secs(20),
            insecure: None,
        },
        command_timeout: ctx.settings.command_timeout,
    })
}
