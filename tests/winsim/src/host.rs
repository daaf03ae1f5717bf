//! The simulated host as the front doors see it: the state file, the effects, and one lock so
//! commands from SSH and WinRM run one at a time, as they change one machine.

use crate::cmdlets::reboot::Power;
use crate::effects::Effects;
use crate::runner::{CommandRunner, Launch, Output};
use crate::state::WinState;
use futures_util::future::BoxFuture;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What a running script acts on.
pub struct Ctx<'h> {
    pub state: &'h mut WinState,
    pub fx: &'h Effects,
    /// The process's environment variables beyond the host's own (`$env:NAME`).
    pub env: &'h [(String, String)],
    /// The console code page the process starts in (codepage.rs): stdin is read and output
    /// written in it until the script sets `[Console]::InputEncoding`/`OutputEncoding`.
    pub codepage: u32,
}

/// The host: state file plus effects. Implements [`CommandRunner`].
pub struct Host {
    pub state_path: PathBuf,
    pub fx: Effects,
    lock: Mutex<()>,
}

impl Host {
    /// Opens the host, creating its state from the namespace when the file does not exist yet.
    pub fn open(state_path: PathBuf, fx: Effects) -> anyhow::Result<Host> {
        if !state_path.exists() {
            WinState::fresh(&fx.snapshot()).save(&state_path)?;
        }
        let mut state = WinState::load(&state_path)?;
        // A state file written before winsim read eth0's MAC has 00-00-… on "Ethernet" and its
        // vEthernet adapter: take the real one now.
        const NO_MAC: &str = "00-00-00-00-00-00";
        if !fx.dry && state.adapters.iter().any(|a| a.mac == NO_MAC) {
            let mac = fx.snapshot().mac;
            if mac != NO_MAC {
                for a in state.adapters.iter_mut().filter(|a| a.mac == NO_MAC) {
                    if a.linux_dev == "eth0" || a.uplink.as_deref() == Some("eth0") {
                        a.mac = mac.clone();
                    }
                }
                state.save(&state_path)?;
            }
        }
        Ok(Host {
            state_path,
            fx,
            lock: Mutex::new(()),
        })
    }

    /// Whether the host answers (not while it restarts). Read without the command lock, which
    /// a long command holds (the state file is replaced whole, so reading it is safe): the
    /// front doors ask this from their async tasks. A boot whose time has come is applied by
    /// the next command.
    /// Also unreachable while an external vSwitch binds the NIC the front doors are reached
    /// through (`nic_down_until_ms`; native/docker.rs): its connections drop meanwhile.
    pub fn reachable(&self) -> bool {
        WinState::load(&self.state_path).map_or(true, |s| {
            let now = crate::state::now_ms();
            crate::cmdlets::reboot::power_at(&s, now) == Power::Up
                && s.nic_down_until_ms.is_none_or(|t| now >= t)
        })
    }

    /// Brings a restart under way up to now, saving what a boot changed.
    fn advance(&self, state: &mut WinState) -> Result<Power, String> {
        let restarting = state.restart.is_some();
        let power = crate::cmdlets::reboot::advance(state, &self.fx, crate::state::now_ms());
        if restarting && state.restart.is_none() {
            state.save(&self.state_path).map_err(|e| format!("{e:#}"))?;
        }
        power
    }

    /// Runs one command line to completion: load the state, run, save. While the host
    /// restarts nothing runs (the front doors drop such connections). The process starts in
    /// the host's OEM code page, as a command from an OpenSSH session does.
    pub fn run_sync(&self, command_line: &str, stdin: &[u8]) -> Output {
        self.run_with(command_line, stdin, &Launch::default())
    }

    /// [`Host::run_sync`] with the process started as `launch` says (environment variables,
    /// console code page).
    pub fn run_with(&self, command_line: &str, stdin: &[u8], launch: &Launch) -> Output {
        let codepage = launch.codepage.unwrap_or(crate::codepage::OEM);
        if let Err(e) = crate::codepage::is_known(codepage) {
            return fail(format!("{e}\n"));
        }
        let _one_at_a_time = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut state = match WinState::load(&self.state_path) {
            Ok(s) => s,
            Err(e) => return fail(format!("winsim: {e:#}\n")),
        };
        match self.advance(&mut state) {
            Ok(Power::Up) => {}
            Ok(Power::Down) => {
                return fail(
                    "winsim: the host is restarting: it answers nothing until it has booted\n"
                        .into(),
                )
            }
            Err(e) => return fail(format!("winsim: effect of the boot failed: {e}\n")),
        }
        if state.auditing {
            state.process_events.push(command_line.to_string());
        }
        // The shell's own variables (WinRS's rsp:Environment) first: they are set on top of
        // the logon session's.
        let mut env = launch.env.clone();
        env.extend(state.logon_environment());
        let mut out = {
            let mut ctx = Ctx {
                state: &mut state,
                fx: &self.fx,
                env: &env,
                codepage,
            };
            crate::ps::run_command_line(&mut ctx, command_line, stdin)
        };
        if let Err(e) = state.save(&self.state_path) {
            out.stderr
                .extend_from_slice(format!("winsim: {e:#}\n").as_bytes());
        }
        out
    }
}

fn fail(msg: String) -> Output {
    Output {
        stdout: Vec::new(),
        stderr: msg.into_bytes(),
        code: 1,
    }
}

/// [`Host`] behind an `Arc`, for the async front doors.
#[derive(Clone)]
pub struct SharedHost(pub Arc<Host>);

impl CommandRunner for SharedHost {
    fn reachable(&self) -> bool {
        self.0.reachable()
    }

    fn run<'a>(&'a self, command_line: &'a str, stdin: &'a [u8]) -> BoxFuture<'a, Output> {
        self.launch(command_line, stdin, &NO_LAUNCH)
    }

    fn launch<'a>(
        &'a self,
        command_line: &'a str,
        stdin: &'a [u8],
        launch: &'a Launch,
    ) -> BoxFuture<'a, Output> {
        let host = self.0.clone();
        let line = command_line.to_string();
        let input = stdin.to_vec();
        let launch = launch.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || host.run_with(&line, &input, &launch))
                .await
                .unwrap_or_else(|e| fail(format!("winsim: command panicked: {e}\n")))
        })
    }
}

/// How an OpenSSH session starts a command: no extra environment, the OEM code page.
static NO_LAUNCH: Launch = Launch {
    env: Vec::new(),
    codepage: None,
};
