//! A name the system resolver gets no answer for: a connect gives up at
//! its connect timeout and a bind after 5 s, instead of blocking for as
//! long as the resolver keeps asking (here 30 s).
//!
//! Each test runs again inside a private mount and network namespace
//! (util-linux's `unshare`, iproute2's `ip`): as root that alone (it works
//! where user namespaces are switched off), else inside a user namespace
//! too. Its `/etc/resolv.conf` names a DNS server on 127.0.0.1 that never
//! reads its queries. Where no such namespace can be made, the test says
//! so on stderr and checks nothing.

mod common;

use common::*;
use renoise_socket::{ClientBuilder, Error, ServerBuilder};
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the environment of the run inside the namespace.
const INSIDE: &str = "RENOISE_SOCKET_TEST_IN_NAMESPACE";
/// A name in no `/etc/hosts`: only DNS can answer for it.
const NAME: &str = "renoise-socket-test.example.com";

/// Whether this is the run inside the namespace. Outside, runs the test
/// `name` of this binary inside one and checks that it passed.
fn inside(name: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let conf = std::env::temp_dir().join(format!("rs-resolv-{}-{name}.conf", std::process::id()));
    std::fs::write(
        &conf,
        "nameserver 127.0.0.1\noptions timeout:30 attempts:1\n",
    )
    .unwrap();
    let setup = "ip link set lo up && mount --bind \"$0\" /etc/resolv.conf";
    let namespace = |flags: &str, then: &str| {
        let mut c = Command::new("unshare");
        c.args([flags, "sh", "-c", &format!("{setup} && {then}")])
            .arg(&conf)
            .env(INSIDE, "1");
        c
    };
    let works = |flags: &str| {
        namespace(flags, "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let Some(flags) = ["-mn", "-rmn"].into_iter().find(|f| works(f)) else {
        eprintln!("{name}: not checked, no mount and network namespace can be made here");
        let _ = std::fs::remove_file(&conf);
        return false;
    };
    let exe = std::env::current_exe().unwrap();
    let mut child = namespace(flags, "exec \"$@\"")
        .arg(&exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(ms(20));
    };
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&conf);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "inside the namespace:\n{text}"
    );
    assert!(
        text.contains("1 passed"),
        "the test did not run inside:\n{text}"
    );
    false
}

/// Inside the namespace (see [`inside`]), a DNS server that takes queries
/// and never reads them; `None` outside.
fn unanswering_dns(name: &str) -> Option<UdpSocket> {
    inside(name).then(|| UdpSocket::bind("127.0.0.1:53").expect("port 53 in the namespace"))
}

/// What `f` gave, and how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let v = f();
    (v, start.elapsed())
}

#[test]
fn a_connect_by_name_gives_up_at_its_connect_timeout() {
    let Some(_dns) = unanswering_dns("a_connect_by_name_gives_up_at_its_connect_timeout") else {
        return;
    };
    let (e, took) = timed(|| {
        ClientBuilder::new()
            .connect_timeout(ms(300))
            .connect(NAME, 80)
            .unwrap_err()
    });
    assert!(matches!(e, Error::ResolveTimeout { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("connect timeout: no address for '{NAME}' within 300 ms")
    );
    assert!(took >= ms(290) && took < ms(2000), "{took:?}");
}

#[test]
fn a_bind_to_a_name_gives_up_after_five_seconds() {
    let Some(_dns) = unanswering_dns("a_bind_to_a_name_gives_up_after_five_seconds") else {
        return;
    };
    let (e, took) = timed(|| ServerBuilder::new().bind(Some(NAME), 0).unwrap_err());
    assert_eq!(
        e.to_string(),
        format!("cannot resolve '{NAME}': the system resolver did not answer within 5000 ms")
    );
    assert_eq!(std::io::Error::from(e).kind(), std::io::ErrorKind::TimedOut);
    assert!(took >= ms(4900) && took < ms(8000), "{took:?}");
    // Literal addresses need no resolver.
    assert!(ServerBuilder::new().bind(Some("127.0.0.1"), 0).is_ok());
}
