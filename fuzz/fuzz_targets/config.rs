//! Any bytes as cluster.yml: parsing, validation and planning must never panic, and every
//! problem must render as a report.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    match rwin::config::load_str(std::path::Path::new("fuzz.yml"), text) {
        Ok((config, warnings)) => {
            let _ = warnings.render();
            if let Ok(plan) = rwin::plan::build(&config, &rwin::state::State::default()) {
                let _ = serde_json::to_string(&plan);
            }
        }
        Err(report) => {
            let _ = report.render();
        }
    }
});
