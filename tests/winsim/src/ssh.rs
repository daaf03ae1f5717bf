//! The OpenSSH front door, as Windows OpenSSH behaves for rwin: `exec` runs the command line
//! through the simulated host (PowerShell), `docker system dial-stdio` is a byte pipe to the
//! Docker API socket (what the Docker CLI's ssh:// runs), `direct-tcpip` connects from the host.

use crate::runner::CommandRunner;
use russh::keys::ssh_key::PublicKey;
use russh::server::{Auth, Msg, Server as _, Session};
use russh::{Channel, ChannelId, ChannelMsg};
use std::path::PathBuf;
use std::sync::Arc;

/// How the SSH server is set up.
pub struct SshOptions {
    pub listen: String,
    pub host_key: PathBuf,
    pub authorized_key: Option<PathBuf>,
    pub password: Option<String>,
    pub user: String,
    /// Path of the dockerd unix socket that `docker system dial-stdio` reaches.
    pub docker_socket: String,
}

struct Shared {
    runner: Arc<dyn CommandRunner>,
    keys: Vec<PublicKey>,
    password: Option<String>,
    user: String,
    docker_socket: String,
}

struct Server(Arc<Shared>);

impl russh::server::Server for Server {
    type Handler = Conn;
    fn new_client(&mut self, _peer: Option<std::net::SocketAddr>) -> Conn {
        Conn(self.0.clone())
    }
}

struct Conn(Arc<Shared>);

fn user_ok(s: &Shared, user: &str) -> bool {
    user.eq_ignore_ascii_case(&s.user)
}

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let ok = user_ok(&self.0, user) && self.0.password.as_deref() == Some(password);
        Ok(if ok { Auth::Accept } else { Auth::reject() })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let known = self
            .0
            .keys
            .iter()
            .any(|k| k.key_data() == key.public_key.key_data());
        Ok(if user_ok(&self.0, user) && known {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        let shared = self.0.clone();
        tokio::spawn(session_channel(shared, channel));
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host: &str,
        port: u32,
        _orig: &str,
        _orig_port: u32,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let target = format!("{host}:{port}");
        match tokio::net::TcpStream::connect(&target).await {
            Ok(mut tcp) => {
                reply.accept().await;
                tokio::spawn(async move {
                    let mut stream = channel.into_stream();
                    let _ = tokio::io::copy_bidirectional(&mut stream, &mut tcp).await;
                });
            }
            Err(_) => reply.reject(russh::ChannelOpenFailure::ConnectFailed).await,
        }
        Ok(())
    }
}

/// One session channel: wait for `exec`, gather stdin until EOF, run, answer, exit status.
async fn session_channel(shared: Arc<Shared>, mut channel: Channel<Msg>) {
    let mut command = None;
    let mut stdin = Vec::new();
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Exec { command: c, .. } => {
                let line = String::from_utf8_lossy(&c).trim().to_string();
                if line == "docker system dial-stdio" {
                    return dial_stdio(&shared, channel).await;
                }
                command = Some(line);
            }
            ChannelMsg::Data { data } => stdin.extend_from_slice(&data),
            ChannelMsg::Eof => break,
            _ => {}
        }
    }
    let Some(line) = command else {
        let _ = channel
            .extended_data_bytes(
                1,
                b"winsim: unsupported session request (only exec)\n".to_vec(),
            )
            .await;
        let _ = channel.exit_status(1).await;
        let _ = channel.close().await;
        return;
    };
    let out = shared.runner.run(&line, &stdin).await;
    if !out.stdout.is_empty() {
        let _ = channel.data_bytes(out.stdout).await;
    }
    if !out.stderr.is_empty() {
        let _ = channel.extended_data_bytes(1, out.stderr).await;
    }
    let _ = channel
        .exit_status(u32::try_from(out.code).unwrap_or(1))
        .await;
    let _ = channel.eof().await;
    let _ = channel.close().await;
}

/// The Docker API over the channel, to winsim's dockerd. The first request is read whole and
/// goes through `native::api_request`, which makes a container's or an exec's command what a
/// Windows image would run (rwin opens one channel per request, so that is every request of
/// rwin's; a client that sends several on one channel gets the later ones unchanged). Then
/// bytes are copied both ways (responses, and upgraded streams such as an exec's output).
async fn dial_stdio(shared: &Shared, channel: Channel<Msg>) {
    use tokio::io::AsyncWriteExt;
    match tokio::net::UnixStream::connect(&shared.docker_socket).await {
        Ok(mut sock) => {
            let mut stream = channel.into_stream();
            match first_request(&mut stream).await {
                Ok(bytes) if !bytes.is_empty() => {
                    let (head, body) = split_request(&bytes);
                    match crate::native::api_request(head, body) {
                        crate::native::ApiRequest::Forward(b) => {
                            if sock.write_all(&b).await.is_err() {
                                return;
                            }
                        }
                        crate::native::ApiRequest::Refuse(why) => {
                            let body = serde_json::json!({ "message": why }).to_string();
                            let answer = format!(
                                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = stream.write_all(answer.as_bytes()).await;
                            let _ = stream.shutdown().await;
                            return;
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
            let _ = tokio::io::copy_bidirectional(&mut stream, &mut sock).await;
        }
        Err(e) => {
            let msg = format!("error during connect: {}: {e}\n", shared.docker_socket);
            let _ = channel.extended_data_bytes(1, msg.into_bytes()).await;
            let _ = channel.exit_status(1).await;
            let _ = channel.close().await;
        }
    }
}

/// Serves SSH until the process ends.
pub async fn serve(opts: SshOptions, runner: Arc<dyn CommandRunner>) -> anyhow::Result<()> {
    let host_key = russh::keys::load_secret_key(&opts.host_key, None)
        .map_err(|e| anyhow::anyhow!("host key {}: {e}", opts.host_key.display()))?;
    let mut keys = Vec::new();
    if let Some(path) = &opts.authorized_key {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("authorized key {}: {e}", path.display()))?;
        for line in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let b64 = line.split_whitespace().nth(1).unwrap_or("");
            keys.push(
                russh::keys::parse_public_key_base64(b64)
                    .map_err(|e| anyhow::anyhow!("authorized key {}: {e}", path.display()))?,
            );
        }
    }
    if keys.is_empty() && opts.password.is_none() {
        anyhow::bail!("no way to log in: give --authorized-key or --password-env");
    }
    let config = russh::server::Config {
        keys: vec![host_key],
        auth_rejection_time: std::time::Duration::from_millis(100),
        ..Default::default()
    };
    let shared = Arc::new(Shared {
        runner,
        keys,
        password: opts.password,
        user: opts.user,
        docker_socket: opts.docker_socket,
    });
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .map_err(|e| anyhow::anyhow!("listening on {}: {e}", opts.listen))?;
    eprintln!("winsim: ssh listening on {}", opts.listen);
    let config = Arc::new(config);
    let mut server = Server(shared.clone());
    loop {
        let (socket, peer) = listener
            .accept()
            .await
            .map_err(|e| anyhow::anyhow!("ssh server: {e}"))?;
        // A restarting host answers nothing: the connection is closed at once.
        if !shared.runner.reachable() {
            drop(socket);
            continue;
        }
        let _ = socket.set_nodelay(true);
        let handler = server.new_client(Some(peer));
        let (config, shared) = (config.clone(), shared.clone());
        tokio::spawn(async move {
            let Ok(session) = russh::server::run_stream(config, socket, handler).await else {
                return;
            };
            let handle = session.handle();
            tokio::select! {
                _ = session => {}
                // The host went down (Restart-Computer): its connections end with it.
                _ = crate::runner::until_unreachable(shared.runner.as_ref()) => {
                    let _ = handle
                        .disconnect(
                            russh::Disconnect::ByApplication,
                            "the host is restarting".into(),
                            String::new(),
                        )
                        .await;
                }
            }
        });
    }
}

/// The first HTTP request on `stream`: its head up to the blank line and, when it names a
/// Content-Length, that many body bytes; what came with them is kept. At most 1 MiB of head;
/// a stream that ends first yields what arrived.
async fn first_request<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return Ok(buf);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(buf)
}

/// A request read by [`first_request`] as head and body (Content-Length bytes; anything after
/// them stays with the body's tail, forwarded unchanged only when the request is).
fn split_request(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => bytes.split_at(i + 4),
        None => (bytes, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn the_first_request_is_read_whole_and_split() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let body = br#"{"Cmd":["ping","/t","127.0.0.1"]}"#;
        let head = format!(
            "POST /v1.43/containers/create HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let send = async {
            // In pieces, as a stream delivers it.
            client.write_all(&head.as_bytes()[..10]).await.unwrap();
            client.write_all(&head.as_bytes()[10..]).await.unwrap();
            client.write_all(body).await.unwrap();
        };
        let (got, ()) = tokio::join!(first_request(&mut server), send);
        let got = got.unwrap();
        let (h, b) = split_request(&got);
        assert_eq!((h, b), (head.as_bytes(), &body[..]));
        // A request without a body ends at its blank line.
        let (mut client, mut server) = tokio::io::duplex(64);
        client
            .write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
            .await
            .unwrap();
        let got = first_request(&mut server).await.unwrap();
        assert_eq!(split_request(&got).1, b"");
    }
}
