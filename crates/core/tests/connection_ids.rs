//! `Connection::id`: shared by a connection's clones, never given to
//! another connection, even after the first is gone (a program keying its
//! own data by id must not find a dead connection's under a new one).
mod common;
use common::*;
use renoise_socket::{Client, Connection};
use std::collections::HashSet;

#[test]
fn ids_are_shared_by_clones_and_never_reused() {
    let (listener, port) = listen("127.0.0.1");
    let mut seen = HashSet::new();
    for _ in 0..50 {
        let conn = Connection::new(Client::connect("127.0.0.1", port).unwrap());
        let _accepted = accept(&listener);
        let id = conn.id();
        assert_eq!(conn.clone().id(), id);
        assert!(seen.insert(id), "id {id} given twice");
        // Dropped here: the next connection's handle may take this one's
        // memory, but not its id.
    }
}
