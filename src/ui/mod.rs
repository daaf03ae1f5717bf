//! placeholder
pub struct Ui; impl Ui { pub fn new(_s: &crate::settings::Settings) -> Ui { Ui } pub fn error(&self, m: &str) { eprintln!("{m}") } }
