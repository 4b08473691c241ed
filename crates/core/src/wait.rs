//! One deadline per receive call, computed lazily.

use std::time::{Duration, Instant};

/// How the next read of a receive call may block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Look at what is pending, never block.
    Poll,
    /// Block for at most this long.
    Block(Duration),
}

/// The deadline of one call. The clock is only read once a call actually has
/// to wait, so calls served from the buffer cost no `clock_gettime`.
#[derive(Debug)]
pub(crate) struct Wait {
    timeout: Duration,
    /// `None` before the first blocking read; `Some(None)` when the deadline
    /// lies beyond what `Instant` can represent (wait forever).
    deadline: Option<Option<Instant>>,
    expired: bool,
}

impl Wait {
    pub(crate) fn new(timeout: Duration) -> Wait {
        Wait {
            timeout,
            deadline: None,
            expired: timeout.is_zero(),
        }
    }

    /// The next read's step. After the deadline passed this is one last
    /// `Poll`, so bytes that arrived just in time still count.
    pub(crate) fn step(&mut self) -> Step {
        if self.expired {
            return Step::Poll;
        }
        match self.deadline {
            None => {
                self.deadline = Some(Instant::now().checked_add(self.timeout));
                Step::Block(self.timeout)
            }
            Some(None) => Step::Block(self.timeout),
            Some(Some(at)) => {
                let left = at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    self.expired = true;
                    Step::Poll
                } else {
                    Step::Block(left)
                }
            }
        }
    }

    /// Whether the deadline has passed (a zero timeout's is passed from the
    /// start): reads from now on only look at what is pending.
    pub(crate) fn expired(&self) -> bool {
        self.expired
    }

    /// Whether the call has blocked at all (one with a zero timeout never
    /// does).
    pub(crate) fn blocked(&self) -> bool {
        self.deadline.is_some()
    }

    /// Called when a read found nothing: true when the call must give up.
    pub(crate) fn gave_up(&mut self, step: Step) -> bool {
        match step {
            Step::Poll => true,
            // A socket timeout may fire a little early (jiffies); only the
            // deadline decides.
            Step::Block(_) => match self.deadline {
                Some(Some(at)) => {
                    if Instant::now() >= at {
                        self.expired = true;
                    }
                    false
                }
                _ => false,
            },
        }
    }
}
