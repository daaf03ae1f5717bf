//! The SSH transport against misbehaving servers: a russh server on 127.0.0.1 in the test,
//! which stalls where a real host can stall (a login that never answers, a channel that is never
//! opened, a bastion whose forward never opens) or floods a command's output. The tokio
//! timeouts around the calls only keep a regression from hanging the suite.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::server::{self, Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId};

use super::{SshTarget, SshTransport};
use crate::secret::Secret;
use crate::transport::{Transport, TransportError};

/// `ssh-keygen -t ed25519`: the fake server's host key.
const HOST_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACCFrXwl6eQUwLOSmKzcJJYuWRVPRE9WD12k72sd1w0i3gAAAIhZierdWYnq
3QAAAAtzc2gtZWQyNTUxOQAAACCFrXwl6eQUwLOSmKzcJJYuWRVPRE9WD12k72sd1w0i3g
AAAEAQfEANf1HmYB0xdy6vinJitEtvoTGSzMnTt3tjY3UP5YWtfCXp5BTAs5KYrNwkli5Z
FU9ET1YPXaTvax3XDSLeAAAAAAECAwQF
-----END OPENSSH PRIVATE KEY-----
";
const HOST_KEY_PUB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIWtfCXp5BTAs5KYrNwkli5ZFU9ET1YPXaTvax3XDSLe";
const OTHER_KEY_PUB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILcH1P1vtgpdnb6NieABjoktF4/0M5ivg6SnjurhN6br";

/// Longer than any bounded wait below: reaching it means rwin hung.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// How the fake server misbehaves.
#[derive(Clone, Copy)]
enum Mode {
    /// Never answers a password login (the server's whole session waits with it).
    StallLogin,
    /// Logs in, then keeps every channel-open request pending, answering keepalives meanwhile.
    StallChannels,
    /// Runs every command as one writing `bytes` bytes to stdout, then exiting 0.
    Write { bytes: usize },
}

struct Fake {
    mode: Mode,
    /// Channel-open requests held unanswered (dropping one would refuse it).
    parked: Arc<Mutex<Vec<ChannelOpenHandle>>>,
}

impl server::Handler for Fake {
    type Error = russh::Error;

    async fn auth_password(&mut self, _user: &str, _password: &str) -> Result<Auth, Self::Error> {
        if let Mode::StallLogin = self.mode {
            std::future::pending::<()>().await;
        }
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.open(reply).await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host: &str,
        _port: u32,
        _from: &str,
        _from_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.open(reply).await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _command: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        if let Mode::Write { bytes } = self.mode {
            let handle = session.handle();
            tokio::spawn(async move {
                let mut left = bytes;
                while left > 0 {
                    let n = left.min(32 * 1024);
                    if handle.data(channel, vec![b'x'; n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
                let _ = handle.exit_status_request(channel, 0).await;
                let _ = handle.eof(channel).await;
                let _ = handle.close(channel).await;
            });
        }
        Ok(())
    }
}

impl Fake {
    async fn open(&self, reply: ChannelOpenHandle) {
        match self.mode {
            Mode::StallChannels => {
                if let Ok(mut parked) = self.parked.lock() {
                    parked.push(reply);
                }
            }
            _ => reply.accept().await,
        }
    }
}

/// A fake SSH server on a free 127.0.0.1 port, serving connections until the test ends.
async fn serve(mode: Mode) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Arc::new(server::Config {
        keys: vec![russh::keys::decode_secret_key(HOST_KEY, None).unwrap()],
        auth_rejection_time: Duration::ZERO,
        ..Default::default()
    });
    tokio::spawn(async move {
        let parked = Arc::new(Mutex::new(Vec::new()));
        while let Ok((tcp, _)) = listener.accept().await {
            let handler = Fake {
                mode,
                parked: parked.clone(),
            };
            let config = config.clone();
            tokio::spawn(async move {
                if let Ok(session) = server::run_stream(config, tcp, handler).await {
                    let _ = session.await;
                }
            });
        }
    });
    port
}

/// A target for the fake server on `port`, logging in with a password, its host key known.
fn target(node: &str, port: u16, known_hosts: &Path) -> SshTarget {
    let mut file = std::fs::read_to_string(known_hosts).unwrap_or_default();
    file.push_str(&format!("[127.0.0.1]:{port} {HOST_KEY_PUB}\n"));
    std::fs::write(known_hosts, file).unwrap();
    SshTarget {
        node: node.into(),
        address: "127.0.0.1".into(),
        port,
        user: "root".into(),
        key_path: None,
        key_passphrase: None,
        agent_auth: false,
        password: Some(Secret::new("pw")),
        known_hosts: known_hosts.to_path_buf(),
        accept_new_host_keys: false,
        confirm: None,
        connect_timeout: Duration::from_secs(1),
        command_timeout: Duration::from_secs(60),
        bastion: None,
    }
}

async fn connect(target: SshTarget) -> Result<Arc<SshTransport>, TransportError> {
    tokio::time::timeout(HANG_GUARD, SshTransport::connect(target))
        .await
        .expect("rwin hung connecting: no bounded wait ended it")
}

#[tokio::test]
async fn a_host_under_a_cert_authority_is_not_trusted_on_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("kh");
    let port = serve(Mode::Write { bytes: 0 }).await;
    let mut node = target("node1", port, &kh);
    // Only the CA: the host's own key is not recorded.
    let ca = format!("# lab CA\n@cert-authority 127.0.0.1,[127.0.0.1]:* {OTHER_KEY_PUB}\n");
    std::fs::write(&kh, &ca).unwrap();
    node.accept_new_host_keys = true;
    let Err(e) = connect(node).await else {
        panic!("trusted a key on first use for a host whose keys should be certified");
    };
    let e = e.to_string();
    assert!(
        e.starts_with(&format!("node1: {} line 2 names a @cert-authority for 127.0.0.1:{port}, so its host key should be certified, and rwin does not verify host certificates: it will not trust ssh-ed25519 SHA256:", kh.display())),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        ca,
        "nothing recorded"
    );
}

#[tokio::test]
async fn a_changed_host_key_is_refused_with_the_ssh_keygen_command_that_forgets_it() {
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known hosts");
    let port = serve(Mode::Write { bytes: 0 }).await;
    let node = target("node1", port, &kh);
    let old = format!("\n# old\n[127.0.0.1]:{port}\t{OTHER_KEY_PUB}\n");
    std::fs::write(&kh, &old).unwrap();
    let Err(e) = connect(node).await else {
        panic!("accepted a key that known_hosts does not record for the host");
    };
    let e = e.to_string();
    assert!(
        e.starts_with(&format!(
            "node1: HOST KEY CHANGED for 127.0.0.1:{port}: it now presents ssh-ed25519 SHA256:"
        )),
        "{e}"
    );
    assert!(
        e.ends_with(&format!("which does not match {} line 3. This may be an attack; if the host was really reinstalled, remove its old keys with `ssh-keygen -R '[127.0.0.1]:{port}' -f '{}'` and run again", kh.display(), kh.display())),
        "{e}"
    );
}
#[tokio::test]
async fn a_login_that_never_answers_ends_in_a_sentence_naming_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let port = serve(Mode::StallLogin).await;
    let Err(e) = connect(target("node1", port, &dir.path().join("kh"))).await else {
        panic!("logged in to a server that never answers a login");
    };
    assert_eq!(
        e.to_string(),
        "node1: the SSH server accepted the connection but did not answer the login (user root) within 1s. Check the host's sshd (a PAM, LDAP or DNS lookup can stall logins), or raise --connect-timeout"
    );
    assert!(e.is_retryable(), "{e}");
}

#[tokio::test]
async fn a_session_that_is_never_opened_ends_in_a_sentence_naming_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let port = serve(Mode::StallChannels).await;
    let ssh = connect(target("node1", port, &dir.path().join("kh")))
        .await
        .unwrap();
    let run = tokio::time::timeout(HANG_GUARD, ssh.exec("true", None))
        .await
        .expect("rwin hung opening a session");
    let e = run.expect_err("a command ran on a server that opens no channel");
    assert_eq!(
        e.to_string(),
        "node1: the SSH server did not open a session within 1s, although the connection is up. Check the host's sshd (MaxSessions, load), or raise --connect-timeout"
    );
    let stream = tokio::time::timeout(HANG_GUARD, ssh.open_tcp("127.0.0.1", 8080))
        .await
        .expect("rwin hung opening a TCP forward");
    assert_eq!(
        stream.err().map(|e| e.to_string()).as_deref(),
        Some("node1: the SSH server did not open 127.0.0.1:8080 within 1s, although the connection is up. Check the host's sshd (MaxSessions, load), or raise --connect-timeout")
    );
}

#[tokio::test]
async fn a_bastion_whose_forward_never_opens_ends_in_a_sentence_naming_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("kh");
    let bastion = serve(Mode::StallChannels).await;
    let mut node = target("node1", 2222, &kh);
    node.bastion = Some(Box::new(target("bastion 127.0.0.1", bastion, &kh)));
    let Err(e) = connect(node).await else {
        panic!("connected through a bastion that opens no forward");
    };
    assert_eq!(
        e.to_string(),
        format!("node1: the SSH server did not open a forward to 127.0.0.1:2222 through bastion 127.0.0.1:{bastion} within 1s, although the connection is up. Check the host's sshd (MaxSessions, load), or raise --connect-timeout")
    );
}
#[tokio::test]
async fn output_past_the_cap_fails_the_command_naming_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let port = serve(Mode::Write {
        bytes: super::OUTPUT_CAP + 1,
    })
    .await;
    let ssh = connect(target("node1", port, &dir.path().join("kh")))
        .await
        .unwrap();
    let run = tokio::time::timeout(HANG_GUARD * 4, ssh.exec("yes", None))
        .await
        .expect("rwin hung reading the output");
    let e = match run {
        Ok(out) => panic!(
            "collected {} bytes of output past the cap",
            out.stdout.len()
        ),
        Err(e) => e,
    };
    assert_eq!(
        e.to_string(),
        "node1: the command's output (stdout and stderr together) passed 64 MiB; rwin stopped reading it and failed the command. rwin's own commands print far less: check what runs on the host"
    );
}

#[tokio::test]
async fn output_up_to_the_cap_is_collected_whole() {
    let dir = tempfile::tempdir().unwrap();
    let port = serve(Mode::Write { bytes: 300_000 }).await;
    let ssh = connect(target("node1", port, &dir.path().join("kh")))
        .await
        .unwrap();
    let out = tokio::time::timeout(HANG_GUARD, ssh.exec("yes", None))
        .await
        .expect("rwin hung reading the output")
        .unwrap();
    assert_eq!((out.code, out.stdout.len()), (0, 300_000));
}
