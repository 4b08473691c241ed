//! `renoise-socket connect`: a netcat-like client on the Rust core.

use renoise_socket::{Client, Error, Event, Mode, Protocol, Server, DEFAULT_MAX_RECEIVE_SIZE};
use std::io::{BufRead, Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Options of `connect`.
#[derive(clap::Args)]
pub struct ConnectArgs {
    /// Host name or IP address (with --listen: the address to listen on).
    host: String,
    /// Port.
    port: u16,
    /// UDP instead of TCP: each stdin line is one datagram.
    #[arg(long)]
    udp: bool,
    /// What one received unit is: `line` (printed with a newline), `all`
    /// (whatever arrived, or one datagram, printed as it is) or a number of
    /// bytes. Default: `line` over TCP, `all` over UDP.
    #[arg(long, value_parser = parse_mode)]
    mode: Option<Mode>,
    /// Connect timeout, and how long to wait for more data once stdin has
    /// ended (ms).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    timeout: u64,
    /// Listen on HOST:PORT (TCP) and talk to the first peer that connects,
    /// as `nc -l` does; waits for it at most --accept-timeout.
    #[arg(long, conflicts_with = "udp")]
    listen: bool,
    /// With --listen: how long to wait for a peer (ms).
    #[arg(long, default_value_t = 60_000, value_name = "MS", requires = "listen")]
    accept_timeout: u64,
    /// TCP: once stdin has ended, shut down the sending side (as `nc -N`),
    /// so a peer that answers after reading everything sees the end.
    #[arg(long, conflicts_with = "udp")]
    half_close: bool,
    /// TCP: give up when the peer takes nothing of a send for MS ms (exit
    /// code 1). Default 0: wait as long as the peer takes, as `nc` does.
    #[arg(long, default_value_t = 0, value_name = "MS", conflicts_with = "udp")]
    send_timeout: u64,
    /// UDP: allow a broadcast address as HOST (255.255.255.255, a
    /// subnet's): send to every host there (answers, from their own
    /// addresses, are not taken).
    #[arg(long, requires = "udp")]
    broadcast: bool,
}

/// With `--listen`: the first peer that connects to `host:port`, as a
/// client, or an error after `wait`. The core's server binds, so a name
/// listens on each of its addresses (`localhost`: 127.0.0.1 and ::1), and
/// every host is refused or reported as everywhere else.
fn accept_one(
    host: &str,
    port: u16,
    wait: Duration,
    options: renoise_socket::ClientBuilder,
) -> Result<Client, String> {
    if host.is_empty() {
        // (The core's message says to leave the address out, which a
        // command line cannot.)
        return Err("invalid argument: address must not be empty \
                    (:: or 0.0.0.0 listens on every interface)"
            .into());
    }
    let mut server = Server::builder()
        .connection_options(options)
        .bind(Some(host), port)
        .map_err(|e| e.to_string())?;
    // The peer's first bytes stay unread for the client made below.
    server.read_connections(false);
    // With port 0 the system picked the port: the peer needs to know it,
    // and so do the messages below.
    let at = renoise_socket::socket_address_text(&server.local_addr());
    if port == 0 {
        eprintln!("listening on {at}");
    }
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no peer connected to {at} within {} ms",
                wait.as_millis()
            ));
        }
        for event in server.poll(left).map_err(|e| e.to_string())? {
            match event {
                // A client of its own on the socket: the server, and its
                // hold on the connection, go when this returns.
                Event::Accepted(conn) => return conn.lock().try_clone().map_err(|e| e.to_string()),
                Event::Error(e) => return Err(format!("accept on {at}: {e}")),
                _ => {}
            }
        }
    }
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    match s {
        "line" | "*l" | "*line" => Ok(Mode::Line),
        "all" | "*a" | "*all" => Ok(Mode::All),
        n => match n.parse::<usize>() {
            Ok(n) if (1..=DEFAULT_MAX_RECEIVE_SIZE).contains(&n) => Ok(Mode::Bytes(n)),
            _ => Err(format!(
                "'{s}' is not a mode: use line, all or a number of bytes from 1 to \
                 {DEFAULT_MAX_RECEIVE_SIZE}"
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
    // A datagram is the unit a UDP peer sends: one need not end in a
    // newline, and a line read would hold it back until one comes.
    let mode = args
        .mode
        .unwrap_or(if args.udp { Mode::All } else { Mode::Line });
    // The library's default send timeout (10 s) would end the sending
    // when a peer pauses its reading that long, and the rest of stdin with
    // it; a terminal tool waits, as netcat does, unless asked not to. A
    // peer that has gone is still seen at once (a reset, or EPIPE).
    let builder = Client::builder()
        .protocol(protocol)
        .connect_timeout(timeout)
        .send_timeout(Some(Duration::from_millis(args.send_timeout)))
        .broadcast(args.broadcast);
    let mut client = if args.listen {
        let wait = Duration::from_millis(args.accept_timeout);
        accept_one(&args.host, args.port, wait, builder)?
    } else {
        builder
            .connect(&args.host, args.port)
            .map_err(|e| e.to_string())?
    };

    // stdin on its own thread, and the sends on another (a clone of the
    // client), so that the receive loop below keeps reading while a send
    // waits: a peer that answers while it is still being sent to (an echo
    // server) must not be left blocked with us blocked on it. The channel
    // is bounded: a peer slower than stdin holds stdin back, not memory.
    // (TCP takes stdin as it comes, in pieces of at most stdin's buffer;
    // UDP needs whole lines, one a datagram.)
    // A read error ends stdin as a failure, after what was read before
    // it was sent (it travels in order with the pieces).
    let (tx, rx) = mpsc::sync_channel::<Result<Vec<u8>, String>>(64);
    let udp = args.udp;
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        loop {
            let piece = match if udp {
                udp_line(&mut lock)
            } else {
                tcp_piece(&mut lock)
            } {
                Ok(Some(piece)) => Ok(piece),
                Ok(None) => return,
                Err(e) => Err(e),
            };
            let failed = piece.is_err();
            if tx.send(piece).is_err() || failed {
                return;
            }
        }
    });
    let (events, sent) = mpsc::channel::<Sent>();
    // Set while the writer is inside a send, whose failure (a stall)
    // shuts the stream down before it is told.
    let sending = Arc::new(AtomicBool::new(false));
    let in_send = sending.clone();
    let mut writer = client.try_clone().map_err(|e| e.to_string())?;
    let half_close = args.half_close;
    std::thread::spawn(move || {
        for line in rx {
            let mut line = match line {
                Ok(line) => line,
                Err(e) => {
                    let _ = events.send(Sent::Failed(e));
                    return;
                }
            };
            if udp && line.ends_with(b"\n") {
                line.pop();
                if line.ends_with(b"\r") {
                    line.pop();
                }
            }
            in_send.store(true, Ordering::SeqCst);
            let result = writer.send(&line);
            // (Left set after a failure: its event is on the way.)
            if result.is_ok() {
                in_send.store(false, Ordering::SeqCst);
            }
            match result {
                Ok(()) => {}
                // What the peer sent before is printed, then the next
                // receive reports the end.
                Err(Error::Disconnected) => {
                    let _ = events.send(Sent::PeerGone);
                    return;
                }
                Err(e) => {
                    let _ = events.send(Sent::Failed(e.to_string()));
                    return;
                }
            }
        }
        if half_close {
            if let Err(e) = writer.shutdown_send() {
                let _ = events.send(Sent::Failed(e.to_string()));
                return;
            }
        }
        let _ = events.send(Sent::AllOfStdin);
    });

    let mut stdin_done_at: Option<Instant> = None;
    let mut last_data = Instant::now();
    // Units are written to a buffer, which goes out whenever the next unit
    // is not already in the client's buffer: at once for a peer that
    // talks, in large writes for one that streams (one write per unit made
    // `--mode 16` a system call per 16 bytes). Dropping it, at every
    // return, writes what is left.
    let mut out = std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
    let newline = mode == Mode::Line;
    let print = |out: &mut std::io::BufWriter<_>, data: &[u8], newline: bool| {
        out.write_all(data)?;
        if newline {
            out.write_all(b"\n")?;
        }
        std::io::Result::Ok(())
    };
    loop {
        match sent.try_recv() {
            Ok(Sent::AllOfStdin | Sent::PeerGone) => {
                stdin_done_at.get_or_insert_with(Instant::now);
            }
            Ok(Sent::Failed(e)) => return Err(e),
            Err(_) => {}
        }
        if let Some(data) = client.receive_buffered(mode) {
            if let Err(e) = print(&mut out, data, newline) {
                // stdout closed (a pipe ended): nothing more to do.
                return crate::stdout_failed(e);
            }
            last_data = Instant::now();
            continue;
        }
        if let Err(e) = out.flush() {
            return crate::stdout_failed(e);
        }
        let buffered = client.buffered();
        match client.receive(mode, Duration::from_millis(20)) {
            Ok(data) => {
                if let Err(e) = print(&mut out, data, newline) {
                    return crate::stdout_failed(e);
                }
                last_data = Instant::now();
            }
            Err(Error::Timeout) => {
                // Bytes of an unfinished unit count as arriving data: a
                // peer sending a line slowly is not quiet.
                if client.buffered() != buffered {
                    last_data = Instant::now();
                }
            }
            Err(Error::Disconnected) => {
                // Whatever is left of a partial unit was delivered first.
                // A send that failed shuts the stream down, so its
                // failure, not the end it causes, is the outcome.
                // Waited for in steps while a send is under way (up to a
                // second), else once.
                let start = Instant::now();
                loop {
                    match sent.recv_timeout(Duration::from_millis(50)) {
                        Ok(Sent::Failed(e)) => return Err(e),
                        Err(mpsc::RecvTimeoutError::Timeout)
                            if sending.load(Ordering::SeqCst)
                                && start.elapsed() < Duration::from_secs(1) => {}
                        _ => break,
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            // A line longer than a client holds whole goes out in pieces,
            // as it came: what ends it comes with the line after.
            Err(Error::LineTooLong) => match client.receive(Mode::All, Duration::ZERO) {
                Ok(piece) => {
                    if let Err(e) = print(&mut out, piece, false) {
                        return crate::stdout_failed(e);
                    }
                    last_data = Instant::now();
                }
                Err(e) => return Err(e.to_string()),
            },
            Err(e) => return Err(e.to_string()),
        }
        if let Some(done) = stdin_done_at {
            let quiet_since = done.max(last_data);
            if quiet_since.elapsed() >= timeout {
                // What arrived but never made a whole unit (a line without
                // its newline, the start of a record) is printed as it is.
                // (Bounded: a peer still sending would keep it going.)
                for _ in 0..64 {
                    match client.receive(Mode::All, Duration::ZERO) {
                        Ok(rest) => {
                            if let Err(e) = print(&mut out, rest, false) {
                                return crate::stdout_failed(e);
                            }
                        }
                        Err(_) => break,
                    }
                }
                return match out.flush() {
                    Ok(()) => Ok(ExitCode::SUCCESS),
                    Err(e) => crate::stdout_failed(e),
                };
            }
        }
    }
}

/// The longest stdin line `--udp` sends: the largest UDP payload, with
/// room for the `\r\n` that is not sent. Reading stops there, so a line
/// too long for a datagram is refused without being held whole.
const UDP_LINE_MAX: u64 = 65_535 + 2;

/// The next stdin line for `--udp` (`None` at the end of stdin).
fn udp_line(stdin: &mut impl BufRead) -> Result<Option<Vec<u8>>, String> {
    let mut line = Vec::new();
    match stdin.take(UDP_LINE_MAX).read_until(b'\n', &mut line) {
        Ok(0) => Ok(None),
        Ok(n) if n as u64 == UDP_LINE_MAX && !line.ends_with(b"\n") => Err(format!(
            "a stdin line of more than {} bytes does not fit in one UDP datagram",
            UDP_LINE_MAX - 2
        )),
        Ok(_) => Ok(Some(line)),
        Err(e) => Err(format!("cannot read stdin: {e}")),
    }
}

/// What stdin has now, as it comes, for TCP (`None` at the end of stdin).
fn tcp_piece(stdin: &mut impl BufRead) -> Result<Option<Vec<u8>>, String> {
    loop {
        match stdin.fill_buf() {
            Ok([]) => return Ok(None),
            Ok(bytes) => {
                let piece = bytes.to_vec();
                stdin.consume(piece.len());
                return Ok(Some(piece));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read stdin: {e}")),
        }
    }
}

/// What the sending thread tells the receive loop.
enum Sent {
    /// Stdin ended and all of it was sent (and, with --half-close, the
    /// sending side shut down).
    AllOfStdin,
    /// The peer was gone: what it sent before is still to be printed.
    PeerGone,
    /// A send failed otherwise: the command ends with this message.
    Failed(String),
}
