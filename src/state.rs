//! The state file (`<config stem>.rwinstate`, JSON, mode 0600, written atomically): subnet
//! allocations and everything rwin created on each host, so re-runs keep subnets stable and
//! teardown and drift repair know what to undo. Losing it must never silently renumber (rke#1446).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

pub mod lock;
pub mod windows;

pub use lock::{LockError, StateLock};

pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub version: u32,
    pub cluster_name: String,
    /// Node name → its container subnet. Kept until the node is removed with `remove-host`.
    pub subnets: BTreeMap<String, Ipv4Net>,
    pub hosts: BTreeMap<String, HostRecord>,
}

/// What rwin created or changed on one host.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct HostRecord {
    pub address: String,
    /// How to reach the host again once it has left cluster.yml (teardown needs it).
    pub port: u16,
    pub user: String,
    /// The node's own ssh_key_path and docker_socket, if it had them (not secrets: paths).
    pub ssh_key_path: Option<std::path::PathBuf>,
    pub docker_socket: Option<String>,
    pub os: String,
    /// The node's `labels` and `public_address` from cluster.yml, as of the last `up`.
    pub labels: BTreeMap<String, String>,
    pub public_address: Option<String>,
    /// rwin switched IPv4 forwarding on (it was off): teardown switches it back off.
    pub forwarding_enabled_by_rwin: bool,
    pub sysctl_dropin: Option<String>,
    pub boot_routes_unit: Option<String>,
    pub network: Option<String>,
    pub masquerade: bool,
    pub routes: BTreeSet<RouteRecord>,
    pub components: BTreeSet<String>,
    /// How the node was reached: "ssh" or "winrm" (WinRM port/https/auth/user below).
    pub connection: Option<String>,
    pub winrm: Option<WinrmRecord>,
    /// What rwin did on a Windows node beyond routes and containers.
    pub windows: Option<WindowsRecord>,
}

/// A WinRM endpoint, without its password (the password_env variable's name is kept, so a
/// node that left cluster.yml can still be reached for teardown).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WinrmRecord {
    pub port: u16,
    pub https: bool,
    pub auth: String,
    pub user: String,
    pub password_env: Option<String>,
}

/// What rwin changed on a Windows node, so teardown undoes exactly that.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WindowsRecord {
    pub turned_on: windows::TurnedOn,
    pub nat_interfaces: Vec<String>,
    pub host_routes: Vec<Ipv4Addr>,
    pub gateway: Option<Ipv4Net>,
    /// RRAS NAT port mappings made for published component ports, as the NAT dump shows them.
    pub port_mappings: Vec<windows::NatPortMapping>,
    /// Windows services of service components, and the files uploaded for them.
    pub services: Vec<windows::ServiceRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RouteRecord {
    pub dest: Ipv4Net,
    pub via: Ipv4Addr,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the state file {path} is unreadable: {reason}. It holds the subnet allocations, so rwin will not guess them. Restore it from a backup, or if the cluster was never brought up, move it aside and run again")]
    Corrupt { path: PathBuf, reason: String },
    #[error("the state file {path} belongs to cluster `{found}`, not `{expected}`. Point rwin at the right cluster.yml, or move the state file aside")]
    WrongCluster {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("cannot write the state file {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Where the state of `config_path` lives: next to it, `cluster.yml` → `cluster.rwinstate`.
pub fn path_for(config_path: &Path) -> PathBuf {
    let stem = config_path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("cluster");
    config_path.with_file_name(format!("{stem}.rwinstate"))
}

impl State {
    /// Read the state file; a missing file is a new cluster.
    pub fn load(path: &Path, cluster_name: &str) -> Result<State, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    version: STATE_VERSION,
                    cluster_name: cluster_name.into(),
                    ..Default::default()
                })
            }
            Err(e) => {
                return Err(StateError::Corrupt {
                    path: path.into(),
                    reason: e.to_string(),
                })
            }
        };
        let state: State = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path: path.into(),
            reason: e.to_string(),
        })?;
        if state.version != STATE_VERSION {
            return Err(StateError::Corrupt {
                path: path.into(),
                reason: format!("version {} is not {STATE_VERSION}", state.version),
            });
        }
        if state.cluster_name != cluster_name {
            return Err(StateError::WrongCluster {
                path: path.into(),
                found: state.cluster_name,
                expected: cluster_name.into(),
            });
        }
        Ok(state)
    }

    /// Write atomically (`fsutil::write_atomic`): a new temporary file, mode 0600 from the
    /// start, in the same directory; fsync, rename, fsync the directory.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let err = |reason: String| StateError::Write {
            path: path.into(),
            reason,
        };
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| err(e.to_string()))?;
        json.push(b'\n');
        crate::fsutil::write_atomic(path, &json, crate::fsutil::Access::Private)
            .map_err(|e| err(e.to_string()))
    }

    pub fn host_mut(&mut self, node: &str) -> &mut HostRecord {
        self.hosts.entry(node.to_string()).or_default()
    }
}

/// The state shared by concurrent host tasks; every update is saved before it returns, so an
/// interrupt or a crash leaves a file that matches what was done.
pub struct StateStore {
    path: PathBuf,
    state: Mutex<State>,
    /// Changed in memory by `update_deferred` and not yet written.
    dirty: std::sync::atomic::AtomicBool,
    /// Held until the store is dropped, after its last write (fields drop after `drop`).
    _lock: Option<StateLock>,
}

impl StateStore {
    pub fn new(path: PathBuf, state: State) -> Self {
        StateStore {
            path,
            state: Mutex::new(state),
            dirty: std::sync::atomic::AtomicBool::new(false),
            _lock: None,
        }
    }

    /// The same, holding `lock` (taken before `state` was read) until the store is dropped.
    pub fn locked(path: PathBuf, state: State, lock: StateLock) -> Self {
        StateStore {
            path,
            state: Mutex::new(state),
            dirty: std::sync::atomic::AtomicBool::new(false),
            _lock: Some(lock),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn snapshot(&self) -> State {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Apply `f` and save. Returns an error if the file could not be written.
    pub fn update<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, StateError> {
        let mut guard = self.state.lock().map_err(|_| StateError::Write {
            path: self.path.clone(),
            reason: "internal lock poisoned".into(),
        })?;
        let before = guard.clone();
        let r = f(&mut guard);
        if *guard != before || self.dirty.swap(false, std::sync::atomic::Ordering::AcqRel) {
            guard.save(&self.path)?;
        }
        Ok(r)
    }

    /// Change the state in memory only; the next `update`, `flush` or drop writes it. For
    /// records made host by host in a phase (written once for all hosts at the phase's end):
    /// the file holds every host's entry, so one write per host would be quadratic in the
    /// cluster size (at 100 hosts, 100 writes of ~0.7 MB each, each with an fsync).
    pub fn update_deferred<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, StateError> {
        let mut guard = self.state.lock().map_err(|_| StateError::Write {
            path: self.path.clone(),
            reason: "internal lock poisoned".into(),
        })?;
        let r = f(&mut guard);
        self.dirty.store(true, std::sync::atomic::Ordering::Release);
        Ok(r)
    }

    /// Write what `update_deferred` changed.
    pub fn flush(&self) -> Result<(), StateError> {
        if !self.dirty.swap(false, std::sync::atomic::Ordering::AcqRel) {
            return Ok(());
        }
        let guard = self.state.lock().map_err(|_| StateError::Write {
            path: self.path.clone(),
            reason: "internal lock poisoned".into(),
        })?;
        guard.save(&self.path)
    }
}

impl Drop for StateStore {
    /// An interrupted run (Ctrl-C drops the work) still writes what it recorded.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_changes_reach_the_file_on_flush_or_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.rwinstate");
        let store = StateStore::new(path.clone(), State::load(&path, "demo").unwrap());
        store
            .update_deferred(|s| s.host_mut("n1").address = "10.0.0.1".into())
            .unwrap();
        assert!(!path.exists(), "not written yet");
        store.flush().unwrap();
        assert_eq!(
            State::load(&path, "demo").unwrap().hosts["n1"].address,
            "10.0.0.1"
        );
        store
            .update_deferred(|s| s.host_mut("n2").address = "10.0.0.2".into())
            .unwrap();
        drop(store);
        assert_eq!(
            State::load(&path, "demo").unwrap().hosts["n2"].address,
            "10.0.0.2",
            "an interrupted run still writes what it recorded"
        );
    }

    #[test]
    fn save_is_atomic_private_and_round_trips() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.rwinstate");
        let mut s = State::load(&path, "demo").unwrap();
        s.subnets
            .insert("n1".into(), "10.42.0.0/24".parse().unwrap());
        s.save(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(State::load(&path, "demo").unwrap(), s);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left behind"
        );
    }

    #[test]
    fn save_never_writes_through_a_planted_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.rwinstate");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
        // Whatever name the temporary file gets, a name someone else made first is not used.
        for name in [
            format!("c.rwinstate.tmp{}", std::process::id()),
            "c.rwinstate.tmp".to_string(),
        ] {
            std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
        }
        let mut s = State::load(&path, "demo").unwrap();
        s.subnets
            .insert("n1".into(), "10.42.0.0/24".parse().unwrap());
        s.save(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(State::load(&path, "demo").unwrap(), s);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_file(), "{meta:?}");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_failed_save_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The rename cannot replace a directory that holds a file.
        let path = dir.path().join("c.rwinstate");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), "").unwrap();
        let e = State::default().save(&path).unwrap_err().to_string();
        assert!(e.contains("cannot write the state file"), "{e}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("c.rwinstate")]);
    }

    #[test]
    fn corrupt_or_foreign_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.rwinstate");
        std::fs::write(&path, "{\"version\": 1, \"subn").unwrap();
        let e = State::load(&path, "demo").unwrap_err().to_string();
        assert!(e.contains("will not guess"), "{e}");
        State {
            version: 1,
            cluster_name: "other".into(),
            ..Default::default()
        }
        .save(&path)
        .unwrap();
        assert!(matches!(
            State::load(&path, "demo"),
            Err(StateError::WrongCluster { .. })
        ));
    }
}
