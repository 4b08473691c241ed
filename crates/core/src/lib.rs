//! # renoise-socket
//!
//! Renoise's blocking `SocketClient`, as a Rust library.
//!
//! ```no_run
//! use renoise_socket::Client;
//! use std::time::Duration;
//!
//! let mut client = Client::connect("127.0.0.1", 8080)?;
//! client.send(b"GET / HTTP/1.0\r\n\r\n")?;
//! let status = client.receive_line(Duration::from_secs(1))?.to_vec();
//! println!("{}", String::from_utf8_lossy(&status));
//! # Ok::<(), renoise_socket::Error>(())
//! ```

mod buffer;
mod builder;
mod client;
mod connect;
mod error;
pub mod framing;
mod mode;
pub mod osc;
mod protocol;
mod server;
mod wait;

pub use builder::ClientBuilder;
pub use client::Client;
pub use error::{Error, Result};
pub use mode::Mode;
pub use protocol::Protocol;
pub use server::{Connection, Event, Peer, Server, ServerBuilder, UdpPeer};
