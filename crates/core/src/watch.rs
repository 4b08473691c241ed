//! An epoll instance watching one socket, for a program that keeps polling
//! an idle connection with a zero timeout: asking it costs about half a
//! `poll`, as it only looks at its ready list. Linux only; elsewhere no
//! watch is made and the client asks `poll`.

use std::os::fd::RawFd;

/// A client's watch on its own socket ([`Watch::new`] once the socket
/// has been polled idle often enough).
#[derive(Debug, Default)]
pub(crate) enum Watch {
    /// Not made (yet).
    #[default]
    None,
    /// Watching the socket for input.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    On(std::os::fd::OwnedFd),
    /// Could not be made (out of descriptors, say; no epoll on this
    /// system): `poll` it is.
    Failed,
}

impl Watch {
    /// A new epoll instance with `fd` in it, level-triggered for input.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn new(fd: RawFd) -> Watch {
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: plain system calls; the new descriptor is owned at once.
        unsafe {
            let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
            if ep < 0 {
                return Watch::Failed;
            }
            let ep = std::os::fd::OwnedFd::from_raw_fd(ep);
            let mut ev = libc::epoll_event {
                events: (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
                u64: 0,
            };
            if libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) != 0 {
                return Watch::Failed;
            }
            Watch::On(ep)
        }
    }

    /// No epoll outside Linux.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) fn new(_fd: RawFd) -> Watch {
        Watch::Failed
    }

    /// `Some(false)` when the watch says for sure that nothing can be
    /// read (input, end of stream, errors and a failed call all count as
    /// readable); `None` when there is no watch to ask.
    #[inline]
    pub(crate) fn maybe_ready(&self) -> Option<bool> {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Watch::On(ep) => {
                use std::os::fd::AsRawFd;
                let mut ev = libc::epoll_event { events: 0, u64: 0 };
                // SAFETY: room for one event, zero timeout.
                Some(unsafe { libc::epoll_wait(ep.as_raw_fd(), &mut ev, 1, 0) != 0 })
            }
            _ => None,
        }
    }
}
