//! `renoise-socket connect`.
use std::process::ExitCode;

/// Options of `connect`.
#[derive(clap::Args)]
pub struct ConnectArgs {
    host: String,
    port: u16,
}

pub fn connect(_args: ConnectArgs) -> Result<ExitCode, String> {
    Err("not yet".into())
}
