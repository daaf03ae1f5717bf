//! SSH transport (russh). One connection per host, opened once and reused for every command,
//! the Docker API (direct-streamlocal channels) and health checks (direct-tcpip channels);
//! keepalives on; host keys verified. RKE opened a new connection per dial with no keepalive.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use russh::client::{self, Handle};
use russh::keys::PrivateKeyWithHashAlg;
use russh::ChannelMsg;

use super::host_key::{ClientHandler, KeyProblem};
use super::{BoxStream, ExecOutput, Transport, TransportError};
use crate::secret::Secret;

pub use crate::ask::{Asker, Confirm};

/// Everything needed to open one host's SSH connection.
#[derive(Clone)]
pub struct SshTarget {
    pub node: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub key_path: Option<PathBuf>,
    pub key_passphrase: Option<Secret>,
    pub agent_auth: bool,
    pub password: Option<Secret>,
    pub known_hosts: PathBuf,
    pub accept_new_host_keys: bool,
    pub confirm: Option<Confirm>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub bastion: Option<Box<SshTarget>>,
}

/// The most a command may print, stdout and stderr together. rwin's scripts print kilobytes
/// (facts, a plan's worth of lines); a host that streams without end must not exhaust rwin's
/// memory, and 64 MiB leaves room for any real answer.
const OUTPUT_CAP: usize = 64 << 20;

/// An open, authenticated SSH connection to one host.
pub struct SshTransport {
    node: String,
    handle: Handle<ClientHandler>,
    command_timeout: Duration,
    /// How long the server may take to open a channel (--connect-timeout).
    open_timeout: Duration,
    round_trips: AtomicU64,
    // Keeps the bastion's connection alive as long as this one rides on it.
    _bastion: Option<Arc<SshTransport>>,
}

impl SshTransport {
    /// Connect, verify the host key, authenticate. Every failure is one clear sentence.
    pub fn connect(
        target: SshTarget,
    ) -> BoxFuture<'static, Result<Arc<SshTransport>, TransportError>> {
        Box::pin(async move {
            let addr = format!("{}:{}", target.address, target.port);
            let problem = Arc::new(Mutex::new(None));
            let handler = ClientHandler {
                known_hosts: target.known_hosts.clone(),
                host: target.address.clone(),
                port: target.port,
                accept_new: target.accept_new_host_keys,
                confirm: target.confirm.clone(),
                node: target.node.clone(),
                problem: problem.clone(),
            };
            let config = Arc::new(client::Config {
                keepalive_interval: Some(Duration::from_secs(15)),
                keepalive_max: 3,
                nodelay: true,
                ..Default::default()
            });
            let node = target.node.clone();
            let secs = target.connect_timeout.as_secs();
            let (handle, bastion) = match &target.bastion {
                None => {
                    let tcp = tokio::time::timeout(
                        target.connect_timeout,
                        tokio::net::TcpStream::connect(&addr),
                    )
                    .await
                    .map_err(|_| TransportError::Unreachable {
                        node: node.clone(),
                        addr: addr.clone(),
                        reason: format!("no TCP answer within {secs}s"),
                    })?
                    .map_err(|e| TransportError::Unreachable {
                        node: node.clone(),
                        addr: addr.clone(),
                        reason: e.to_string(),
                    })?;
                    let _ = tcp.set_nodelay(true);
                    let h = tokio::time::timeout(
                        target.connect_timeout,
                        client::connect_stream(config, tcp, handler),
                    )
                    .await;
                    (h, None)
                }
                Some(b) => {
                    let jump = SshTransport::connect((**b).clone()).await?;
                    let forward = jump.handle.channel_open_direct_tcpip(
                        target.address.clone(),
                        u32::from(target.port),
                        "127.0.0.1",
                        0,
                    );
                    let ch = tokio::time::timeout(target.connect_timeout, forward)
                        .await
                        .map_err(|_| TransportError::ChannelTimeout {
                            node: node.clone(),
                            what: format!(
                                "a forward to {addr} through bastion {}:{}",
                                b.address, b.port
                            ),
                            secs,
                        })?
                        .map_err(|e| TransportError::Unreachable {
                            node: node.clone(),
                            addr: addr.clone(),
                            reason: format!(
                                "through bastion {}: {}",
                                b.address,
                                channel_hint(&e.to_string())
                            ),
                        })?;
                    let h = tokio::time::timeout(
                        target.connect_timeout,
                        client::connect_stream(config, ch.into_stream(), handler),
                    )
                    .await;
                    (h, Some(jump))
                }
            };
            let problem = problem.lock().ok().and_then(|p| p.clone());
            let mut handle = match (handle, problem) {
                (_, Some(KeyProblem::Unknown(fingerprint))) => {
                    return Err(TransportError::HostKeyUnknown {
                        node,
                        addr,
                        fingerprint,
                        known_hosts: target.known_hosts.clone(),
                    })
                }
                (_, Some(KeyProblem::Changed(fingerprint, line))) => {
                    return Err(TransportError::HostKeyMismatch {
                        node,
                        host: target.address.clone(),
                        port: target.port,
                        fingerprint,
                        known_hosts: target.known_hosts.clone(),
                        line,
                    })
                }
                (_, Some(KeyProblem::CertAuthority(fingerprint, line))) => {
                    return Err(TransportError::HostKeyCertAuthority {
                        node,
                        addr,
                        fingerprint,
                        known_hosts: target.known_hosts.clone(),
                        line,
                    })
                }
                (_, Some(KeyProblem::Revoked(fingerprint, line))) => {
                    return Err(TransportError::HostKeyRevoked {
                        node,
                        addr,
                        fingerprint,
                        known_hosts: target.known_hosts.clone(),
                        line,
                    })
                }
                (_, Some(KeyProblem::Unreadable(reason))) => {
                    return Err(TransportError::Channel {
                        node,
                        what: "known_hosts".into(),
                        reason,
                    })
                }
                (Err(_), None) => return Err(TransportError::ConnectTimeout { node, addr, secs }),
                (Ok(Err(e)), None) => {
                    return Err(TransportError::Unreachable {
                        node,
                        addr,
                        reason: format!("SSH handshake failed: {e}"),
                    })
                }
                (Ok(Ok(h)), None) => h,
            };
            authenticate(&mut handle, &target).await?;
            Ok(Arc::new(SshTransport {
                node: target.node.clone(),
                handle,
                command_timeout: target.command_timeout,
                open_timeout: target.connect_timeout,
                round_trips: AtomicU64::new(0),
                _bastion: bastion,
            }))
        })
    }

    fn channel_error(&self, what: String, e: russh::Error) -> TransportError {
        if self.handle.is_closed() {
            return TransportError::Disconnected {
                node: self.node.clone(),
                reason: e.to_string(),
            };
        }
        TransportError::Channel {
            node: self.node.clone(),
            what,
            reason: channel_hint(&e.to_string()),
        }
    }

    /// Wait for the server to open a channel, no longer than --connect-timeout: a server that
    /// answers keepalives but never answers the open would otherwise hold rwin for ever.
    async fn opened<T>(
        &self,
        what: impl Fn() -> String,
        open: impl std::future::Future<Output = Result<T, russh::Error>>,
    ) -> Result<T, TransportError> {
        match tokio::time::timeout(self.open_timeout, open).await {
            Ok(Ok(channel)) => Ok(channel),
            Ok(Err(e)) => Err(self.channel_error(what(), e)),
            Err(_) => Err(TransportError::ChannelTimeout {
                node: self.node.clone(),
                what: what(),
                secs: self.open_timeout.as_secs(),
            }),
        }
    }

    async fn run(&self, command: &str, stdin: Option<&[u8]>) -> Result<ExecOutput, TransportError> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let mut ch = self
            .opened(|| "a session".into(), self.handle.channel_open_session())
            .await?;
        ch.exec(true, command)
            .await
            .map_err(|e| self.channel_error("a command".into(), e))?;
        if let Some(data) = stdin {
            ch.data(data)
                .await
                .map_err(|e| self.channel_error("command input".into(), e))?;
        }
        ch.eof()
            .await
            .map_err(|e| self.channel_error("command input".into(), e))?;
        let (mut out, mut err, mut code) = (Vec::new(), Vec::new(), None);
        while let Some(msg) = ch.wait().await {
            let room = OUTPUT_CAP - (out.len() + err.len());
            match msg {
                ChannelMsg::Data { data } | ChannelMsg::ExtendedData { data, .. }
                    if data.len() > room =>
                {
                    let _ = ch.close().await;
                    return Err(TransportError::OutputTooLarge {
                        node: self.node.clone(),
                        mib: OUTPUT_CAP >> 20,
                    });
                }
                ChannelMsg::Data { data } => out.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, ext: 1 } => err.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    err.extend_from_slice(format!("killed by signal {signal_name:?}").as_bytes());
                    code = Some(255);
                }
                _ => {}
            }
        }
        let code = match code {
            Some(c) => c,
            None if self.handle.is_closed() => {
                return Err(TransportError::Disconnected {
                    node: self.node.clone(),
                    reason: "the command's channel closed with the connection".into(),
                })
            }
            None => 255,
        };
        Ok(ExecOutput {
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&err).into_owned(),
            code,
        })
    }
}

/// Turn an SSH channel refusal into its likely causes (rke#752: "administratively prohibited"
/// with no hint).
fn channel_hint(reason: &str) -> String {
    if reason.contains("prohibited") || reason.contains("Prohibited") {
        format!("{reason} (the server refused the forward: check AllowTcpForwarding / AllowStreamLocalForwarding in sshd_config, and that the socket exists and this user may open it, e.g. is in the docker group)")
    } else if reason.contains("ConnectFailed") || reason.contains("Connect") {
        format!("{reason} (the host could not connect to the target: is the service running and the socket path right?)")
    } else {
        reason.to_string()
    }
}

async fn authenticate(
    handle: &mut Handle<ClientHandler>,
    t: &SshTarget,
) -> Result<(), TransportError> {
    let mut tried = Vec::new();
    let failed = |tried: &[String]| TransportError::AuthFailed {
        node: t.node.clone(),
        user: t.user.clone(),
        tried: tried.join(", "),
    };
    let transport_err = |e: russh::Error| TransportError::Disconnected {
        node: t.node.clone(),
        reason: format!("during authentication: {e}"),
    };

    if t.agent_auth {
        tried.push("ssh-agent".to_string());
        if let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await {
            let ids = agent.request_identities().await.unwrap_or_default();
            for id in ids {
                let key = id.public_key().into_owned();
                let hash = answered(t, handle.best_supported_rsa_hash())
                    .await?
                    .ok()
                    .flatten()
                    .flatten();
                let signed = handle.authenticate_publickey_with(&t.user, key, hash, &mut agent);
                if let Ok(r) = answered(t, signed).await? {
                    if r.success() {
                        return Ok(());
                    }
                }
            }
        } else {
            if let Some(s) = tried.last_mut() {
                s.push_str(" (SSH_AUTH_SOCK not usable)");
            }
        }
    }
    if let Some(path) = &t.key_path {
        if path.is_file() {
            tried.push(format!("key {}", path.display()));
            let key = load_key(path, t)?;
            let hash = answered(t, handle.best_supported_rsa_hash())
                .await?
                .map_err(transport_err)?
                .flatten();
            let signed =
                handle.authenticate_publickey(&t.user, PrivateKeyWithHashAlg::new(key, hash));
            let r = answered(t, signed).await?.map_err(transport_err)?;
            if r.success() {
                return Ok(());
            }
        }
    }
    if let Some(pw) = &t.password {
        tried.push("password".to_string());
        let r = answered(t, handle.authenticate_password(&t.user, pw.expose()))
            .await?
            .map_err(transport_err)?;
        if r.success() {
            return Ok(());
        }
    }
    if tried.is_empty() {
        tried.push("no usable key, agent or password configured".into());
    }
    Err(failed(&tried))
}

/// The server's answer to one login step, waited for no longer than --connect-timeout: a server
/// that answers keepalives but not the login would otherwise hold rwin for ever. (A passphrase
/// prompt happens before, in `load_key`, and is not timed.)
async fn answered<T>(
    t: &SshTarget,
    step: impl std::future::Future<Output = T>,
) -> Result<T, TransportError> {
    tokio::time::timeout(t.connect_timeout, step)
        .await
        .map_err(|_| TransportError::AuthTimeout {
            node: t.node.clone(),
            user: t.user.clone(),
            secs: t.connect_timeout.as_secs(),
        })
}

/// Keys already read (and decrypted) in this run: one passphrase prompt and one slow KDF per
/// key, not one per host.
static KEYS: std::sync::LazyLock<
    Mutex<std::collections::HashMap<PathBuf, Arc<russh::keys::PrivateKey>>>,
> = std::sync::LazyLock::new(Default::default);

fn load_key(path: &PathBuf, t: &SshTarget) -> Result<Arc<russh::keys::PrivateKey>, TransportError> {
    // Held while decrypting, so concurrent hosts wait for the first instead of prompting again.
    let mut cache = KEYS.lock().map_err(|_| TransportError::Key {
        node: t.node.clone(),
        path: path.clone(),
        reason: "internal key cache poisoned".into(),
    })?;
    if let Some(k) = cache.get(path) {
        return Ok(k.clone());
    }
    let err = |reason: String| TransportError::Key {
        node: t.node.clone(),
        path: path.clone(),
        reason,
    };
    let key = match russh::keys::load_secret_key(
        path,
        t.key_passphrase.as_ref().map(Secret::expose),
    ) {
        Ok(k) => k,
        Err(russh::keys::Error::KeyIsEncrypted) => {
            let no_tty = || {
                err("it is encrypted; set ssh_key_passphrase_env to the name of a variable holding the passphrase, or use ssh_agent_auth".into())
            };
            let asker = t.confirm.as_ref().ok_or_else(no_tty)?;
            let pass = asker
                .secret(format!("Passphrase for {}", path.display()))
                .ok_or_else(no_tty)?;
            russh::keys::load_secret_key(path, Some(&pass))
                .map_err(|e| err(format!("{e}: wrong passphrase?")))?
        }
        Err(e) if t.key_passphrase.is_some() => {
            return Err(err(format!(
                "{e}: is the passphrase in ssh_key_passphrase_env's variable the right one?"
            )))
        }
        Err(e) => return Err(err(e.to_string())),
    };
    let key = Arc::new(key);
    cache.insert(path.clone(), key.clone());
    Ok(key)
}

impl Transport for SshTransport {
    fn node(&self) -> &str {
        &self.node
    }

    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> BoxFuture<'a, Result<ExecOutput, TransportError>> {
        self.exec_within(command, stdin, self.command_timeout)
    }

    fn exec_within<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
        limit: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, TransportError>> {
        Box::pin(super::within(&self.node, limit, self.run(command, stdin)))
    }

    fn has_streams(&self) -> bool {
        true
    }

    fn open_unix<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move {
            self.round_trips.fetch_add(1, Ordering::Relaxed);
            let ch = self
                .opened(
                    || format!("the socket {path}"),
                    self.handle.channel_open_direct_streamlocal(path),
                )
                .await?;
            Ok(Box::pin(ch.into_stream()) as BoxStream)
        })
    }

    fn open_command<'a>(
        &'a self,
        command: &'a str,
    ) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move {
            self.round_trips.fetch_add(1, Ordering::Relaxed);
            let ch = self
                .opened(|| "a session".into(), self.handle.channel_open_session())
                .await?;
            ch.exec(true, command)
                .await
                .map_err(|e| self.channel_error(format!("`{command}`"), e))?;
            Ok(Box::pin(ch.into_stream()) as BoxStream)
        })
    }

    fn open_tcp<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move {
            self.round_trips.fetch_add(1, Ordering::Relaxed);
            let ch = self
                .opened(
                    || format!("{host}:{port}"),
                    self.handle
                        .channel_open_direct_tcpip(host, u32::from(port), "127.0.0.1", 0),
                )
                .await?;
            Ok(Box::pin(ch.into_stream()) as BoxStream)
        })
    }

    fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
#[path = "ssh_tests.rs"]
mod tests;
