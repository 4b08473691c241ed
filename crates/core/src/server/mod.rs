//! The server side: Renoise's `SocketServer`, as an event source.
//!
//! - `socket_server.rs`: [`Server`]: bind, properties, `poll` / `wait`, `close`;
//! - `builder.rs`: [`ServerBuilder`]: protocol and the options accepted
//!   connections get;
//! - `event.rs`: [`Event`] and [`Peer`] (who sent a message);
//! - `interrupter.rs`: [`Interrupter`], which ends a `wait` from another
//!   thread;
//! - `connection.rs`: [`Connection`], an accepted TCP connection: a shared,
//!   full [`Client`](crate::Client);
//! - `udp_peer.rs`: [`UdpPeer`], the sender of a datagram, which can be
//!   answered from the server's own port;
//! - `bind.rs`: addresses to bound sockets (`SO_REUSEADDR`, dual stack);
//! - `event_loop.rs`: the `mio` loop: readiness, fair bounded reads,
//!   accepting.

pub(crate) mod bind;
mod builder;
mod connection;
mod event;
mod event_loop;
mod interrupter;
mod socket_server;
mod udp_peer;

pub use builder::ServerBuilder;
pub use connection::Connection;
pub use event::{Event, Peer};
pub use interrupter::Interrupter;
pub use socket_server::Server;
pub use udp_peer::UdpPeer;
