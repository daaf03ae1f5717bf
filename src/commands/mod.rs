//! placeholder
pub async fn dispatch(_c: crate::cli::Command, _s: &crate::settings::Settings, _u: &crate::ui::Ui) -> anyhow::Result<crate::ExitStatus> { todo!() }
