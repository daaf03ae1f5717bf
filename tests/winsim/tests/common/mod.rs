//! What the tests that run rwin's scripts through winsim share: a scratch host with dry
//! effects, set up by the test, and the desired state of node win1.

use rwin::os::{DesiredHost, WindowsDesired};
use winsim::effects::Effects;
use winsim::host::Host;
use winsim::state::WinState;

/// A scratch directory removed at the end of the test.
pub struct Scratch(std::path::PathBuf);
impl Scratch {
    /// The directory (it also holds the host's state.json).
    #[allow(dead_code)] // only some of the test binaries that share this module use it
    pub fn dir(&self) -> &std::path::Path {
        &self.0
    }
}
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh winsim host (dry effects: its Ethernet, ifIndex 6, holds 10.0.0.11/24 and the
/// default route), changed by `setup`.
pub fn host(tag: &str, setup: impl FnOnce(&mut WinState)) -> (Host, Scratch) {
    let dir = std::env::temp_dir().join(format!("winsim-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("state.json");
    drop(Host::open(path.clone(), Effects::new(true, "unix:///nonexistent")).expect("host"));
    let mut st = WinState::load(&path).expect("state");
    setup(&mut st);
    st.save(&path).expect("save");
    let host = Host::open(path, Effects::new(true, "unix:///nonexistent")).expect("host");
    (host, Scratch(dir))
}

/// Node win1 of a two-node cluster: this host, 10.0.0.11, with a route to lin1's subnet.
pub fn desired(outbound_nat: bool) -> DesiredHost {
    DesiredHost {
        cluster: "demo".into(),
        subnet: "10.42.1.0/24".parse().expect("a subnet"),
        gateway: "10.42.1.1".parse().expect("an address"),
        cluster_cidr: "10.42.0.0/16".parse().expect("a range"),
        outbound_nat,
        routes: vec![(
            "10.42.0.0/24".parse().expect("a subnet"),
            "10.0.0.10".parse().expect("an address"),
            "lin1".into(),
        )],
        node: "win1".into(),
        internal_address: "10.0.0.11".parse().expect("an address"),
        node_addresses: vec![
            "10.0.0.10".parse().expect("an address"),
            "10.0.0.11".parse().expect("an address"),
        ],
        plain_bridge: false,
        allow_reboot: false,
        published: Vec::new(),
        windows: WindowsDesired::default(),
    }
}

/// Where rwin looks for devcon.exe.
pub const DEVCON: &str = rwin::os::windows::DEVCON;

/// The user put Microsoft's devcon.exe where rwin looks for it, so rwin can make the
/// container network's loopback adapter (no Windows ships devcon: BEHAVIOURS.md).
pub fn put_devcon(st: &mut WinState) {
    st.put_user_file(DEVCON);
}
