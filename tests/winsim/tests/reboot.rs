//! Restart-Computer as Windows does it, through winsim's WinRM front door (HTTP, NTLM, effects
//! dry) with rwin's own WinRM transport: the command returns, the host keeps answering while it
//! shuts down, then drops its connections and refuses new ones until it has booted, and then
//! reports a new LastBootUpTime (Win32_OperatingSystem, read with Get-CimInstance). Times are
//! a tenth of winsim's default shutdown (10 s, see cmdlets/reboot.rs); the boot takes 1.5 s.
//! rwin's wait after Restart-Computer, at a tenth of its real timing, must end only once the
//! host has restarted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rwin::os::windows::{facts_script, parse_facts, script_command, WindowsFacts};
use rwin::os::DesiredHost;
use rwin::phases::{wait_for_reboot, Boot, RebootWait};
use rwin::secret::Secret;
use rwin::transport::winrm::{HttpOptions, WinrmTarget, WinrmTransport};
use rwin::transport::Transport;
use winsim::effects::Effects;
use winsim::host::{Host, SharedHost};
use winsim::state::{RestartTiming, WinState};
use winsim::winrm::{Users, WinrmServer};

const USER: &str = "Administrator";
const PASSWORD: &str = "Winsim-Passw0rd!";
const SHUTDOWN: Duration = Duration::from_millis(1000);
const BOOT: Duration = Duration::from_millis(1500);

struct Scratch(std::path::PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// winsim's WinRM over HTTP on 127.0.0.1, restarts taking SHUTDOWN then BOOT.
async fn winsim(tag: &str) -> (u16, std::path::PathBuf, Scratch) {
    let dir = std::env::temp_dir().join(format!("winsim-reboot-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("state.json");
    drop(Host::open(path.clone(), Effects::new(true, "unix:///nonexistent")).expect("host"));
    let mut st = WinState::load(&path).expect("state");
    st.restart_timing = RestartTiming {
        shutdown_ms: SHUTDOWN.as_millis() as u64,
        boot_ms: BOOT.as_millis() as u64,
    };
    // Booted a while ago, as a host rwin meets.
    st.last_boot_ms -= 3_600_000;
    st.save(&path).expect("save");
    let host = Host::open(path.clone(), Effects::new(true, "unix:///nonexistent")).expect("host");
    let runner = Arc::new(SharedHost(Arc::new(host)));
    let server = WinrmServer::new(runner, Users::new([(USER, PASSWORD)]));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(server.serve_http(l));
    (port, path, Scratch(dir))
}

async fn connect(port: u16) -> Result<Arc<WinrmTransport>, String> {
    let mut http = HttpOptions::http_ntlm("127.0.0.1", USER, Secret::new(PASSWORD));
    http.port = port;
    http.connect_timeout = Duration::from_secs(2);
    http.operation_timeout = Duration::from_secs(2);
    WinrmTransport::connect(WinrmTarget {
        node: "win1".into(),
        http,
        command_timeout: Duration::from_secs(5),
        env: Vec::new(),
    })
    .await
    .map_err(|e| e.to_string())
}

fn desired() -> DesiredHost {
    DesiredHost {
        cluster: "demo".into(),
        node: "win1".into(),
        ..DesiredHost::default()
    }
}

/// rwin's facts of the host over `t`.
async fn facts(t: &WinrmTransport) -> Result<WindowsFacts, String> {
    let o = t
        .exec(&script_command(), Some(facts_script(&desired()).as_bytes()))
        .await
        .map_err(|e| e.to_string())?;
    if o.code != 0 {
        return Err(format!("exit {}: {}", o.code, o.stderr));
    }
    parse_facts(&o.stdout)
}

async fn boot_time(t: &WinrmTransport) -> Result<String, String> {
    let script = "[string](Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime).LastBootUpTime";
    let o = t
        .exec(&script_command(), Some(script.as_bytes()))
        .await
        .map_err(|e| e.to_string())?;
    if o.code != 0 {
        return Err(format!("exit {}: {}", o.code, o.stderr));
    }
    Ok(o.stdout.trim().to_string())
}

async fn restart(t: &WinrmTransport) {
    let o = t
        .exec(
            &script_command(),
            Some(rwin::os::windows::reboot_script().as_bytes()),
        )
        .await
        .expect("Restart-Computer answers");
    assert!(o.stdout.contains("rwin: done"), "{o:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_computer_drops_the_host_for_a_while_then_it_has_a_new_boot_time() {
    let (port, _path, _d) = winsim("winsim").await;
    let t = connect(port).await.expect("connects");
    let before = boot_time(&t).await.expect("boot time");
    assert_eq!(before.len(), "MM/dd/yyyy HH:mm:ss".len(), "{before}");
    let at = Instant::now();
    restart(&t).await;
    // Shutting down: it still answers, with the same boot.
    assert_eq!(boot_time(&t).await.as_deref(), Ok(before.as_str()));
    // Down: the open connection is dropped, a new one refused.
    tokio::time::sleep((SHUTDOWN + Duration::from_millis(400)).saturating_sub(at.elapsed())).await;
    let dropped = boot_time(&t).await;
    assert!(dropped.is_err(), "{dropped:?}");
    let refused = connect(port).await;
    assert!(refused.is_err(), "a new connection while the host is down");
    // Booted: a new connection, a new boot time.
    tokio::time::sleep((SHUTDOWN + BOOT + Duration::from_millis(400)).saturating_sub(at.elapsed()))
        .await;
    let t = connect(port).await.expect("connects after the boot");
    let after = boot_time(&t).await.expect("boot time");
    assert_ne!(after, before);
}

/// rwin's wait after Restart-Computer, at a tenth of its real timing (against winsim's tenth):
/// when it says the host is back, the host must have restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rwin_waits_until_the_host_has_booted_again() {
    let (port, path, _d) = winsim("rwin").await;
    let t = connect(port).await.expect("connects");
    let before = facts(&t).await.expect("facts");
    let booted = WinState::load(&path).expect("state").last_boot_ms;
    restart(&t).await;
    let timing = RebootWait {
        wait: Duration::from_secs(60),
        retry: Duration::from_millis(500),
    };
    let ask = || async move {
        let t = connect(port).await?;
        let f = facts(&t).await?;
        let boot = Boot {
            time: f.last_boot.clone(),
            pending: f.reboot_pending,
        };
        Ok(((t, f), boot))
    };
    let booted_before = before
        .last_boot
        .clone()
        .expect("the facts have the boot time");
    let back = wait_for_reboot(&booted_before, timing, ask)
        .await
        .expect("the host comes back");
    let st = WinState::load(&path).expect("state");
    assert!(
        st.restart.is_none() && st.last_boot_ms != booted,
        "rwin carried on before the host restarted (it was still shutting down: {:?})",
        st.restart
    );
    assert_ne!(back.connection.1.last_boot, before.last_boot);
}
