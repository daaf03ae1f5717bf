//! Connect: open the host's one connection and check its container engine answers.

use std::sync::Arc;

use super::{Host, RunContext};
use crate::config::Connection;
use crate::transport::ssh::{SshTarget, SshTransport};
use crate::transport::Transport;

pub async fn run(ctx: &RunContext, h: &mut Host) {
    let node = &h.node.node;
    ctx.ui.host_step(&h.node.name, "connecting");
    if node.connection != Connection::Ssh || crate::os::script_command(node.os, &node.user).is_err()
    {
        let why = crate::os::script_command(node.os, &node.user)
            .err()
            .unwrap_or_else(|| "WinRM is not supported by this build yet".into());
        h.fail(&ctx.ui, format!("{}: {why}", h.node.name));
        return;
    }
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
    let target = SshTarget {
        node: h.node.name.clone(),
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
    };
    let transport: Arc<dyn Transport> = match SshTransport::connect(target).await {
        Ok(t) => t,
        Err(e) => return h.fail(&ctx.ui, e.to_string()),
    };
    ctx.ui.host_step(&h.node.name, "connected");
    match crate::docker::connect(transport.clone(), &node.docker_socket) {
        Ok(d) => h.docker = Some(d),
        Err(e) => return h.fail(&ctx.ui, format!("{}: Docker client: {e}", h.node.name)),
    }
    h.transport = Some(transport);
}
