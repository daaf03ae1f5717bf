//! What rwin records about a Windows node beyond routes and containers: the data only. The
//! state file holds it; `os::windows` builds scripts from it (and adds its behaviour there),
//! so the state layer needs nothing from the OS layer.

use serde::{Deserialize, Serialize};

/// What rwin switched on that was off before, so teardown switches only that back off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TurnedOn {
    pub features: Vec<String>,
    pub routing: bool,
    /// The RemoteAccess service's start type before rwin made it Automatic.
    pub remote_access_start_type: Option<String>,
    pub remote_access_started: bool,
    pub ip_enable_router: bool,
    pub nat: bool,
    /// rwin made the loopback adapter the container network is bound to.
    pub loopback: bool,
}

/// One `add portmapping` line of `netsh routing ip nat dump`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatPortMapping {
    pub interface: String,
    pub proto: String,
    pub public_ip: String,
    pub public_port: u16,
    pub private_ip: String,
    pub private_port: u16,
}

/// A service rwin made, as teardown needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceRecord {
    pub name: String,
    pub depends_on: Vec<String>,
    /// Paths of the files uploaded for it.
    pub files: Vec<String>,
}
