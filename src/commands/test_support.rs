//! A run context for unit tests of the commands' output: a config from text, its plan, a
//! state file in a temporary directory, quiet settings. Nothing connects anywhere.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::phases::RunContext;
use crate::settings::Settings;
use crate::state::{State, StateStore};
use crate::ui::Ui;

pub fn context(config_yaml: &str, state: State, dir: &Path) -> RunContext {
    let (config, _) = crate::config::load_str(&dir.join("cluster.yml"), config_yaml.into())
        .unwrap_or_else(|r| panic!("{}", r.render()));
    let plan = crate::plan::build(&config, &state).unwrap();
    let settings = Settings {
        concurrency: 1,
        verbose: 0,
        quiet: true,
        json: false,
        assume_yes: true,
        color: false,
        interactive: false,
        accept_new_host_keys: false,
        known_hosts: Some(dir.join("known_hosts")),
        connect_timeout: Duration::from_secs(1),
        command_timeout: Duration::from_secs(1),
        pull_timeout: Duration::from_secs(1),
        allow_reboot: false,
    };
    let ui = Arc::new(Ui::new(&settings));
    RunContext {
        settings,
        ui,
        config,
        plan,
        state: Arc::new(StateStore::new(dir.join("cluster.rwinstate"), state)),
    }
}
