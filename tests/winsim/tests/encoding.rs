//! Non-ASCII text through rwin's transports and bootstrap (issue 12 §2). An OpenSSH session's
//! console starts in the host's OEM code page (437 on an en-US Windows Server), so unless the
//! bootstrap makes the console UTF-8 before it reads its script, PowerShell reads rwin's UTF-8
//! script as CP437 and writes its output in CP437 (tests/winsim/BEHAVIOURS.md, "Reaching the
//! host"). A WinRS shell has the code page its Create asked for (WINRS_CODEPAGE).
//!
//! An echo of a literal is not enough to see it: CP437 maps every byte to a character, so
//! UTF-8 bytes read as CP437 and written back as CP437 come out as the same bytes. Text that
//! meets the host does not: a name in the script compared with the host's adapter names, and a
//! name the host holds, printed.

use std::sync::Arc;
use std::time::Duration;

use rwin::os::windows::script_command;
use rwin::secret::Secret;
use rwin::transport::ssh::{SshTarget, SshTransport};
use rwin::transport::winrm::{HttpOptions, HttpPoster, RandomIds, ShellOptions, WinrsShell};
use rwin::transport::Transport;
use winsim::host::SharedHost;
use winsim::ssh::SshOptions;
use winsim::winrm::{Users, WinrmServer};

#[allow(dead_code)] // the shared helpers for cluster state are not needed here
mod common;

const USER: &str = "Administrator";
const PASSWORD: &str = "Winsim-Passw0rd!";

/// The host's NIC, renamed by its administrator (ifIndex 6 is the scratch host's Ethernet).
const ADAPTER: &str = "Ethernet \u{2013} \u{DC}n\u{EF}code";

/// Finds the adapter by the name written in the script (PowerShell must read the script as
/// rwin wrote it), prints the name the host holds (PowerShell must write it so rwin reads it
/// back), and a literal.
fn script() -> String {
    format!(
        "$found = @(Get-NetAdapter | Where-Object {{ $_.Name -eq '{ADAPTER}' }})\n\
         'found ' + $found.Count\n\
         (Get-NetAdapter | Where-Object {{ $_.ifIndex -eq 6 }}).Name\n\
         'caf\u{E9}'\n"
    )
}

fn expected() -> String {
    format!("found 1\r\n{ADAPTER}\r\ncaf\u{E9}\r\n")
}

/// A scratch host whose NIC has the non-ASCII name.
fn renamed_host(tag: &str) -> (winsim::host::Host, common::Scratch) {
    common::host(tag, |st| {
        let nic = st
            .adapters
            .iter_mut()
            .find(|a| a.if_index == 6)
            .expect("the scratch host's Ethernet");
        nic.name = ADAPTER.to_string();
    })
}

/// `ssh-keygen -t ed25519`, made for this test: winsim's host key.
const HOST_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACCv1ZzUfGDS6xh++kbhlJ5Il8lyZlYEk/oio7Y+ub6dYQAAAIgD8WGKA/Fh
igAAAAtzc2gtZWQyNTUxOQAAACCv1ZzUfGDS6xh++kbhlJ5Il8lyZlYEk/oio7Y+ub6dYQ
AAAEBYNonqtxz1Wcq7A0mMll8Na4yPrwRjUyWw+7pLxXTmGq/VnNR8YNLrGH76RuGUnkiX
yXJmVgST+iKjtj65vp1hAAAAAAECAwQF
-----END OPENSSH PRIVATE KEY-----
";

/// Serves `host` over winsim's OpenSSH on 127.0.0.1 and connects rwin's SSH transport to it.
async fn over_ssh(host: winsim::host::Host, dir: &std::path::Path) -> Arc<SshTransport> {
    let key = dir.join("host_key");
    std::fs::write(&key, HOST_KEY).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts = SshOptions {
        listen: format!("127.0.0.1:{port}"),
        host_key: key,
        authorized_key: None,
        password: Some(PASSWORD.to_string()),
        user: USER.to_string(),
        docker_socket: "/nonexistent/docker.sock".to_string(),
    };
    tokio::spawn(winsim::ssh::serve(
        opts,
        Arc::new(SharedHost(Arc::new(host))),
    ));
    let target = SshTarget {
        node: "win1".into(),
        address: "127.0.0.1".into(),
        port,
        user: USER.into(),
        key_path: None,
        key_passphrase: None,
        agent_auth: false,
        password: Some(Secret::new(PASSWORD)),
        known_hosts: dir.join("known_hosts"),
        accept_new_host_keys: true,
        confirm: None,
        connect_timeout: Duration::from_secs(5),
        command_timeout: Duration::from_secs(60),
        bastion: None,
    };
    // The server binds in its own task: try until it listens (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match SshTransport::connect(target.clone()).await {
            Ok(t) => return t,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("rwin could not reach winsim's OpenSSH: {e}"),
        }
    }
}

/// rwin's bootstrap over OpenSSH, where the console starts in CP437: the script and its output
/// come back byte-exact.
#[tokio::test(flavor = "multi_thread")]
async fn non_ascii_survives_rwins_bootstrap_over_openssh() {
    let (host, dir) = renamed_host("enc-ssh");
    let ssh = over_ssh(host, dir.dir()).await;
    let out = ssh
        .exec(&script_command(), Some(script().as_bytes()))
        .await
        .expect("the script runs");
    assert_eq!((out.stdout.as_str(), out.code), (expected().as_str(), 0));
    assert_eq!(out.stderr, "");
}

/// The same over WinRM, whichever code page the shell was created with: rwin's own 65001,
/// and 437 (pywinrm's default), where the bootstrap's encodings do the work.
#[tokio::test(flavor = "multi_thread")]
async fn non_ascii_survives_rwins_bootstrap_over_winrm_in_either_code_page() {
    let (host, _dir) = renamed_host("enc-winrm");
    let server = WinrmServer::new(
        Arc::new(SharedHost(Arc::new(host))),
        Users::new([(USER, PASSWORD)]),
    );
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = http.local_addr().unwrap().port();
    tokio::spawn(server.serve_http(http));
    let command = script_command();
    let words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
    for codepage in [65001, 437] {
        let mut http_opts = HttpOptions::http_ntlm("127.0.0.1", USER, Secret::new(PASSWORD));
        http_opts.port = port;
        let mut opts = ShellOptions {
            skip_cmd_shell: true,
            ..ShellOptions::default()
        };
        opts.spec.codepage = Some(codepage);
        let shell = WinrsShell::open(
            Arc::new(HttpPoster::new(http_opts).expect("a poster")),
            Arc::new(RandomIds::default()),
            opts,
        )
        .await
        .expect("the shell opens");
        let out = shell
            .run(&words[0], &words[1..], Some(script().as_bytes()))
            .await
            .expect("the script runs");
        shell.close().await.unwrap();
        assert_eq!(
            (out.stdout.as_str(), out.code),
            (expected().as_str(), 0),
            "WINRS_CODEPAGE {codepage}"
        );
    }
}
