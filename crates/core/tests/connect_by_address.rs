//! Connecting to a `SocketAddr` a program already holds: no name to
//! resolve, the same client as `connect` gives, TCP and UDP, on both
//! loopbacks; port 0 is an argument error and a closed port is refused.

mod common;

use common::*;
use renoise_socket::{Client, ClientBuilder, Error, Protocol};
use std::io::Read;
use std::net::SocketAddr;

#[test]
fn a_tcp_client_connects_to_the_address_it_is_given() {
    for host in LOOPBACKS {
        let (listener, _) = listen(host);
        let addr = addr_of(&listener);
        let peer = serve_one(listener, |mut s| {
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            got
        });
        let mut c = Client::connect_addr(addr).unwrap();
        assert_eq!(c.peer_addr(), addr, "{host}");
        c.send(b"by address\n").unwrap();
        c.close();
        assert_eq!(join(peer), b"by address\n", "{host}");
    }
}

#[test]
fn a_udp_client_connects_to_the_address_it_is_given() {
    for host in LOOPBACKS {
        let peer = udp_peer(host);
        let addr = peer.local_addr().unwrap();
        let mut c = ClientBuilder::new()
            .protocol(Protocol::Udp)
            .connect_addr(addr)
            .unwrap();
        c.send(b"datagram").unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"datagram", "{host}");
        assert_eq!(from, c.local_addr(), "{host}");
    }
}

#[test]
fn port_zero_is_an_argument_error_and_a_closed_port_is_refused() {
    let zero = SocketAddr::from(([127, 0, 0, 1], 0));
    let err = Client::connect_addr(zero).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(err.to_string().contains("got 0"), "{err}");
    for host in LOOPBACKS {
        let port = closed_tcp_port(host);
        let addr = SocketAddr::new(host.parse().unwrap(), port);
        let err = Client::connect_addr(addr).unwrap_err();
        assert!(matches!(err, Error::Refused { .. }), "{host}: {err:?}");
    }
}
