//! winsim's command line: `serve` (SSH and WinRM front doors on one simulated host), `state`
//! (print the state file for tests) and `run` (one command line with stdin, for tests and
//! debugging). Flags are parsed by hand: the set is small and fixed.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use winsim::effects::Effects;
use winsim::host::{Host, SharedHost};
use winsim::state::WinState;

const USAGE: &str = "usage:
  winsim serve --state F --ssh ADDR:PORT --ssh-host-key F [--authorized-key F] [--password-env V]
               [--winrm-http ADDR:PORT] [--winrm-https ADDR:PORT] [--tls-cert F] [--tls-key F]
               [--user Administrator] --docker-host unix:///S [--dry-effects]
               [--user-file 'C:\\path\\tool.exe']  (a file the user put on the host)
  winsim state --file F
  winsim run --state F [--docker-host unix:///S] [--dry-effects] -- <command line>";

/// `--flag value` pairs and switches, up to a `--`.
fn flags(args: &[String]) -> Result<(HashMap<String, String>, Vec<String>), String> {
    let mut map = HashMap::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            return Ok((map, args[i + 1..].to_vec()));
        }
        let Some(name) = a.strip_prefix("--") else {
            return Err(format!("unexpected argument '{a}'"));
        };
        if name == "dry-effects" {
            map.insert(name.to_string(), String::new());
        } else {
            let v = args.get(i + 1).ok_or(format!("--{name} needs a value"))?;
            map.insert(name.to_string(), v.clone());
            i += 1;
        }
        i += 1;
    }
    Ok((map, Vec::new()))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("winsim: {e:#}");
            if e.to_string().starts_with("usage") {
                2
            } else {
                1
            }
        }
    };
    std::process::exit(code);
}

fn run(args: &[String]) -> anyhow::Result<i32> {
    let Some((verb, rest)) = args.split_first() else {
        anyhow::bail!("{USAGE}");
    };
    let (f, tail) = flags(rest).map_err(|e| anyhow::anyhow!("{e}\n{USAGE}"))?;
    let need = |k: &str| {
        f.get(k)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("--{k} is required\n{USAGE}"))
    };
    let docker_host = f
        .get("docker-host")
        .cloned()
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
    let dry = f.contains_key("dry-effects");
    match verb.as_str() {
        "state" => {
            let s = WinState::load(&PathBuf::from(need("file")?))?;
            println!("{}", serde_json::to_string_pretty(&s)?);
            Ok(0)
        }
        "run" => {
            let host = Host::open(
                PathBuf::from(need("state")?),
                Effects::new(dry, &docker_host),
            )?;
            let mut stdin = Vec::new();
            std::io::stdin().read_to_end(&mut stdin)?;
            let out = host.run_sync(&tail.join(" "), &stdin);
            std::io::stdout().write_all(&out.stdout)?;
            std::io::stderr().write_all(&out.stderr)?;
            Ok(out.code)
        }
        "serve" => {
            let state = PathBuf::from(need("state")?);
            drop(Host::open(state.clone(), Effects::new(dry, &docker_host))?);
            let mut st = WinState::load(&state)?;
            if let Some(file) = f.get("user-file") {
                // A file the user put on the host (devcon.exe, which no Windows ships).
                st.put_user_file(file);
            }
            // The account the front doors serve, with the profile of its earlier logons.
            let account = f.get("user").map_or("Administrator", String::as_str);
            st.account = account.to_string();
            st.put_profile(account);
            st.save(&state)?;
            let host = Host::open(state, Effects::new(dry, &docker_host))?;
            let runner = SharedHost(Arc::new(host));
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(serve(runner, f))?;
            Ok(0)
        }
        _ => anyhow::bail!("{USAGE}"),
    }
}

async fn serve(runner: SharedHost, f: HashMap<String, String>) -> anyhow::Result<()> {
    let password = match f.get("password-env") {
        Some(v) => Some(
            std::env::var(v)
                .map_err(|_| anyhow::anyhow!("--password-env {v}: variable not set"))?,
        ),
        None => None,
    };
    let user = f
        .get("user")
        .cloned()
        .unwrap_or_else(|| "Administrator".into());
    let mut tasks: Vec<(String, tokio::task::JoinHandle<anyhow::Result<()>>)> = Vec::new();

    if f.contains_key("winrm-http") || f.contains_key("winrm-https") {
        let Some(pw) = &password else {
            anyhow::bail!("WinRM needs the account's password: give --password-env\n{USAGE}");
        };
        let users = winsim::winrm::Users::new([(user.clone(), pw.clone())]);
        let server = winsim::winrm::WinrmServer::new(Arc::new(runner.clone()), users);
        // TLS is checked before anything listens, so a bad certificate fails the start.
        let tls = match f.get("winrm-https") {
            Some(_) => {
                let need = |k: &str| {
                    f.get(k).map(PathBuf::from).ok_or_else(|| {
                        anyhow::anyhow!("--{k} is required with --winrm-https\n{USAGE}")
                    })
                };
                Some(
                    winsim::winrm::tls_config(&need("tls-cert")?, &need("tls-key")?)
                        .map_err(|e| anyhow::anyhow!("--winrm-https: {e}"))?,
                )
            }
            None => None,
        };
        if let Some(addr) = f.get("winrm-http") {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("--winrm-http {addr}: {e}"))?;
            eprintln!("winsim: winrm http listening on {addr}");
            let server = Arc::clone(&server);
            tasks.push((
                format!("WinRM HTTP on {addr}"),
                tokio::spawn(async move { Ok(server.serve_http(l).await?) }),
            ));
        }
        if let (Some(addr), Some(tls)) = (f.get("winrm-https"), tls) {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("--winrm-https {addr}: {e}"))?;
            eprintln!("winsim: winrm https listening on {addr}");
            let server = Arc::clone(&server);
            tasks.push((
                format!("WinRM HTTPS on {addr}"),
                tokio::spawn(async move { Ok(server.serve_https(l, tls).await?) }),
            ));
        }
    }

    if let Some(addr) = f.get("ssh") {
        let opts = winsim::ssh::SshOptions {
            listen: addr.clone(),
            host_key: PathBuf::from(
                f.get("ssh-host-key")
                    .ok_or_else(|| anyhow::anyhow!("--ssh-host-key is required with --ssh"))?,
            ),
            authorized_key: f.get("authorized-key").map(PathBuf::from),
            password: password.clone(),
            user: user.clone(),
            docker_socket: f
                .get("docker-host")
                .map(|h| h.trim_start_matches("unix://").to_string())
                .unwrap_or_else(|| "/var/run/docker.sock".into()),
        };
        let runner = runner.clone();
        tasks.push((
            format!("SSH on {addr}"),
            tokio::spawn(winsim::ssh::serve(opts, Arc::new(runner))),
        ));
    }

    if tasks.is_empty() {
        anyhow::bail!("nothing to serve: give --ssh, --winrm-http or --winrm-https\n{USAGE}");
    }
    // The front doors run until one of them stops; that one's end is winsim's.
    let (names, handles): (Vec<String>, Vec<_>) = tasks.into_iter().unzip();
    let (res, idx, _) = futures_util::future::select_all(handles).await;
    let name = &names[idx];
    match res {
        Ok(Ok(())) => anyhow::bail!("{name} stopped"),
        Ok(Err(e)) => Err(anyhow::anyhow!("{name}: {e:#}")),
        Err(e) => Err(anyhow::anyhow!("{name}: {e}")),
    }
}
