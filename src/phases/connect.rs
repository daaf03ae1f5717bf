//! Connect: open the host's one connection and check its container engine answers.

use std::sync::Arc;

use super::{ErrorKind, Host, HostError, RunContext};
use crate::config::{Connection, Node, WinrmAuth};
use crate::docker::Engine;
use crate::plan::PlannedNode;
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use crate::transport::ssh::{SshTarget, SshTransport};
use crate::transport::winrm::{Auth, HttpOptions, WinrmTarget, WinrmTransport};
use crate::transport::Transport;

pub async fn run(ctx: &RunContext, h: &mut Host) {
    ctx.ui.host_step(&h.node.name, "connecting");
    match open(ctx, &h.node).await {
        Ok((transport, engine)) => {
            ctx.ui.host_step(&h.node.name, "connected");
            h.transport = Some(transport);
            h.engine = engine;
        }
        Err(e) => h.fail_with(&ctx.ui, e),
    }
}

/// One try at opening the connection; the error says whether another can help.
async fn connect_once(ctx: &RunContext, node: &Node) -> Result<Arc<dyn Transport>, HostError> {
    Ok(match node.connection {
        Connection::Ssh => SshTransport::connect(ssh_target(ctx, node)?)
            .await
            .map_err(|e| HostError::connect(e.to_string(), e.is_retryable()))?,
        Connection::Winrm => WinrmTransport::connect(
            winrm_target(ctx, node).map_err(|e| HostError::connect(e, false))?,
        )
        .await
        .map_err(|e| HostError::connect(e.to_string(), e.is_retryable()))?,
    })
}

/// A new connection to `planned`, and how its container engine is worked over it (none
/// without a container engine).
pub async fn open(
    ctx: &RunContext,
    planned: &PlannedNode,
) -> Result<(Arc<dyn Transport>, Option<Engine>), HostError> {
    let node = &planned.node;
    let transport = RetryPolicy::CONNECT
        .run(
            || connect_once(ctx, node),
            |attempt, e, pause| {
                ctx.ui.host_step(
                    &node.name,
                    &format!(
                        "connecting (try {attempt} of {} in {}s: {e})",
                        RetryPolicy::CONNECT.attempts,
                        pause.as_secs()
                    ),
                )
            },
        )
        .await?;
    if ctx.config.network.container_engine == crate::config::ContainerEngine::None {
        return Ok((transport, None));
    }
    let os = planned.host_os;
    let engine = Engine::for_transport(
        transport.clone(),
        os.docker_endpoint(&node.docker_socket),
        os.script_command(&node.user),
    )
    .map_err(|e| {
        HostError::new(
            ErrorKind::Engine,
            format!("{}: Docker client: {e}", node.name),
        )
    })?;
    Ok((transport, Some(engine)))
}

fn ssh_target(ctx: &RunContext, node: &Node) -> Result<SshTarget, HostError> {
    let settings = &ctx.settings;
    let known_hosts = settings
        .known_hosts()
        .map_err(|e| HostError::connect(format!("{}: {e}", node.name), false))?
        .to_path_buf();
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
            known_hosts: known_hosts.clone(),
            accept_new_host_keys: settings.accept_new_host_keys,
            confirm: ctx.ui.asker(),
            connect_timeout: settings.connect_timeout,
            command_timeout: settings.command_timeout,
            bastion: None,
        })
    });
    Ok(SshTarget {
        node: node.name.clone(),
        address: node.address.clone(),
        port: node.port,
        user: node.user.clone(),
        key_path: node.key_path.clone(),
        key_passphrase: ctx.config.ssh_key_passphrase.clone(),
        agent_auth: node.agent_auth,
        password: node.password.clone(),
        known_hosts,
        accept_new_host_keys: settings.accept_new_host_keys,
        confirm: ctx.ui.asker(),
        connect_timeout: settings.connect_timeout,
        command_timeout: settings.command_timeout,
        bastion,
    })
}

fn winrm_target(ctx: &RunContext, node: &Node) -> Result<WinrmTarget, String> {
    let Some(w) = &node.winrm else {
        return Err(format!("{}: no WinRM settings", node.name));
    };
    // Only a node known from the state file alone can lack the password its record names.
    if let (None, Some(var), false) = (&w.password, &w.password_env, w.auth == WinrmAuth::Kerberos)
    {
        return Err(crate::plan::missing_password(&ctx.config, node, var));
    }
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
        // Image pulls ask for --pull-timeout themselves (`Transport::exec_within`).
        command_timeout: ctx.settings.command_timeout,
        // Registry passwords and the containers' environment values: scripts read them from
        // the shell's environment, so no secret is in a script's text (docker::cli).
        env: shell_environment(ctx, &node.name),
    })
}

/// The WinRS shell's environment for `node`: the registry passwords pulls log in with, and
/// the environment values of the node's containers.
fn shell_environment(ctx: &RunContext, node: &str) -> Vec<(String, Secret)> {
    let mut env = crate::docker::cli::registry_environment(&ctx.config.registries);
    env.extend(crate::docker::cli::container_environment(
        ctx.plan.instances_on(node),
    ));
    env
}
