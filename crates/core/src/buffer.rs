//! The receive buffer: bytes read from the kernel and not yet handed out.
//!
//! All parsing happens here, on bytes that are already ours, so a timeout
//! can never drop anything: a call that gives up simply leaves the buffer
//! as it is.

use std::collections::VecDeque;
use std::ops::Range;

/// Bytes in `data[start..end]`, plus what line parsing must remember
/// between calls.
#[derive(Debug)]
pub(crate) struct Buffer {
    data: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes after `start` already known to hold no terminator, so a long
    /// line arriving in many segments is scanned once.
    scanned: usize,
    /// The last line ended in a `\r` that was the last buffered byte: a
    /// `\n` arriving next belongs to that terminator.
    skip_lf: bool,
    /// Stream offset of `start`; datagram boundaries are kept as stream
    /// offsets so compaction does not have to touch them.
    consumed: u64,
    /// UDP: stream offsets where each buffered datagram ends.
    datagrams: VecDeque<u64>,
    finder: Finder,
    /// Size of the first allocation.
    initial: usize,
}

/// Finds the first `\n` or `\r`. On x86-64 the AVX2 searcher is picked
/// once per buffer instead of on every call: for short lines the per-call
/// dispatch inside `memchr2` costs as much as the search itself.
#[derive(Debug, Clone, Copy)]
struct Finder {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::Two>,
}

impl Finder {
    fn new() -> Finder {
        Finder {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::Two::new(b'\n', b'\r'),
        }
    }

    #[inline(always)]
    fn find(&self, hay: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(f) = &self.avx2 {
            return f.find(hay);
        }
        memchr::memchr2(b'\n', b'\r', hay)
    }
}

impl Buffer {
    /// A buffer that allocates `cap` bytes on its first read, so idle
    /// connections (a server may hold thousands) cost no buffer memory.
    pub(crate) fn with_capacity(cap: usize) -> Buffer {
        Buffer {
            data: Vec::new(),
            initial: cap,
            start: 0,
            end: 0,
            scanned: 0,
            skip_lf: false,
            consumed: 0,
            datagrams: VecDeque::new(),
            finder: Finder::new(),
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    #[inline]
    pub(crate) fn bytes(&self, r: Range<usize>) -> &[u8] {
        &self.data[r]
    }

    /// Drops the `\n` of a `\r\n` that was split across two reads.
    #[inline]
    pub(crate) fn settle(&mut self) {
        if self.skip_lf {
            self.settle_slow();
        }
    }

    #[cold]
    fn settle_slow(&mut self) {
        if !self.is_empty() {
            self.skip_lf = false;
            if self.data[self.start] == b'\n' {
                self.consume(1);
            }
        }
    }

    #[inline]
    fn consume(&mut self, n: usize) -> Range<usize> {
        let a = self.start;
        self.start += n;
        self.consumed += n as u64;
        self.scanned = 0;
        if !self.datagrams.is_empty() {
            self.drop_finished_datagrams();
        }
        a..a + n
    }

    #[cold]
    fn drop_finished_datagrams(&mut self) {
        while self.datagrams.front().is_some_and(|&e| e <= self.consumed) {
            self.datagrams.pop_front();
        }
    }

    /// Takes one line if a terminator is buffered: `\n`, `\r\n` or a lone
    /// `\r`. Returns the range of the line without its terminator, or
    /// `Err(())` (consuming nothing) when that line is longer than `max`.
    #[inline]
    pub(crate) fn take_line(&mut self, max: usize) -> Option<Result<Range<usize>, ()>> {
        self.settle();
        let from = self.start + self.scanned;
        let Some(i) = self.finder.find(&self.data[from..self.end]) else {
            self.scanned = self.end - self.start;
            return None;
        };
        let pos = from + i;
        let a = self.start;
        if pos - a > max {
            return Some(Err(()));
        }
        let term = if self.data[pos] == b'\n' {
            1
        } else {
            self.cr_terminator(pos)
        };
        self.consume(pos - a + term);
        Some(Ok(a..pos))
    }

    /// Length of the terminator that starts with the `\r` at `pos`.
    #[inline]
    fn cr_terminator(&mut self, pos: usize) -> usize {
        match self.data.get(pos + 1) {
            Some(b'\n') if pos + 1 < self.end => 2,
            _ if pos + 1 < self.end => 1,
            _ => {
                // A `\r` that ends the buffer still ends the line; the `\n`
                // of a split `\r\n` is dropped when it arrives.
                self.skip_lf = true;
                1
            }
        }
    }

    /// The buffered bytes.
    #[inline]
    pub(crate) fn pending(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// Offset of `pending()[0]` in the buffer, to turn a sub-slice of
    /// [`Buffer::pending`] back into a range.
    #[inline]
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// Takes everything buffered as one unterminated line (end of stream).
    pub(crate) fn take_rest(&mut self) -> Range<usize> {
        let n = self.len();
        self.consume(n)
    }

    /// Takes up to `n` bytes.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Range<usize> {
        let n = n.min(self.len());
        self.consume(n)
    }

    /// UDP: bytes left in the current datagram.
    pub(crate) fn current_datagram_len(&self) -> usize {
        match self.datagrams.front() {
            Some(&e) => (e - self.consumed) as usize,
            None => self.len(),
        }
    }

    /// Makes at least `want` bytes of free space after the data, moving the
    /// data to the front first. Growth doubles (so a long line costs
    /// amortised O(1) per byte) but never past `limit` unless `want` itself
    /// needs more; the callers bound `want`, which bounds memory.
    pub(crate) fn reserve(&mut self, want: usize, limit: usize) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.data.len() - self.end >= want {
            return;
        }
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.data.len() - self.end >= want {
                return;
            }
        }
        let need = self.end.saturating_add(want);
        if self.data.is_empty() {
            self.data.resize(need.max(self.initial), 0);
            return;
        }
        let new_len = self.data.len().saturating_mul(2).min(limit).max(need);
        self.data.resize(new_len, 0);
    }

    /// Free space after the data, for one read.
    #[inline]
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        &mut self.data[self.end..]
    }

    /// Records `n` bytes just read into [`Buffer::spare`].
    #[inline]
    pub(crate) fn commit(&mut self, n: usize, datagram: bool) {
        self.end += n;
        if datagram {
            let end = self.consumed + self.len() as u64;
            self.datagrams.push_back(end);
        }
    }

    /// Total space, for the bounded-memory tests.
    pub(crate) fn capacity(&self) -> usize {
        self.data.len()
    }
}
