//! The README's main job: starts a small line server on loopback and shows
//! each receive mode against it.
//!
//! Run with `cargo run --example demo`.

use renoise_socket::{Client, Error, Mode};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

fn show(what: &str, r: Result<&[u8], Error>) {
    match r {
        Ok(bytes) => println!("{what:<32} -> {:?}", String::from_utf8_lossy(bytes)),
        Err(e) => println!("{what:<32} -> error: {e}"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A line server: greets, then answers each request line, then says
    // goodbye without a final newline and closes.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = thread::spawn(move || -> std::io::Result<()> {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut out = stream.try_clone()?;
        out.write_all(b"HELLO renoise-socket demo\r\n")?;
        let mut lines = BufReader::new(stream);
        let mut request = String::new();
        while lines.read_line(&mut request)? > 0 {
            match request.trim_end() {
                "RECORD" => out.write_all(b"0123456789abcdef")?,
                "SLOW" => {
                    out.write_all(b"par")?;
                    thread::sleep(Duration::from_millis(300));
                    out.write_all(b"tial line\n")?;
                }
                "BYE" => {
                    out.write_all(b"line one\nline two\rlast words")?;
                    return Ok(());
                }
                other => out.write_all(format!("echo: {other}\n").as_bytes())?,
            }
            request.clear();
        }
        Ok(())
    });

    let mut client = Client::connect("127.0.0.1", port)?;
    println!(
        "connected {}:{} -> {}:{}\n",
        client.local_address(),
        client.local_port(),
        client.peer_address(),
        client.peer_port()
    );
    let second = Duration::from_secs(1);

    show(
        "receive(\"*line\", 1000)",
        client.receive(Mode::Line, second),
    );
    show(
        "receive(\"*all\", 0) on nothing",
        client.receive(Mode::All, Duration::ZERO),
    );

    client.send(b"ping\n")?;
    show(
        "send ping; receive(\"*line\")",
        client.receive(Mode::Line, second),
    );

    client.send(b"RECORD\n")?;
    show("receive(10, 1000)", client.receive(Mode::Bytes(10), second));
    show("receive(6, 1000)", client.receive(Mode::Bytes(6), second));

    client.send(b"SLOW\n")?;
    show(
        "receive(\"*line\", 100) (slow)",
        client.receive(Mode::Line, Duration::from_millis(100)),
    );
    println!("{:<32}    ({} bytes kept buffered)", "", client.buffered());
    show(
        "receive(\"*line\", 1000)",
        client.receive(Mode::Line, second),
    );

    client.send(b"BYE\n")?;
    show(
        "receive(\"*line\", 1000)",
        client.receive(Mode::Line, second),
    );
    show(
        "receive(\"*line\", 1000)",
        client.receive(Mode::Line, second),
    );
    show("receive(\"*all\", 1000)", client.receive(Mode::All, second));
    show("receive(\"*all\", 1000)", client.receive(Mode::All, second));
    println!("{:<32} -> {}", "is_open", client.is_open());

    server.join().map_err(|_| "server thread panicked")??;
    Ok(())
}
