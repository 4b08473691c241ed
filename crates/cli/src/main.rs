//! `renoise-socket`: run Renoise tool scripts outside Renoise, and talk to
//! TCP, UDP and OSC servers from the terminal. See `crates/cli/README.md`.

mod connect;
mod lua_state;
mod osc_cmd;
mod run;
mod tmp;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "renoise-socket", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Renoise tool (a `.xrnx` folder with main.lua) or a Lua script
    /// with Renoise's environment: renoise.Socket, renoise.Osc, class,
    /// renoise.tool() with idle notifiers and timers, and an event loop.
    Run(run::RunArgs),
    /// A netcat-like client: stdin lines are sent, every received unit is
    /// printed.
    Connect(connect::ConnectArgs),
    /// Send or dump OSC messages.
    Osc {
        #[command(subcommand)]
        command: osc_cmd::OscCommand,
    },
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Run(mut args) => {
            if let Some(run) = matches.subcommand_matches("run") {
                args.order_actions(run);
            }
            run::run(args)
        }
        Command::Connect(args) => connect::connect(args),
        Command::Osc { command } => osc_cmd::osc(command),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("renoise-socket: {message}");
            ExitCode::from(1)
        }
    }
}

/// How `connect` and `osc dump` end when stdout fails. A reader that went
/// away (`| head`) is a normal end, as for netcat; any other failure (a
/// full disk) loses output, which a pipeline must be told: exit code 1.
pub(crate) fn stdout_failed(e: std::io::Error) -> Result<ExitCode, String> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!("cannot write to stdout: {e}"))
    }
}

/// A path shown to a person.
pub(crate) fn shown(path: &std::path::Path) -> String {
    path.display().to_string()
}
