//! `renoise-socket osc send` and `osc dump`.
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum OscCommand {
    Send { host: String },
}

pub fn osc(_c: OscCommand) -> Result<ExitCode, String> {
    Err("not yet".into())
}
