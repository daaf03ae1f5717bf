//! rwin against the Windows behaviours of issue 12, section 3 ("winsim refuses what Windows
//! refuses"), each specified in tests/winsim/BEHAVIOURS.md from its source: rwin's own
//! scripts and transport, run through winsim (effects dry), must come out the way they would
//! on a real Windows Server.

use rwin::os::windows::{apply_script, diff, facts_script, parse_facts, script_command};
use winsim::host::Host;
use winsim::runner::Output;
use winsim::state::Service;

mod common;
use common::{desired, host, put_devcon};

/// Runs a script the way rwin does (its command line, the script on stdin).
fn run(host: &Host, script: &str) -> Output {
    host.run_sync(&script_command(), script.as_bytes())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Behaviour: a cmdlet of a module the host lacks is a CommandNotFoundException, which is
/// statement-terminating: the script goes on, and powershell.exe exits 0 at its end
/// (about_Error_Handling; BEHAVIOURS.md). Here the RemoteAccess role is installed without its
/// PowerShell module, so Get-RemoteAccess and Install-RemoteAccess do not exist. rwin must
/// report a failure (the facts or the apply script exits non-zero), never success with
/// routing left unconfigured.
#[test]
fn a_missing_cmdlet_makes_rwin_fail_not_succeed() {
    let (h, _dir) = host("strict-no-ra-module", |st| {
        st.features
            .insert("RemoteAccess".into(), "Installed".into());
        st.features.insert("Routing".into(), "Installed".into());
        st.services.push(Service {
            name: "RemoteAccess".into(),
            status: "Stopped".into(),
            start_type: "Manual".into(),
            bin_path: r"C:\Windows\System32\svchost.exe -k netsvcs".into(),
            depend: Vec::new(),
            failure_actions: None,
            delete_pending: false,
        });
        st.missing_modules.push("RemoteAccess".into());
    });
    let d = desired(false);
    let facts = run(&h, &facts_script(&d));
    if facts.code != 0 {
        // rwin stops at reading the facts, and says why.
        assert!(
            text(&facts.stderr).contains("'Get-RemoteAccess' is not recognized"),
            "{}",
            text(&facts.stderr)
        );
        return;
    }
    let f = parse_facts(&text(&facts.stdout)).expect("the facts parse");
    let changes = diff(&d, &f);
    let apply = run(&h, &apply_script(&d, &changes));
    assert_ne!(
        apply.code,
        0,
        "rwin's apply script exited 0, so rwin reports success, but Install-RemoteAccess does not exist on this host and routing is not configured.\nfacts stderr:\n{}\napply stdout:\n{}\napply stderr:\n{}",
        text(&facts.stderr),
        text(&apply.stdout),
        text(&apply.stderr)
    );
}

/// Behaviour: New-NetRoute without -PolicyStore saves the route in both stores, and a
/// Get-NetRoute without -PolicyStore lists every route instance of every store, so such a
/// route twice (New-NetRoute, Get-NetRoute and MSFT_NetRoute docs; BEHAVIOURS.md). rwin's
/// second run on a host it has just converged must plan no change.
#[test]
fn a_converged_host_shows_no_change_on_the_second_run() {
    // HNS's vSwitch delay is left out (the vEthernet adapter is there at once): this test is
    // about the route stores; rwin against the delay is tests/network.rs
    // rwin_keeps_the_route_nic_out_of_the_vswitch.
    let (h, _dir) = host("strict-converge", |st| {
        st.vswitch_ms = 0;
        put_devcon(st);
    });
    let d = desired(false);
    let plan = |h: &Host| {
        let facts = run(h, &facts_script(&d));
        assert_eq!(facts.code, 0, "facts: {}", text(&facts.stderr));
        let f = parse_facts(&text(&facts.stdout)).expect("the facts parse");
        (diff(&d, &f), f)
    };
    let (first, _) = plan(&h);
    assert!(
        first.iter().any(|c| c.to_string().contains("10.42.0.0/24")),
        "a fresh host needs the route to lin1: {first:#?}"
    );
    let apply = run(&h, &apply_script(&d, &first));
    assert_eq!(apply.code, 0, "apply: {}", text(&apply.stderr));
    let (second, f) = plan(&h);
    let listed: Vec<String> = f
        .routes
        .iter()
        .filter(|r| r.dest == "10.42.0.0/24")
        .map(|r| format!("{} via {} on {}", r.dest, r.next_hop, r.if_index))
        .collect();
    assert!(
        second.is_empty(),
        "the second run plans changes on a converged host: {:#?}\nthe facts list the route to lin1 as: {listed:#?}",
        second.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
}

/// Behaviour: with WINRS_SKIP_CMD_SHELL (what rwin's WinRM transport sends, so that no
/// cmd.exe limits the line) WinRS starts the program itself and does not search PATH: a bare
/// `powershell.exe` fails with 0x80070002, the full path runs (pypsrp's recording
/// test_winrs_no_cmd_shell.yml; BEHAVIOURS.md). rwin's command must run over WinRM.
#[tokio::test(flavor = "multi_thread")]
async fn rwin_starts_powershell_over_winrm() {
    use rwin::secret::Secret;
    use rwin::transport::winrm::{HttpOptions, WinrmTarget, WinrmTransport};
    use rwin::transport::Transport;
    use std::sync::Arc;
    use winsim::host::SharedHost;
    use winsim::winrm::{Users, WinrmServer};

    let (h, _dir) = host("strict-winrm", |_| {});
    let server = WinrmServer::new(
        Arc::new(SharedHost(Arc::new(h))),
        Users::new([("Administrator", "Winsim-Passw0rd!")]),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let port = listener.local_addr().expect("an address").port();
    tokio::spawn(server.serve_http(listener));
    let mut http = HttpOptions::http_ntlm(
        "127.0.0.1",
        "Administrator",
        Secret::new("Winsim-Passw0rd!"),
    );
    http.port = port;
    http.operation_timeout = std::time::Duration::from_secs(5);
    let t = WinrmTransport::connect(WinrmTarget {
        node: "win1".into(),
        http,
        command_timeout: std::time::Duration::from_secs(30),
        env: vec![("RWIN_SECRET".into(), Secret::new("from the shell"))],
    })
    .await
    .expect("the shell opens");
    let out = t
        .exec(
            &script_command(),
            Some(b"Write-Output 'from stdin'\nWrite-Output $env:rwin_secret\n"),
        )
        .await;
    t.close().await;
    let out = out.unwrap_or_else(|e| {
        panic!(
            "rwin's command line {:?} does not start over WinRM: {e}",
            script_command()
        )
    });
    assert_eq!(
        (out.stdout.as_str(), out.code),
        ("from stdin\r\nfrom the shell\r\n", 0),
        "{}",
        out.stderr
    );
}
