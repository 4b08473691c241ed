//! Interop with a server nobody here wrote: Python's `http.server` on
//! loopback (IPv4 and IPv6). A binary file is fetched with `send` and
//! `receive` loops: status line and headers with `receive_line`, the body
//! with `receive_exact` and `receive_all` until `Disconnected`.
//!
//! Needs `python3` on PATH (CI installs it); without it the test fails
//! with a message saying so.

mod common;

use common::*;
use renoise_socket::{Client, Error};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!(
            "renoise-socket-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The running `python3 -m http.server`, killed on drop.
struct HttpServer {
    child: Child,
    port: u16,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl HttpServer {
    /// Starts the server on `host` with a free port and waits (bounded)
    /// for its "Serving HTTP on ... port N" line.
    fn start(host: &str, dir: &TempDir) -> HttpServer {
        let child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                host,
                "--directory",
            ])
            .arg(&dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                panic!("this test needs python3 on PATH (it runs `python3 -m http.server`): {e}")
            }
        };
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads the banner, then keeps draining stdout until the child dies.
        thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(tx) = tx.take() {
                    let _ = tx.send(line);
                }
            }
        });
        let mut server = HttpServer { child, port: 0 };
        let banner = match rx.recv_timeout(BOUND) {
            Ok(l) => l,
            Err(_) => {
                let status = server.child.try_wait().ok().flatten();
                panic!("python3 -m http.server printed nothing within {BOUND:?} (exit: {status:?})")
            }
        };
        // "Serving HTTP on 127.0.0.1 port 43211 (http://127.0.0.1:43211/) ..."
        server.port = banner
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected banner from http.server: {banner:?}"));
        server
    }
}

/// Every byte value, CR/LF/NUL runs and a long pseudo-random tail, larger
/// than several all-chunks.
fn test_file() -> Vec<u8> {
    let mut data: Vec<u8> = (0..=255u8).collect();
    data.extend_from_slice(b"\r\n\r\n\0\0\r\r\n\n");
    let mut x: u32 = 0x1234_5678;
    while data.len() < 300_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.push((x >> 24) as u8);
    }
    data
}

struct Response {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the body is read.
#[derive(Clone, Copy, Debug)]
enum BodyReads {
    /// `receive_all` only.
    All,
    /// `receive_exact(4096)`, the last one short at end of stream.
    Exact,
    /// Alternating `receive_exact(1000)` and `receive_all`, with a zero
    /// timeout now and then (a `Timeout` there just means "not yet").
    Mixed,
}

fn get(host: &str, port: u16, path: &str, how: BodyReads) -> Response {
    let mut c = Client::connect(host, port).unwrap();
    c.send(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .unwrap();
    let status = String::from_utf8(c.receive_line(LONG).unwrap().to_vec()).unwrap();
    let mut headers = Vec::new();
    loop {
        let line = c.receive_line(LONG).unwrap();
        if line.is_empty() {
            break;
        }
        let line = String::from_utf8(line.to_vec()).unwrap();
        let (k, v) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("bad header line {line:?}"));
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let start = Instant::now();
    let mut body = Vec::new();
    for i in 0usize.. {
        assert!(start.elapsed() < BOUND, "body never ended");
        let res = match (how, i % 3) {
            (BodyReads::All, _) => c.receive_all(LONG),
            (BodyReads::Exact, _) => c.receive_exact(4096, LONG),
            (BodyReads::Mixed, 0) => c.receive_exact(1000, LONG),
            (BodyReads::Mixed, 1) => c.receive_all(LONG),
            (BodyReads::Mixed, _) => c.receive_all(Duration::ZERO),
        };
        match res {
            Ok(b) => {
                assert!(!b.is_empty(), "a receive returned nothing");
                body.extend_from_slice(b);
            }
            Err(Error::Timeout) => {}
            Err(Error::Disconnected) => break,
            Err(e) => panic!("{how:?}: {e:?}"),
        }
    }
    assert!(!c.is_open());
    Response {
        status,
        headers,
        body,
    }
}

#[test]
fn fetch_a_binary_file_from_python_http_server() {
    let dir = TempDir::new("http");
    let data = test_file();
    std::fs::write(dir.0.join("data.bin"), &data).unwrap();
    std::fs::write(dir.0.join("hello.txt"), b"hello\n").unwrap();
    for host in LOOPBACKS {
        let server = HttpServer::start(host, &dir);
        for how in [BodyReads::All, BodyReads::Exact, BodyReads::Mixed] {
            let r = get(host, server.port, "/data.bin", how);
            assert!(
                r.status.starts_with("HTTP/1.0 200"),
                "{host} {how:?}: status {:?}",
                r.status
            );
            let len: usize = r
                .header("Content-Length")
                .expect("Content-Length header")
                .parse()
                .unwrap();
            assert_eq!(len, data.len(), "{host} {how:?}");
            assert_eq!(r.body.len(), data.len(), "{host} {how:?}");
            assert!(r.body == data, "{host} {how:?}: body differs from the file");
        }
        let r = get(host, server.port, "/hello.txt", BodyReads::All);
        assert_eq!(r.body, b"hello\n");
        assert_eq!(r.header("Content-Length"), Some("6"));
        let r = get(host, server.port, "/missing", BodyReads::All);
        assert!(r.status.starts_with("HTTP/1.0 404"), "{:?}", r.status);
        assert_eq!(
            r.header("Content-Length")
                .map(|v| v.parse::<usize>().unwrap()),
            Some(r.body.len())
        );
    }
}
