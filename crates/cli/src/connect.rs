//! `renoise-socket connect`: a netcat-like client on the Rust core.

use renoise_socket::{Client, Error, Mode, Protocol};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Options of `connect`.
#[derive(clap::Args)]
pub struct ConnectArgs {
    /// Host name or IP address.
    host: String,
    /// Port.
    port: u16,
    /// UDP instead of TCP: each stdin line is one datagram.
    #[arg(long)]
    udp: bool,
    /// What one received unit is: `line` (printed with a newline), `all`
    /// (whatever arrived, printed as it is) or a number of bytes.
    #[arg(long, default_value = "line", value_parser = parse_mode)]
    mode: Mode,
    /// Connect timeout, and how long to wait for more data once stdin has
    /// ended (ms).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    timeout: u64,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    match s {
        "line" | "*l" | "*line" => Ok(Mode::Line),
        "all" | "*a" | "*all" => Ok(Mode::All),
        n => match n.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Mode::Bytes(n)),
            _ => Err(format!(
                "'{s}' is not a mode: use line, all or a number of bytes > 0"
            )),
        },
    }
}

/// Runs `connect`. Exit codes: 0 when stdin ended and the peer went quiet,
/// or the peer closed the connection; 1 on errors.
pub fn connect(args: ConnectArgs) -> Result<ExitCode, String> {
    let timeout = Duration::from_millis(args.timeout.max(1));
    let protocol = if args.udp {
        Protocol::Udp
    } else {
        Protocol::Tcp
    };
    let mut client = Client::builder()
        .protocol(protocol)
        .connect_timeout(timeout)
        .connect(&args.host, args.port)
        .map_err(|e| e.to_string())?;

    // stdin on its own thread; lines come back through a channel.
    let (tx, rx) = mpsc::channel::<Option<Vec<u8>>>();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        loop {
            let mut line = Vec::new();
            match lock.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(None);
                    return;
                }
                Ok(_) => {
                    if tx.send(Some(line)).is_err() {
                        return;
                    }
                }
            }
        }
    });

    let mut stdin_done_at: Option<Instant> = None;
    let mut last_data = Instant::now();
    let out = std::io::stdout();
    loop {
        loop {
            match rx.try_recv() {
                Ok(Some(mut line)) => {
                    if args.udp && line.ends_with(b"\n") {
                        line.pop();
                        if line.ends_with(b"\r") {
                            line.pop();
                        }
                    }
                    client.send(&line).map_err(|e| e.to_string())?;
                }
                Ok(None) | Err(mpsc::TryRecvError::Disconnected) => {
                    stdin_done_at.get_or_insert_with(Instant::now);
                    break;
                }
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        match client.receive(args.mode, Duration::from_millis(20)) {
            Ok(data) => {
                let mut o = out.lock();
                let r = o.write_all(data).and_then(|_| {
                    if args.mode == Mode::Line {
                        o.write_all(b"\n")?;
                    }
                    o.flush()
                });
                if r.is_err() {
                    // stdout closed (a pipe ended): nothing more to do.
                    return Ok(ExitCode::SUCCESS);
                }
                last_data = Instant::now();
            }
            Err(Error::Timeout) => {}
            Err(Error::Disconnected) => {
                // Whatever is left of a partial unit was delivered first.
                return Ok(ExitCode::SUCCESS);
            }
            Err(e) => return Err(e.to_string()),
        }
        if let Some(done) = stdin_done_at {
            let quiet_since = done.max(last_data);
            if quiet_since.elapsed() >= timeout {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
}
