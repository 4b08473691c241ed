//! The receive buffer: bytes read from the kernel and not yet handed out.
//!
//! All parsing happens here, on bytes that are already ours, so a timeout
//! can never drop anything: a call that gives up simply leaves the buffer
//! as it is.

use crate::client::MIN_READ;
use std::collections::VecDeque;
use std::ops::Range;

/// Bytes in `data[start..end]`, plus what line parsing must remember
/// between calls.
#[derive(Debug)]
pub(crate) struct Buffer {
    data: Vec<u8>,
    start: usize,
    end: usize,
    /// Index in `data` up to which the bytes from `start` on are known to
    /// hold no terminator (meaningful when it is past `start`), so a long
    /// line arriving in many segments is scanned once. Kept as an index
    /// rather than a length so taking bytes need not reset it.
    scanned: usize,
    /// The last line ended in a `\r` that was the last buffered byte: a
    /// `\n` arriving next belongs to that terminator.
    skip_lf: bool,
    /// Stream offset of `start`; datagram boundaries are kept as stream
    /// offsets so compaction does not have to touch them. Only counted
    /// while datagrams are buffered: a UDP buffer holds nothing but
    /// datagrams, so nothing is ever taken outside of one.
    consumed: u64,
    /// UDP: stream offsets where each buffered datagram ends.
    datagrams: VecDeque<u64>,
    finder: Finder,
    /// Size of the first allocation.
    initial: usize,
    /// Reads in a row that filled all the free space (see
    /// [`Buffer::after_read`]).
    deep: u8,
    /// Size [`Buffer::after_read`] may grow the buffer to.
    read_ahead: usize,
    /// Pieces (lines, records, chunks) taken since the last read.
    pieces: u32,
}

/// Full reads in a row after which the buffer doubles.
const DEEP_READS: u8 = 2;
/// Fewest pieces a program must take out of one read for the buffer to
/// grow (see [`Buffer::after_read`]).
const SMALL_PIECES: u32 = 16;

/// Finds the first `\n` or `\r`. On x86-64 with AVX2 a search of our own
/// (see [`avx2::find`]), picked once per buffer; elsewhere `memchr2`.
#[derive(Debug, Clone, Copy)]
struct Finder {
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl Finder {
    fn new() -> Finder {
        Finder {
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
        }
    }

    #[inline(always)]
    fn find(&self, hay: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: the CPU has AVX2 (checked in `new`).
            return unsafe { avx2::find(hay) };
        }
        memchr::memchr2(b'\n', b'\r', hay)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The line-terminator search, for long lines as fast as a one-byte
    //! `memchr`.
    //!
    //! `memchr2` compares every 32-byte block twice (with `\n` and with
    //! `\r`) and unrolls less than the one-byte search. Here the long
    //! stretches are scanned four blocks at a time with a single compare
    //! per block: `b | 0x07 == 0x0f` holds exactly for the bytes 0x08 to
    //! 0x0f, which include both terminators. Only a group where that
    //! matches (a terminator, or a tab or other control byte of that range)
    //! is then searched exactly.
    use std::arch::x86_64::*;

    /// Bit `k` set when byte `k` of the 32 at `p` is `\n` or `\r`.
    #[inline(always)]
    unsafe fn exact(p: *const u8) -> u32 {
        let v = _mm256_loadu_si256(p.cast());
        let nl = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\n' as i8));
        let cr = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\r' as i8));
        _mm256_movemask_epi8(_mm256_or_si256(nl, cr)) as u32
    }

    /// All ones in the bytes of the 32 at `p` that lie in 0x08..=0x0f.
    #[inline(always)]
    unsafe fn rough(p: *const u8) -> __m256i {
        let v = _mm256_loadu_si256(p.cast());
        _mm256_cmpeq_epi8(
            _mm256_or_si256(v, _mm256_set1_epi8(0x07)),
            _mm256_set1_epi8(0x0f),
        )
    }

    /// The index of the first `\n` or `\r` in `hay`.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn find(hay: &[u8]) -> Option<usize> {
        let n = hay.len();
        if n < 32 {
            return memchr::memchr2(b'\n', b'\r', hay);
        }
        let p = hay.as_ptr();
        // All loads below read 32 bytes at offsets <= n - 32.
        let m = exact(p);
        if m != 0 {
            return Some(m.trailing_zeros() as usize);
        }
        let mut i = 32;
        while i + 128 <= n {
            let any = _mm256_or_si256(
                _mm256_or_si256(rough(p.add(i)), rough(p.add(i + 32))),
                _mm256_or_si256(rough(p.add(i + 64)), rough(p.add(i + 96))),
            );
            if _mm256_movemask_epi8(any) != 0 {
                for k in (i..i + 128).step_by(32) {
                    let m = exact(p.add(k));
                    if m != 0 {
                        return Some(k + m.trailing_zeros() as usize);
                    }
                }
            }
            i += 128;
        }
        while i + 32 <= n {
            let m = exact(p.add(i));
            if m != 0 {
                return Some(i + m.trailing_zeros() as usize);
            }
            i += 32;
        }
        if i < n {
            // The last 32 bytes, overlapping bytes already searched (which
            // hold no terminator, so the first match is at or after `i`).
            let j = n - 32;
            let m = exact(p.add(j));
            if m != 0 {
                return Some(j + m.trailing_zeros() as usize);
            }
        }
        None
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn agrees_with_memchr2() {
            if !std::arch::is_x86_feature_detected!("avx2") {
                return;
            }
            let mut x: u32 = 12345;
            let mut next = || {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x
            };
            for len in 0..600 {
                for _ in 0..20 {
                    let mut hay: Vec<u8> = (0..len).map(|_| b'a' + (next() % 26) as u8).collect();
                    // Sprinkle tabs and other near misses, and sometimes a terminator.
                    for _ in 0..(next() % 4) {
                        if len > 0 {
                            let i = next() as usize % len;
                            hay[i] = [b'\t', 0x08, 0x0b, 0x0c, 0x0e, 0x0f, 0x0a, 0x0d]
                                [next() as usize % 8];
                        }
                    }
                    let want = memchr::memchr2(b'\n', b'\r', &hay);
                    // SAFETY: AVX2 checked above.
                    assert_eq!(unsafe { super::find(&hay) }, want, "len {len}");
                }
            }
        }
    }
}

impl Buffer {
    /// A buffer that allocates `cap` bytes on its first read, so idle
    /// connections (a server may hold thousands) cost no buffer memory.
    pub(crate) fn with_capacity(cap: usize, read_ahead: usize) -> Buffer {
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
            deep: 0,
            read_ahead,
            pieces: 0,
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

    /// The bytes of a range handed out by this buffer.
    #[inline]
    pub(crate) fn bytes(&self, r: Range<usize>) -> &[u8] {
        debug_assert!(r.start <= r.end && r.end <= self.data.len());
        // SAFETY: every range this buffer hands out (`take*`, `pending`
        // sub-ranges) lies within `start..end`, and `end <= data.len()`
        // always holds; the data is never shrunk while a range is in use
        // (the caller borrows the client until it is done with the bytes).
        unsafe { self.data.get_unchecked(r) }
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
                // Half a terminator: not a piece the program took.
                self.advance(1);
            }
        }
    }

    /// Hands the next `n` bytes to the program: one piece.
    #[inline]
    fn consume(&mut self, n: usize) -> Range<usize> {
        self.pieces = self.pieces.wrapping_add(1);
        self.advance(n)
    }

    #[inline]
    fn advance(&mut self, n: usize) -> Range<usize> {
        let a = self.start;
        self.start += n;
        if !self.datagrams.is_empty() {
            self.consumed += n as u64;
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
        let from = self.start.max(self.scanned);
        let Some(i) = self.finder.find(&self.data[from..self.end]) else {
            self.scanned = self.end;
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

    /// Takes exactly `n` bytes; `n` must not exceed [`Buffer::len`].
    #[inline]
    pub(crate) fn take_exact(&mut self, n: usize) -> Range<usize> {
        debug_assert!(n <= self.len());
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
            self.scanned = 0;
        }
        if self.data.len() - self.end >= want {
            return;
        }
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned = self.scanned.saturating_sub(self.start);
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

    /// Called after each stream read of `n` bytes into `room` bytes of
    /// free space. A program whose reads keep coming back full is the slow
    /// side of the connection. Every read of a full receive queue reopens
    /// the TCP window once, and on loopback the sender's queued data then
    /// goes out on the reader's CPU: with 64 KiB reads that was 20% of a
    /// LuaJIT reader's time on 1000-byte lines (half its kernel time).
    /// Doubling the buffer, up to the read-ahead size, makes those reads
    /// fewer and larger. It only
    /// pays for a program that takes the data in small pieces (lines,
    /// records), which spends long enough on each buffer: one that takes
    /// it in big chunks is bound by copying, and copies faster through a
    /// small buffer that stays in the cache.
    #[inline]
    pub(crate) fn after_read(&mut self, n: usize, room: usize) {
        let pieces = std::mem::take(&mut self.pieces);
        if n < room || room < MIN_READ || pieces < SMALL_PIECES {
            self.deep = 0;
            return;
        }
        self.deep += 1;
        if self.deep >= DEEP_READS {
            self.deep = 0;
            let len = self.data.len();
            if len < self.read_ahead {
                self.data.resize((len * 2).min(self.read_ahead), 0);
            }
        }
    }

    /// Gives the memory back if the buffer is empty and grew past its
    /// initial size (read-ahead, a long line, a large read), so that a
    /// burst does not pin it for the life of the client; the next read
    /// allocates the initial size again. Called only once the connection
    /// has gone quiet: a buffer that keeps being refilled would otherwise
    /// be freed and grown again at every turn.
    #[inline]
    pub(crate) fn release_if_grown(&mut self) {
        if self.is_empty() && self.data.len() > self.initial {
            self.release();
        }
    }

    #[cold]
    fn release(&mut self) {
        // `skip_lf`, `consumed` and the datagram ends are about the stream,
        // not the memory: they stay.
        self.data = Vec::new();
        self.start = 0;
        self.end = 0;
        self.scanned = 0;
        self.deep = 0;
        self.pieces = 0;
    }

    /// Total space, for the bounded-memory tests.
    pub(crate) fn capacity(&self) -> usize {
        self.data.len()
    }
}
