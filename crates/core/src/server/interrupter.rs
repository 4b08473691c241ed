//! [`Interrupter`]: ends a server's `wait` or `poll` from another thread.

use mio::Waker;
use std::fmt;
use std::sync::Arc;

/// Makes a [`Server`](super::Server)'s [`wait`](super::Server::wait) or
/// [`poll`](super::Server::poll) return at once, with the events it has
/// collected so far, from any thread: how another thread gets a server
/// that is blocked in `wait` back (to [`close`](super::Server::close) it,
/// say). One interrupt ends one call: the first `wait` or `poll` that
/// sees it, which may be one that was about to return anyway (a `poll`
/// with events, a zero timeout); the calls after it block as usual.
/// Interrupts that no call has seen yet count as one: two in a row end
/// one call, not two. So a
/// thread that asks a loop to stop sets its own flag for the loop to read,
/// and interrupts so that the loop reads it now. Cloning gives another
/// handle on the same server; interrupting a closed server does nothing.
///
/// ```
/// use renoise_socket::{Protocol, Server};
/// use std::time::{Duration, Instant};
///
/// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp)?;
/// let stop = server.interrupter()?;
/// std::thread::spawn(move || {
///     std::thread::sleep(Duration::from_millis(50));
///     stop.interrupt();
/// });
/// let start = Instant::now();
/// server.wait(Duration::from_secs(10))?;
/// assert!(start.elapsed() < Duration::from_secs(5));
/// # Ok::<(), renoise_socket::Error>(())
/// ```
#[derive(Clone)]
pub struct Interrupter {
    waker: Arc<Waker>,
}

impl Interrupter {
    pub(crate) fn new(waker: Arc<Waker>) -> Interrupter {
        Interrupter { waker }
    }

    /// Ends the server's current (or next) `wait` / `poll`.
    ///
    /// ```
    /// use renoise_socket::{Protocol, Server};
    /// use std::time::Duration;
    /// let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp)?;
    /// server.interrupter()?.interrupt();
    /// assert!(server.wait(Duration::from_secs(10))?.is_empty());
    /// # Ok::<(), renoise_socket::Error>(())
    /// ```
    pub fn interrupt(&self) {
        // The wake-up is the message: the event loop sees its token. It
        // fails only if the event loop is gone, and then nothing waits.
        let _ = self.waker.wake();
    }
}

/// Names the type only.
impl fmt::Debug for Interrupter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Interrupter")
    }
}
