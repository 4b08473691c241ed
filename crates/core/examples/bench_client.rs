//! renoise-socket as a peer of the shared socket benchmark
//! (`../shared/bench/`, README section "the client protocol").
//!
//! ```text
//! bench_client host=127.0.0.1 port=P deadline_s=D workload=<lines|records|bulk|pingpong|poll> [n=N] [size=64] [rounds=R]
//! ```
//!
//! Prints one `RESULT ...` line. Uses only the public API, with the
//! timeouts a Renoise tool would pass.

use renoise_socket::{Client, Error};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);
/// Calls between deadline checks, as in the harness's own loops.
const CHUNK: u64 = 4096;

fn cpu_time() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
}

struct Run {
    ops: u64,
    bytes: u64,
    status: &'static str,
    extra: Vec<(&'static str, f64)>,
}

fn main() {
    let kv: HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let num = |k: &str, d: u64| -> u64 {
        kv.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(d, |v| v as u64)
    };
    let host = kv.get("host").map_or("127.0.0.1", String::as_str);
    let port = num("port", 0) as u16;
    let deadline = Duration::from_secs(num("deadline_s", 60));
    let workload = kv.get("workload").map_or("", String::as_str).to_string();

    let mut c = match Client::connect(host, port) {
        Ok(c) => c,
        Err(e) => fail(&e),
    };
    let t0 = Instant::now();
    let c0 = cpu_time();
    let end = t0 + deadline;
    let r = match workload.as_str() {
        "lines" => lines(&mut c, num("n", 1_000_000), end),
        "records" => records(&mut c, num("n", 1_000_000), num("size", 64) as usize, end),
        "bulk" => bulk(&mut c, end),
        "pingpong" => pingpong(&mut c, num("rounds", 100_000), end, t0),
        "poll" => poll(&mut c, num("n", 1_000_000), end),
        other => {
            eprintln!("unknown workload {other:?}");
            std::process::exit(2)
        }
    };
    let r = r.unwrap_or_else(|e| fail(&e));
    let (secs, cpu) = (t0.elapsed().as_secs_f64(), cpu_time() - c0);
    let mut line = format!(
        "RESULT ops={} bytes={} secs={secs:.6} cpu={cpu:.6} status={}",
        r.ops, r.bytes, r.status
    );
    for (k, v) in r.extra {
        line.push_str(&format!(" {k}={v:.4}"));
    }
    println!("{line}");
}

fn fail(e: &Error) -> ! {
    println!("RESULT ops=0 bytes=0 secs=0 cpu=0 status=error");
    eprintln!("client error: {e}");
    std::process::exit(1)
}

fn counted(
    n: u64,
    end: Instant,
    mut one: impl FnMut() -> Result<Option<u64>, Error>,
) -> Result<Run, Error> {
    let (mut ops, mut bytes) = (0, 0);
    let mut status = "ok";
    'outer: while ops < n {
        for _ in 0..CHUNK.min(n - ops) {
            match one()? {
                Some(b) => bytes += b,
                None => {
                    status = "eof";
                    break 'outer;
                }
            }
            ops += 1;
        }
        if Instant::now() > end {
            status = "timeout";
            break;
        }
    }
    Ok(Run {
        ops,
        bytes,
        status,
        extra: vec![],
    })
}

fn eof_is_none(r: Result<&[u8], Error>) -> Result<Option<u64>, Error> {
    match r {
        Ok(d) => Ok(Some(d.len() as u64)),
        Err(Error::Disconnected) => Ok(None),
        Err(e) => Err(e),
    }
}

fn lines(c: &mut Client, n: u64, end: Instant) -> Result<Run, Error> {
    counted(n, end, || eof_is_none(c.receive_line(TIMEOUT)))
}

fn records(c: &mut Client, n: u64, size: usize, end: Instant) -> Result<Run, Error> {
    counted(n, end, || eof_is_none(c.receive_exact(size, TIMEOUT)))
}

fn bulk(c: &mut Client, end: Instant) -> Result<Run, Error> {
    let mut run = counted(u64::MAX, end, || eof_is_none(c.receive_all(TIMEOUT)))?;
    // A bulk run reads until the server closes: its end is the success.
    if run.status == "eof" {
        run.status = "ok";
    }
    Ok(run)
}

fn pingpong(c: &mut Client, rounds: u64, end: Instant, t0: Instant) -> Result<Run, Error> {
    let mut stamps = Vec::with_capacity(rounds as usize + 1);
    stamps.push(0u64);
    let (mut ops, mut bytes) = (0u64, 0u64);
    let mut status = "ok";
    while ops < rounds {
        c.send(b"ping\n")?;
        match c.receive_line(TIMEOUT) {
            Ok(l) if l == b"ping" => bytes += l.len() as u64,
            Ok(l) => {
                eprintln!("bad echo {:?}", String::from_utf8_lossy(l));
                std::process::exit(1)
            }
            Err(Error::Disconnected) => {
                status = "eof";
                break;
            }
            Err(e) => return Err(e),
        }
        ops += 1;
        stamps.push(t0.elapsed().as_nanos() as u64);
        if ops % CHUNK == 0 && Instant::now() > end {
            status = "timeout";
            break;
        }
    }
    let mut d: Vec<u64> = stamps.windows(2).map(|w| w[1] - w[0]).collect();
    d.sort_unstable();
    let mut extra = vec![];
    if !d.is_empty() {
        let pct = |p: f64| d[((d.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
        let mean = d.iter().sum::<u64>() as f64 / d.len() as f64 / 1000.0;
        extra = vec![
            ("p50_us", pct(0.5)),
            ("p99_us", pct(0.99)),
            ("mean_us", mean),
        ];
    }
    Ok(Run {
        ops,
        bytes,
        status,
        extra,
    })
}

fn poll(c: &mut Client, n: u64, end: Instant) -> Result<Run, Error> {
    let mut ready = 0u64;
    let mut r = counted(n, end, || match c.receive_line(Duration::ZERO) {
        Ok(_) => {
            ready += 1;
            Ok(Some(0))
        }
        Err(Error::Timeout) => Ok(Some(0)),
        Err(e) => Err(e),
    })?;
    r.extra.push(("ready", ready as f64));
    Ok(r)
}
