//! `HostOs`: everything rwin does differently per operating system, behind one interface. The
//! plan picks each node's implementation once (`PlannedNode::host_os`); phases and commands
//! call it and never branch on the OS. Adding an OS is one folder under `os/` with an
//! implementation, and one arm in [`host_os`].

use std::fmt;

use std::collections::BTreeMap;

use super::service::HostServices;
use super::{Check, DesiredHost, HostChange, OsFacts, PortMappingChange};
use crate::config::Os;
use crate::docker::ensure::{ContainerChange, Existing};
use crate::docker::spec::ContainerSpec;
use crate::docker::Endpoint;
use crate::state::HostRecord;

pub trait HostOs: Send + Sync + fmt::Debug {
    fn os(&self) -> Os;

    /// The command that runs a script read from standard input, as `user`.
    fn script_command(&self, user: &str) -> String;

    /// The read-only script that reports the host's configuration, and its answer read.
    fn facts_script(&self, d: &DesiredHost) -> String;
    fn parse_facts(&self, stdout: &str) -> Result<OsFacts, String>;

    /// Every change the host's own configuration needs, in the order they are applied.
    fn diff(&self, d: &DesiredHost, f: &OsFacts) -> Vec<HostChange>;
    /// What stops rwin from changing this host at all, in words that say how to fix it.
    fn blockers(&self, d: &DesiredHost, f: &OsFacts) -> Vec<String>;
    /// The one script that makes `changes`.
    fn apply_script(&self, d: &DesiredHost, changes: &[HostChange]) -> String;
    /// Whether the apply script's answer says a reboot is needed for all of it to take effect.
    fn reboot_needed_after(&self, stdout: &str) -> bool;
    /// Record in `rec` what applying `changes` made, so teardown undoes exactly that (`facts`:
    /// the host as it was before).
    fn record(&self, rec: &mut HostRecord, facts: Option<&OsFacts>, changes: &[HostChange]);

    /// Where a streaming transport reaches the Docker API (`docker_socket`: the node's setting),
    /// and the same as messages name it.
    fn docker_endpoint(&self, docker_socket: &str) -> Endpoint;
    fn docker_endpoint_text(&self, docker_socket: &str) -> String;
    /// Whether the pod network is made and read through the container engine (Linux), rather
    /// than by the host script (Windows: HNS options and the gateway on the host adapter).
    fn engine_makes_network(&self, d: &DesiredHost) -> bool;
    /// Why an engine-made network with the right subnet and gateway must still be recreated.
    fn network_drift(&self, d: &DesiredHost, f: &OsFacts) -> Option<String>;
    /// Options the engine's pod network is created with.
    fn network_options(&self) -> BTreeMap<String, String>;
    /// Whether these host changes recreate the pod network (where the host script makes it):
    /// the containers on it must then be replaced, as for an engine-made network recreated.
    fn host_changes_recreate_network(&self, changes: &[HostChange]) -> bool {
        let _ = changes;
        false
    }

    /// Whether the host needs a reboot: it says one is pending, or a planned change takes
    /// full effect only after one.
    fn reboot_needed(&self, f: Option<&OsFacts>, changes: &[HostChange]) -> bool;
    /// The script that restarts the host, if rwin can restart this OS (`--allow-reboot`).
    fn reboot_script(&self) -> Option<String>;

    /// The script that removes what `rec` says rwin made (`f`: the host's facts, if read), what
    /// the progress line says meanwhile, and whether the engine's containers and network go
    /// through the engine first (otherwise the script removes them).
    fn teardown_script(&self, d: &DesiredHost, f: Option<&OsFacts>, rec: &HostRecord) -> String;
    fn teardown_step(&self) -> &'static str;
    fn engine_removes_containers(&self) -> bool;
    /// The OS's own items `remove-host` lists before removing them, as lines of that listing.
    fn removal_items(&self, rec: &HostRecord, cluster: &str) -> Vec<String>;

    /// `doctor`'s checks of the host's own configuration.
    fn checks(&self, d: &DesiredHost, f: &OsFacts) -> Vec<Check>;
    /// Whether those checks cover the container engine and its network (Windows), so
    /// `doctor` does not add its generic rows for them.
    fn checks_cover_engine(&self) -> bool;
    /// The host's clock (seconds since the epoch) when its facts were read, if they carry it.
    fn clock(&self, f: &OsFacts) -> Option<f64>;
    /// When the host last booted, as its facts give it (a restart is over once this changes).
    fn boot_time(&self, f: &OsFacts) -> Option<String>;

    /// `doctor --probe`: what keeps the probe container running, and one ping of `ip` from it
    /// (one echo request, 2 s for the reply), in the commands this OS's images have.
    fn probe_keep_alive(&self) -> Vec<String>;
    fn probe_ping(&self, ip: &str) -> Vec<String>;

    /// The containers of `instances` as they must run on this host, where that differs from
    /// the plan's (Windows: the image for the host's build), and what stops that.
    fn host_specs(
        &self,
        _config: &crate::config::Config,
        _instances: &[&ContainerSpec],
        _f: &OsFacts,
    ) -> (BTreeMap<String, ContainerSpec>, Vec<String>) {
        (BTreeMap::new(), Vec::new())
    }

    /// After the container of a component that publishes ports starts: the script that
    /// publishes them (Windows: RRAS NAT port mappings to the container's address), the
    /// container's address as its answer gives it, and the record of what it made.
    fn publish_script(&self, _c: &PortMappingChange) -> String {
        String::new()
    }
    fn published_address(&self, _stdout: &str) -> Option<std::net::Ipv4Addr> {
        None
    }
    fn record_published(
        &self,
        _rec: &mut HostRecord,
        _c: &PortMappingChange,
        _ip: std::net::Ipv4Addr,
    ) {
    }

    /// How this OS runs service components (host processes), if it does.
    fn services(&self) -> Option<&'static dyn HostServices> {
        None
    }

    /// What publishing ports needs besides the container (Windows: RRAS NAT port mappings to
    /// the container's address), per component that publishes any.
    fn port_mappings(
        &self,
        _d: &DesiredHost,
        _f: &OsFacts,
        _containers: &[(String, ContainerChange)],
        _found: &BTreeMap<String, Option<Existing>>,
    ) -> Vec<PortMappingChange> {
        Vec::new()
    }
}

/// The implementation for `os`.
pub fn host_os(os: Os) -> &'static dyn HostOs {
    match os {
        Os::Linux => &super::linux::Linux,
        Os::Windows => &super::windows::Windows,
    }
}
