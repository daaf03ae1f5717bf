//! rwin's Windows teardown script, run through winsim's interpreter (effects dry), reports what
//! actually happened to each thing it undoes, not what it asked for. The failing case is a
//! documented Windows behaviour: Stop-Service refuses to stop a service that running services
//! depend on, unless -Force ("-Force: Forces cmdlets to stop a service even if it has
//! dependent services",
//! https://learn.microsoft.com/powershell/module/microsoft.powershell.management/stop-service?view=powershell-5.1).
//! rwin does not pass -Force: the dependents are not rwin's to stop.

use rwin::os::windows::{script_command, teardown_script, Teardown, TurnedOn};
use winsim::effects::Effects;
use winsim::host::Host;
use winsim::state::{Service, WinState};

struct Scratch(std::path::PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A host on which rwin had started RemoteAccess, made it Automatic (it was Manual) and set
/// IPEnableRouter; `dependent` adds a running service of someone else's that needs RemoteAccess.
fn host(tag: &str, dependent: bool) -> (Host, std::path::PathBuf, Scratch) {
    let dir = std::env::temp_dir().join(format!("winsim-teardown-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("state.json");
    // Open once to write the stock state, then change it as rwin's up would have left it.
    drop(Host::open(path.clone(), Effects::new(true, "unix:///nonexistent")).expect("host"));
    let mut st = WinState::load(&path).expect("state");
    // As Install-WindowsFeature RemoteAccess, Install-RemoteAccess, Set-Service and
    // Start-Service in rwin's apply script leave it.
    st.features
        .insert("RemoteAccess".into(), "Installed".into());
    st.features.insert("Routing".into(), "Installed".into());
    st.services.retain(|s| s.name != "RemoteAccess");
    st.services.push(Service {
        name: "RemoteAccess".into(),
        status: "Running".into(),
        start_type: "Automatic".into(),
        bin_path: "C:\\Windows\\System32\\svchost.exe -k netsvcs".into(),
        depend: Vec::new(),
        failure_actions: None,
        delete_pending: false,
    });
    if dependent {
        st.services.push(Service {
            name: "contoso-vpn".into(),
            status: "Running".into(),
            start_type: "Automatic".into(),
            bin_path: "C:\\contoso\\vpn.exe".into(),
            depend: vec!["RemoteAccess".into()],
            failure_actions: None,
            delete_pending: false,
        });
    }
    st.save(&path).expect("save");
    let host = Host::open(path.clone(), Effects::new(true, "unix:///nonexistent")).expect("host");
    let set = "Set-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters' -Name 'IPEnableRouter' -Value 1 -Type DWord";
    let out = host.run_sync(&script_command(), set.as_bytes());
    assert_eq!(out.code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    (host, path, Scratch(dir))
}

fn teardown() -> Teardown {
    Teardown {
        cluster: "demo".into(),
        turned_on: TurnedOn {
            remote_access_started: true,
            remote_access_start_type: Some("Manual".into()),
            ip_enable_router: true,
            ..TurnedOn::default()
        },
        ..Teardown::default()
    }
}

fn lines(host: &Host) -> Vec<String> {
    let out = host.run_sync(&script_command(), teardown_script(&teardown()).as_bytes());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("removed=") || l.starts_with("left=") || l.starts_with("reboot="))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_removal_that_worked_is_reported_removed() {
    let (host, path, _dir) = host("ok", false);
    let got = lines(&host);
    assert!(
        got.contains(&"removed=RemoteAccess service running (rwin had started it)".to_string()),
        "{got:#?}"
    );
    assert!(
        got.contains(&"removed=RemoteAccess automatic start (back to Manual)".to_string()),
        "{got:#?}"
    );
    assert!(
        got.contains(&"removed=IPEnableRouter=1 (rwin had set it)".to_string()),
        "{got:#?}"
    );
    assert!(!got.iter().any(|l| l.starts_with("left=")), "{got:#?}");
    let st = WinState::load(&path).expect("state");
    let ra = st.service("RemoteAccess").expect("RemoteAccess");
    assert_eq!(
        (ra.status.as_str(), ra.start_type.as_str()),
        ("Stopped", "Manual")
    );
}

#[test]
fn a_removal_that_failed_is_reported_left_not_removed() {
    let (host, path, _dir) = host("dependent", true);
    let got = lines(&host);
    assert!(
        got.contains(
            &"left=RemoteAccess service running (Stop-Service failed; services that depend on it may still run)"
                .to_string()
        ),
        "a refused Stop-Service is reported as left: {got:#?}"
    );
    assert!(
        !got.iter()
            .any(|l| l.starts_with("removed=RemoteAccess service running")),
        "and not as removed: {got:#?}"
    );
    let st = WinState::load(&path).expect("state");
    assert_eq!(
        st.service("RemoteAccess").expect("RemoteAccess").status,
        "Running",
        "the dependent's RemoteAccess was left running"
    );
    assert_eq!(
        st.service("contoso-vpn").expect("contoso-vpn").status,
        "Running",
        "rwin stopped nobody else's service"
    );
}
