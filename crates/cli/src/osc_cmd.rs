//! `renoise-socket osc send` and `osc dump`, with output in the style of
//! liblo's `oscsend` / `oscdump`.

use renoise_socket::framing::{Deframer, Framing};
use renoise_socket::osc::{Arg, Bundle, Message, Packet, TIMETAG_IMMEDIATELY};
use renoise_socket::{Client, ClientBuilder, Event, Peer, Protocol, Server};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::num::IntErrorKind;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Framing of OSC over TCP.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FramingArg {
    /// No framing (as Renoise): packets one after another; a message
    /// ends where its last argument does, a bundle takes all that came
    /// with it.
    None,
    /// SLIP (OSC 1.1).
    Slip,
    /// 32-bit big-endian size prefix (OSC 1.0).
    Size,
}

impl FramingArg {
    fn framing(self) -> Framing {
        match self {
            FramingArg::None => Framing::None,
            FramingArg::Slip => Framing::Slip,
            FramingArg::Size => Framing::SizePrefix,
        }
    }
}

/// `osc` subcommands.
#[derive(clap::Subcommand)]
pub enum OscCommand {
    /// Send one OSC message, e.g. `osc send localhost 8000
    /// /renoise/transport/start` or `... /x i:1 f:2.5 s:hello T`.
    Send {
        /// Host name or IP address.
        host: String,
        /// Port.
        port: u16,
        /// The OSC address, starting with '/'.
        address: String,
        /// Arguments as TAG:VALUE (i:1 f:2.5 d:2.5 h:1 s:text S:sym
        /// b:blobtext c:x r:0xff0000ff m:0x00903c7f t:1.5) or a bare T, F,
        /// N or I.
        #[arg(value_name = "TAG:VALUE")]
        args: Vec<String>,
        /// Over TCP instead of UDP.
        #[arg(long)]
        tcp: bool,
        /// Framing over TCP (default: size, as liblo's oscsend).
        #[arg(long, value_enum, default_value = "size", requires = "tcp")]
        framing: FramingArg,
        /// Send the message inside a bundle with this time, in seconds
        /// (Renoise's mapping: the number is the 32.32 timetag; 0 or a
        /// past time means "now" to most receivers).
        #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = seconds)]
        bundle: Option<f64>,
        /// UDP: allow a broadcast address as HOST (255.255.255.255, a
        /// subnet's), to reach every host there.
        #[arg(long, conflicts_with = "tcp")]
        broadcast: bool,
    },
    /// Print the OSC messages arriving on a port, one line each.
    Dump {
        /// The port to listen on (all interfaces).
        port: u16,
        /// Listen on TCP instead of UDP.
        #[arg(long)]
        tcp: bool,
        /// Framing over TCP (default: told per connection by its first
        /// byte: SLIP's END; an OSC packet itself is unframed, as Renoise
        /// sends; else a size prefix, as liblo sends).
        #[arg(long, value_enum, requires = "tcp")]
        framing: Option<FramingArg>,
        /// Exit after this many messages (the rest of a bundle or of a
        /// read is not printed).
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Exit after this many ms (exit code 0).
        #[arg(long, value_name = "MS")]
        timeout: Option<u64>,
        /// Start each line with a timetag, as liblo's oscdump does: the
        /// bundle's for a message in a bundle, the arrival time otherwise
        /// and for a bundle timed "immediately" (NTP seconds and fraction
        /// in hex, `e2a5c5e1.1a2b3c4d`).
        #[arg(long)]
        timetags: bool,
    },
}

/// Runs an `osc` subcommand.
pub fn osc(command: OscCommand) -> Result<ExitCode, String> {
    match command {
        OscCommand::Send {
            host,
            port,
            address,
            args,
            tcp,
            framing,
            bundle,
            broadcast,
        } => {
            // (A UDP client ignores the framing.)
            let over = Client::builder()
                .protocol(if tcp { Protocol::Tcp } else { Protocol::Udp })
                .framing(framing.framing())
                .broadcast(broadcast);
            send(&host, port, &address, &args, over, bundle)
        }
        OscCommand::Dump {
            port,
            tcp,
            framing,
            count,
            timeout,
            timetags,
        } => dump(port, tcp, framing, count, timeout, timetags),
    }
}

/// One argument from `TAG:VALUE`.
pub(crate) fn parse_arg(s: &str) -> Result<Arg, String> {
    let bad = |what: &str| format!("argument '{s}': {what}");
    let (tag, value) = match s.split_once(':') {
        Some((t, v)) => (t, Some(v)),
        None => (s, None),
    };
    let need = || value.ok_or_else(|| bad("needs a value, as TAG:VALUE"));
    let int = |v: &str| -> Result<i64, String> {
        let v = v.trim();
        // A sign goes before `0x` (`-0x10`), as in C and Rust source;
        // from_str_radix would take one after it too (`0x-10`).
        let (sign, digits) = match v.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", v.strip_prefix('+').unwrap_or(v)),
        };
        let hex = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"));
        let parsed = match hex {
            Some(h) if h.starts_with(['+', '-']) => return Err(bad("not a whole number")),
            Some(h) => i64::from_str_radix(&format!("{sign}{h}"), 16),
            None => v.parse::<i64>(),
        };
        parsed.map_err(|e| match e.kind() {
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => bad("out of the int64 range"),
            _ => bad("not a whole number"),
        })
    };
    let float = |v: &str| v.trim().parse::<f64>().map_err(|_| bad("not a number"));
    let u32_of = |v: &str| {
        int(v).and_then(|n| u32::try_from(n).map_err(|_| bad("must fit in 32 bits unsigned")))
    };
    Ok(match tag {
        "i" => Arg::Int(i32::try_from(int(need()?)?).map_err(|_| bad("out of the int32 range"))?),
        "h" => Arg::Long(int(need()?)?),
        "f" => Arg::Float(float(need()?)? as f32),
        "d" => Arg::Double(float(need()?)?),
        "t" => Arg::Time(float(need()?)?),
        "s" => Arg::String(need()?.as_bytes().to_vec()),
        "S" => Arg::Symbol(need()?.as_bytes().to_vec()),
        "b" => Arg::Blob(need()?.as_bytes().to_vec()),
        "c" => match need()?.as_bytes() {
            [c] => Arg::Char(*c),
            _ => return Err(bad("a char is one byte")),
        },
        "r" => Arg::Color(u32_of(need()?)?),
        "m" => Arg::Midi(u32_of(need()?)?),
        "T" | "F" | "N" | "I" if value.is_none_or(str::is_empty) => match tag {
            "T" => Arg::True,
            "F" => Arg::False,
            "N" => Arg::Nil,
            _ => Arg::Inf,
        },
        "T" | "F" | "N" | "I" => return Err(bad("T, F, N and I take no value")),
        _ => {
            return Err(bad(
                "unknown tag (use i f d h t s S b c r m, or T F N I without a value)",
            ))
        }
    })
}

/// `--bundle`'s number, with spaces around it allowed as in a `t:` argument.
fn seconds(s: &str) -> Result<f64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))
}

/// `over`: how the message reaches its host (protocol, framing, broadcast).
fn send(
    host: &str,
    port: u16,
    address: &str,
    args: &[String],
    over: ClientBuilder,
    bundle: Option<f64>,
) -> Result<ExitCode, String> {
    if !address.starts_with('/') {
        return Err(format!(
            "the OSC address must start with '/', got '{address}'"
        ));
    }
    let args = args
        .iter()
        .map(|a| parse_arg(a))
        .collect::<Result<Vec<_>, _>>()?;
    let message = Message::new(address.as_bytes().to_vec(), args);
    let bytes = match bundle {
        Some(t) => Bundle::of_messages(t, vec![message]).to_bytes(),
        None => message.to_bytes(),
    }
    .map_err(|e| e.to_string())?;
    let mut client = over.connect(host, port).map_err(|e| e.to_string())?;
    client.send(&bytes).map_err(|e| e.to_string())?;
    client.close();
    Ok(ExitCode::SUCCESS)
}

/// A number as C's `printf("%f")` prints it (`nan`, `-inf`, six decimals).
fn c_float(v: f64) -> String {
    if v.is_nan() {
        if v.is_sign_negative() { "-nan" } else { "nan" }.into()
    } else if v.is_infinite() {
        if v < 0.0 { "-inf" } else { "inf" }.into()
    } else {
        format!("{v:.6}")
    }
}

/// One argument as liblo's `lo_arg_pp` prints it, in bytes: strings,
/// symbols and chars as they came (liblo prints them with `printf`'s `%s`
/// and `%c`, whatever the encoding). `time` is the raw timetag of a `t`
/// argument (a decoded time in seconds cannot always hold its 64 bits).
fn liblo_arg(arg: &Arg, time: Option<u64>) -> Vec<u8> {
    let text = match arg {
        Arg::String(v) => return [&b"\""[..], v, b"\""].concat(),
        Arg::Symbol(v) => return [&b"'"[..], v].concat(),
        Arg::Char(c) => return vec![b'\'', *c, b'\''],
        Arg::Int(v) => v.to_string(),
        Arg::Long(v) => format!("{v}"),
        Arg::Float(v) => c_float(f64::from(*v)),
        Arg::Double(v) => c_float(*v),
        Arg::Blob(v) if v.len() > 12 => format!("[{} byte blob]", v.len()),
        Arg::Blob(v) => {
            // printf's "%#02x": "00" for a zero byte, else 0x and no padding.
            let bytes: Vec<String> = v
                .iter()
                .map(|&b| {
                    if b == 0 {
                        "00".into()
                    } else {
                        format!("{b:#x}")
                    }
                })
                .collect();
            format!("[{}b {}]", v.len(), bytes.join(" "))
        }
        Arg::Time(t) => {
            let tt =
                time.unwrap_or_else(|| renoise_socket::osc::seconds_to_timetag(*t).unwrap_or(1));
            format!("{:08x}.{:08x}", tt >> 32, tt & 0xffff_ffff)
        }
        Arg::Midi(m) => format!(
            "MIDI [0x{:02x} 0x{:02x} 0x{:02x} 0x{:02x}]",
            m >> 24,
            (m >> 16) & 0xff,
            (m >> 8) & 0xff,
            m & 0xff
        ),
        Arg::Color(c) => format!("{c:08x}"),
        Arg::True => "#T".into(),
        Arg::False => "#F".into(),
        Arg::Nil => "Nil".into(),
        Arg::Inf => "Infinitum".into(),
    };
    text.into_bytes()
}

/// A message in oscdump's format: `/path types arg arg ...`, in bytes
/// (the path and strings as they came). `times` are the exact timetags of
/// its `t` arguments, in order.
fn liblo_line(m: &Message, times: &[u64]) -> Vec<u8> {
    let mut line = m.pattern.clone();
    line.push(b' ');
    line.extend(m.args.iter().map(|a| a.tag() as u8));
    let mut times = times.iter().copied();
    for a in &m.args {
        line.push(b' ');
        let time = if matches!(a, Arg::Time(_)) {
            times.next()
        } else {
            None
        };
        line.extend(liblo_arg(a, time));
    }
    line
}

/// Seconds between NTP's epoch (1900) and Unix's (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// Now as an NTP timestamp (what oscdump prints for a lone message).
fn ntp_now() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = (d.as_secs() + NTP_UNIX_OFFSET) & 0xffff_ffff;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// Prints every message of `packet`, one line each. With `tags` (the
/// time of this level, the arrival time), each line starts with a
/// timetag: the arrival for a lone message, the bundle's for a message in
/// a bundle (the innermost one's when nested; a bundle timed
/// "immediately", nested too, gives the arrival, as oscdump has it). `raw` is the
/// packet's encoding: the timetag is printed from its 64 bits, which a
/// decoded time in seconds cannot always hold exactly. Prints at most
/// `left` messages and counts them down.
fn print_packet(
    packet: &Packet,
    raw: &[u8],
    tags: Option<(u64, u64)>,
    out: &mut impl Write,
    left: &mut u64,
) -> std::io::Result<()> {
    match packet {
        Packet::Message(_) if *left == 0 => {}
        Packet::Message(m) => {
            if let Some((t, _)) = tags {
                write!(out, "{:08x}.{:08x} ", t >> 32, t & 0xffff_ffff)?;
            }
            // Decoded again for the timetags' 64 bits (a printing path).
            let times = Message::decode_with_timetags(raw).map_or(Vec::new(), |(_, t)| t);
            out.write_all(&liblo_line(m, &times))?;
            out.write_all(b"\n")?;
            *left -= 1;
        }
        Packet::Bundle(b) => {
            // A decoded bundle is well formed: "#bundle\0", the timetag,
            // then each element as a 32-bit size and its bytes.
            let inner = tags.map(|(_, arrival)| {
                match raw
                    .get(8..16)
                    .map(|x| u64::from_be_bytes(x.try_into().unwrap()))
                {
                    Some(TIMETAG_IMMEDIATELY) | None => (arrival, arrival),
                    Some(own) => (own, arrival),
                }
            });
            let mut rest = raw.get(16..).unwrap_or_default();
            for p in &b.elements {
                let size = rest
                    .get(..4)
                    .map_or(0, |x| u32::from_be_bytes(x.try_into().unwrap()) as usize);
                let elem = rest.get(4..4 + size).unwrap_or_default();
                print_packet(p, elem, inner, out, left)?;
                rest = rest.get(4 + size..).unwrap_or_default();
            }
        }
    }
    Ok(())
}

/// The framing a TCP connection uses, told by its first byte: SLIP starts
/// with `END`; an OSC packet itself starts with '/' or '#'; anything else
/// is a size prefix (whose first byte is 0 for any
/// packet under 16 MiB).
fn detect_framing(first: u8) -> Framing {
    match first {
        0xc0 => Framing::Slip,
        b'/' | b'#' => Framing::None,
        _ => Framing::SizePrefix,
    }
}

/// Whole frames of a SLIP or size-prefixed stream into `packets`; what
/// is not whole yet stays in `buf`. A broken frame is an error (the
/// stream cannot be trusted past it).
fn deframe(
    deframer: &mut Deframer,
    buf: &mut Vec<u8>,
    packets: &mut Vec<Vec<u8>>,
) -> Result<(), String> {
    loop {
        match deframer.next_frame(buf).map_err(|e| e.to_string())? {
            Some((used, frame)) => {
                let frame = frame.into_owned();
                buf.drain(..used);
                deframer.reset();
                if !frame.is_empty() {
                    packets.push(frame);
                }
            }
            None => {
                // Keepalive `END`s and zero prefixes go as they come.
                let skipped = deframer.take_skipped();
                buf.drain(..skipped);
                return Ok(());
            }
        }
    }
}

/// Most bytes a packet over TCP may take before it is whole, framed or
/// not.
const MAX_PACKET: usize = 1 << 24;

/// Unframed OSC over TCP (Renoise's way) into `packets`: messages one
/// after another, each ending where its last argument does, so two sent
/// quickly are two even when one read brings both; a bundle takes all that
/// came with it (its elements run to the end of the packet). What is not
/// whole yet stays in `buf`.
fn cut_unframed(buf: &mut Vec<u8>, packets: &mut Vec<Vec<u8>>) -> Result<(), String> {
    let mut at = 0;
    let cut = loop {
        let rest = &buf[at..];
        if rest.is_empty() {
            break Ok(());
        }
        if rest[0] == b'#' {
            packets.push(rest.to_vec());
            at = buf.len();
            break Ok(());
        }
        match Message::stream_len(rest) {
            Ok(Some(n)) => {
                packets.push(rest[..n].to_vec());
                at += n;
            }
            Ok(None) if rest.len() <= MAX_PACKET => break Ok(()),
            Ok(None) => break Err(format!("not OSC: no message ends in {} bytes", rest.len())),
            Err(e) => break Err(format!("not OSC ({} bytes): {e}", rest.len())),
        }
    };
    buf.drain(..at);
    cut
}

fn dump(
    port: u16,
    tcp: bool,
    framing: Option<FramingArg>,
    count: Option<u64>,
    timeout: Option<u64>,
    timetags: bool,
) -> Result<ExitCode, String> {
    let protocol = if tcp { Protocol::Tcp } else { Protocol::Udp };
    let mut server = Server::bind(None, port, protocol).map_err(|e| e.to_string())?;
    if port == 0 {
        // The system picked the port: the sender needs to know it.
        eprintln!(
            "listening on {protocol} port {}",
            server.local_addr().port()
        );
    }
    let deadline = timeout.map(|ms| Instant::now() + Duration::from_millis(ms));
    let framing = framing.map(FramingArg::framing);
    let mut streams: HashMap<usize, (Deframer, Vec<u8>)> = HashMap::new();
    // Connections ended for bytes that are not OSC: what they sent later
    // is not looked at either.
    let mut ended: HashSet<usize> = HashSet::new();
    let mut left = count.unwrap_or(u64::MAX);
    let stdout = std::io::stdout();
    loop {
        if left == 0 {
            return Ok(ExitCode::SUCCESS);
        }
        let slice = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(ExitCode::SUCCESS);
                }
                left.min(Duration::from_millis(200))
            }
            None => Duration::from_millis(200),
        };
        // `poll` returns as soon as something came: each line is printed,
        // and stamped, as its message arrives (`wait` would hold it to
        // the end of the slice).
        let events = server.poll(slice).map_err(|e| e.to_string())?;
        let mut out = stdout.lock();
        for event in events {
            if left == 0 {
                // Done: what arrived after the last message is not looked at.
                break;
            }
            let mut packets: Vec<Vec<u8>> = Vec::new();
            // Why a stream was ended: said after the packets that came
            // whole before the break, so messages keep the stream's order.
            let mut broken: Option<String> = None;
            // Who sent them, for the message about a packet that is not OSC.
            let sender = match &event {
                Event::Message { from, .. } => Some(from.peer_addr()),
                _ => None,
            };
            match event {
                Event::Message {
                    from: Peer::Tcp(conn),
                    ..
                } if ended.contains(&conn.id()) => {}
                Event::Message {
                    from: Peer::Tcp(conn),
                    data,
                } if tcp => {
                    let (deframer, buf) = streams.entry(conn.id()).or_insert_with(|| {
                        let first = data.first().copied().unwrap_or(0);
                        let f = framing.unwrap_or_else(|| detect_framing(first));
                        (Deframer::new(f, MAX_PACKET), Vec::new())
                    });
                    buf.extend_from_slice(&data);
                    let cut = if deframer.framing() == Framing::None {
                        let cut = cut_unframed(buf, &mut packets);
                        // Told unframed by its first byte, but an `END`
                        // comes where the next packet would start: SLIP in
                        // RFC 1055's plain form, an `END` after each packet
                        // only. The rest is read as SLIP.
                        if cut.is_err() && framing.is_none() && buf.first() == Some(&0xc0) {
                            *deframer = Deframer::new(Framing::Slip, MAX_PACKET);
                            deframe(deframer, buf, &mut packets)
                        } else {
                            cut
                        }
                    } else {
                        deframe(deframer, buf, &mut packets)
                    };
                    // Past a broken frame or bytes that are not OSC the
                    // stream cannot be trusted: the connection ends (what
                    // came whole before is still printed).
                    if let Err(e) = cut {
                        broken = Some(format!("renoise-socket: {}: {e}", conn.peer_addr()));
                        streams.remove(&conn.id());
                        ended.insert(conn.id());
                        conn.close();
                    }
                }
                // An empty datagram is no packet (liblo ignores it too).
                Event::Message { data, .. } if data.is_empty() => {}
                Event::Message { data, .. } => packets.push(data),
                Event::Closed(conn) => {
                    ended.remove(&conn.id());
                    // A frame the peer never finished is said, not dropped.
                    match streams.remove(&conn.id()) {
                        // Unframed, the rest is one last message (one with
                        // no type tags ends only here) or a message cut off.
                        Some((deframer, buf))
                            if deframer.framing() == Framing::None && !buf.is_empty() =>
                        {
                            match Packet::decode(&buf) {
                                Ok(_) => packets.push(buf),
                                Err(e) => eprintln!(
                                    "renoise-socket: {}: stream ended inside a message ({} bytes): {e}",
                                    conn.peer_addr(),
                                    buf.len()
                                ),
                            }
                        }
                        Some((deframer, buf)) => {
                            if let Err(e) = deframer.end_of_stream(&buf) {
                                eprintln!("renoise-socket: {}: {e}", conn.peer_addr());
                            }
                        }
                        None => {}
                    }
                }
                Event::Error(e) => eprintln!("renoise-socket: {e}"),
                _ => {}
            }
            for p in packets {
                if left == 0 {
                    break;
                }
                match Packet::decode(&p) {
                    Ok(packet) => {
                        let tag = timetags.then(ntp_now);
                        if let Err(e) =
                            print_packet(&packet, &p, tag.map(|t| (t, t)), &mut out, &mut left)
                        {
                            return crate::stdout_failed(e);
                        }
                    }
                    Err(e) => {
                        // What was printed before it goes out first.
                        let _ = out.flush();
                        let who = sender.map(|a| format!("{a}: ")).unwrap_or_default();
                        eprintln!("renoise-socket: {who}not OSC ({} bytes): {e}", p.len());
                    }
                }
            }
            if let Some(why) = broken {
                let _ = out.flush();
                eprintln!("{why}");
            }
        }
        if let Err(e) = out.flush() {
            return crate::stdout_failed(e);
        }
    }
}
