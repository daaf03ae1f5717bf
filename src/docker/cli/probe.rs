//! doctor's pod-to-pod probe on a host without the Docker API (Windows over WinRM): the same
//! steps as over the API — read the probe container's address, ping from it — as scripts, with
//! the probe container running Windows' own ping.

use crate::docker::spec::POD_NETWORK;
use crate::powershell::quote;

/// What the probe container runs on a Windows host: Windows images have no `sleep`, but they
/// have ping, and `/t` pings "until interrupted" (the windows-commands ping page); Microsoft's
/// Hyper-V isolation page keeps a container running with `ping localhost -t` the same way.
pub const KEEP_ALIVE: [&str; 3] = ["ping", "/t", "127.0.0.1"];

/// Prints the container's address on the pod network (empty when it has none). Stops at the
/// first error, and when docker fails (exit code 1).
pub fn address_script(container: &str) -> String {
    format!(
        "$ErrorActionPreference = 'Stop'\ndocker container inspect -f {} {}\nif ($LASTEXITCODE -ne 0) {{ throw {} }}\n",
        quote(&format!(
            "{{{{.NetworkSettings.Networks.{POD_NETWORK}.IPAddress}}}}"
        )),
        quote(container),
        quote(&format!("reading the address of {container} failed (docker container inspect; its message is above)"))
    )
}

/// Windows' ping of `address`, once: `/n 1` sends one echo request, `/w 2000` waits 2000 ms
/// for the reply (the windows-commands ping page; Linux's `-c 1 -W 2` are no Windows options).
pub fn ping_command(address: &str) -> Vec<String> {
    ["ping", "/n", "1", "/w", "2000", address]
        .map(String::from)
        .to_vec()
}

/// Pings each address once from inside `container` with Windows' ping ([`ping_command`]);
/// prints `ok ADDR` or `fail ADDR` per line. A failed ping is an answer, not an error (its
/// exit code is read); anything else stops it.
pub fn ping_script(container: &str, addresses: &[String]) -> String {
    let mut s = String::from("$ErrorActionPreference = 'Stop'\n");
    for a in addresses {
        let ping = ping_command(a);
        s.push_str(&format!(
            "docker exec {} {} {} | Out-Null\nif ($LASTEXITCODE -eq 0) {{ Write-Output {} }} else {{ Write-Output {} }}\n",
            quote(container),
            ping[..5].join(" "),
            quote(a),
            quote(&format!("ok {a}")),
            quote(&format!("fail {a}"))
        ));
    }
    s
}

/// Read `ping_script`'s answer: address → reached.
pub fn parse_pings(stdout: &str) -> Vec<(String, bool)> {
    stdout
        .lines()
        .filter_map(|l| {
            let (verdict, addr) = l.trim().split_once(' ')?;
            Some((addr.to_string(), verdict == "ok"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_quote_and_answers_parse() {
        assert_eq!(
            address_script("rwin-probe"),
            "$ErrorActionPreference = 'Stop'\ndocker container inspect -f '{{.NetworkSettings.Networks.rwin.IPAddress}}' 'rwin-probe'\nif ($LASTEXITCODE -ne 0) { throw 'reading the address of rwin-probe failed (docker container inspect; its message is above)' }\n"
        );
        let s = ping_script("rwin-probe", &["10.42.0.2".into()]);
        assert!(
            s.contains("docker exec 'rwin-probe' ping /n 1 /w 2000 '10.42.0.2'"),
            "{s}"
        );
        assert_eq!(
            parse_pings("ok 10.42.0.2\r\nfail 10.42.1.2\n"),
            vec![("10.42.0.2".into(), true), ("10.42.1.2".into(), false)]
        );
    }
}
