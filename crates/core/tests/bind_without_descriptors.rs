//! Binding by name with no file descriptor to spare: the error names the
//! shortage, whichever step ran into it (the resolver's lookup, a socket,
//! the event loop), never "unknown host". Alone in its own test binary: it
//! lowers the process's descriptor limit.

mod server_util;

use renoise_socket::{Protocol, Server};
use server_util::{nofile, set_nofile};

#[test]
fn binding_a_name_without_descriptors_says_so() {
    let saved = nofile();
    let probe = std::fs::File::open("/dev/null").unwrap();
    let next = std::os::fd::AsRawFd::as_raw_fd(&probe) as libc::rlim_t;
    drop(probe);
    let mut results = Vec::new();
    for spare in 0..4 {
        set_nofile(&libc::rlimit {
            rlim_cur: next + spare,
            rlim_max: saved.rlim_max,
        });
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            let r = Server::bind(Some("localhost"), 0, protocol).map(|s| s.local_port());
            results.push((spare, protocol, r.map_err(|e| e.to_string())));
        }
    }
    set_nofile(&saved);
    let mut failed = 0;
    for (spare, protocol, r) in &results {
        if let Err(e) = r {
            failed += 1;
            assert!(
                e.starts_with("cannot ") && e.contains("Too many open files"),
                "{spare} spare, {protocol:?}: {e}"
            );
        }
    }
    assert!(failed >= 2, "the limit did not bite: {results:?}");
}
