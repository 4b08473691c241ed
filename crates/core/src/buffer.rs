//! The receive buffer: bytes read from the kernel and not yet handed out.
//!
//! All parsing happens here, on bytes that are already ours, so a timeout
//! can never drop anything: a call that gives up simply leaves the buffer
//! as it is. (A framed receive drops the empty frames it has skipped,
//! which carry nothing: see `Deframer::take_skipped`.)

use crate::client::MIN_READ;
use std::collections::VecDeque;
use std::ops::Range;
use std::time::{Duration, Instant};

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
    /// Stream offset of `data[0]`, so `base + start` is the offset of the
    /// next byte to hand out. Datagram boundaries are kept as stream
    /// offsets: taking bytes touches neither (a take is the hot path of
    /// every receive), only moving the data to the front does.
    base: u64,
    /// UDP: stream offsets where each buffered datagram ends; the ones
    /// already handed out are dropped lazily (see
    /// [`Buffer::drop_finished_datagrams`]).
    datagrams: VecDeque<u64>,
    finder: Finder,
    /// Size of the first allocation.
    initial: usize,
    /// Reads in a row that filled all the free space (see
    /// [`Buffer::after_read`]).
    deep: u8,
    /// Size [`Buffer::after_read`] may grow the buffer to.
    read_ahead: usize,
    /// When the last read was a zero-timeout read of whole chunks that
    /// found data (see [`Buffer::came_back_late`]).
    last_chunk_poll: Option<Instant>,
    /// Grown by a call that read on for one chunk (see
    /// [`Buffer::release_if_grown_for_chunk`]).
    chunk_grown: bool,
}

/// Full reads in a row after which the buffer doubles.
const DEEP_READS: u8 = 2;
/// Fewest pieces (lines, records) of the size the program takes that a
/// read must hold for the buffer to grow (see [`Buffer::after_read`]).
const SMALL_PIECES: usize = 16;
/// Least time between two zero-timeout reads of whole chunks for the
/// second to count as a program that came back late (see
/// [`Buffer::came_back_late`]).
const POLL_GAP: Duration = Duration::from_millis(5);
/// Largest first allocation. A larger all-chunk size is reached only by a
/// zero-timeout `"*all"` of a program that came back late, which reads on
/// into a grown buffer (see `Client::all`), so a connection read in a loop
/// never holds it.
pub(crate) const MAX_INITIAL: usize = 64 << 10;

/// How the call that reads takes what it reads (see [`Buffer::after_read`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Takes {
    /// Pieces of at least this size: the record size, or the part of a
    /// line already buffered (a lower bound of its length).
    Pieces(usize),
    /// Everything buffered, up to the all-chunk size (`"*all"`).
    Chunks,
    /// Framed packets.
    Whole,
}

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

    /// The first terminator in `data[from..end]`, as an offset from `from`.
    /// The bytes of `data` past `end` (stale, but initialised) may be read
    /// and are ignored: a short line then costs one load, not a byte loop.
    #[inline(always)]
    fn find(&self, data: &[u8], from: usize, end: usize) -> Option<usize> {
        // The search below reads by pointer: a broken invariant must stop
        // here, not read out of bounds.
        assert!(from <= end && end <= data.len());
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: the CPU has AVX2 (checked in `new`); bounds checked
            // above.
            return unsafe { avx2::find(data, from, end) };
        }
        memchr::memchr2(b'\n', b'\r', &data[from..end])
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The line-terminator search, for long lines about as fast as a
    //! one-byte `memchr`, for short ones one load.
    //!
    //! `memchr2` compares every 32-byte block twice (with `\n` and with
    //! `\r`), and for fewer than 32 bytes falls back to narrower code. Here
    //! one shuffle and one compare find both terminators exactly (a
    //! nibble-indexed table holds `\n` at 0xa, `\r` at 0xd and 0xff
    //! elsewhere, which no ASCII byte equals; bytes >= 0x80 shuffle to 0),
    //! the loads after the first are aligned (an unaligned 32-byte load
    //! crosses a cache line every other time), and a hay shorter than 32
    //! bytes is one load of the buffer's own slack, masked.
    use std::arch::x86_64::*;

    /// All ones in the bytes of `v` that are `\n` or `\r`.
    #[inline(always)]
    unsafe fn eq(v: __m256i) -> __m256i {
        const N: i8 = -1;
        let table = _mm256_setr_epi8(
            N, N, N, N, N, N, N, N, N, N, 0x0a, N, N, 0x0d, N, N, //
            N, N, N, N, N, N, N, N, N, N, 0x0a, N, N, 0x0d, N, N,
        );
        _mm256_cmpeq_epi8(v, _mm256_shuffle_epi8(table, v))
    }

    /// Bit `k` set when byte `k` of `v` is a terminator.
    #[inline(always)]
    unsafe fn bits(v: __m256i) -> u32 {
        _mm256_movemask_epi8(eq(v)) as u32
    }

    /// The first `\n` or `\r` in `data[from..end]`, as an offset from
    /// `from`; bytes of `data` after `end` may be read and are ignored.
    ///
    /// # Safety
    /// The CPU must support AVX2, and `from <= end <= data.len()`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn find(data: &[u8], from: usize, end: usize) -> Option<usize> {
        let n = end - from;
        // Every load below reads 32 bytes at an offset <= data.len() - 32.
        let room = data.len() - from;
        if room < 32 {
            return memchr::memchr2(b'\n', b'\r', data.get_unchecked(from..end));
        }
        let p = data.as_ptr().add(from);
        let m = bits(_mm256_loadu_si256(p.cast()));
        if n < 32 {
            // Only the first n bits are ours; the rest is stale slack.
            let m = m & ((1u32 << n) - 1);
            return (m != 0).then(|| m.trailing_zeros() as usize);
        }
        if m != 0 {
            return Some(m.trailing_zeros() as usize);
        }
        // On to the next 32-byte boundary (1 to 32 bytes on), which
        // overlaps bytes already searched: they hold no terminator.
        let mut i = 32 - (p as usize & 31);
        while i + 128 <= n {
            let a = eq(_mm256_load_si256(p.add(i).cast()));
            let b = eq(_mm256_load_si256(p.add(i + 32).cast()));
            let c = eq(_mm256_load_si256(p.add(i + 64).cast()));
            let d = eq(_mm256_load_si256(p.add(i + 96).cast()));
            let any = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d));
            if _mm256_movemask_epi8(any) != 0 {
                let lo = _mm256_movemask_epi8(a) as u32 as u64
                    | (_mm256_movemask_epi8(b) as u32 as u64) << 32;
                if lo != 0 {
                    return Some(i + lo.trailing_zeros() as usize);
                }
                let hi = _mm256_movemask_epi8(c) as u32 as u64
                    | (_mm256_movemask_epi8(d) as u32 as u64) << 32;
                return Some(i + 64 + hi.trailing_zeros() as usize);
            }
            i += 128;
        }
        while i < n {
            if i + 32 > room {
                // The end of the allocation: no slack to read into.
                let rest = data.get_unchecked(from + i..end);
                return memchr::memchr2(b'\n', b'\r', rest).map(|k| i + k);
            }
            let m = bits(_mm256_load_si256(p.add(i).cast()));
            if m != 0 {
                let k = i + m.trailing_zeros() as usize;
                return (k < n).then_some(k);
            }
            i += 32;
        }
        None
    }

    #[cfg(test)]
    mod tests {
        /// Random letters with tabs, other control bytes, bytes >= 0x80
        /// and sometimes terminators; slack after the hay full of
        /// terminators, which must never be reported.
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
            const NEAR: [u8; 12] = [
                b'\t', 0x08, 0x0b, 0x0c, 0x0e, 0x0f, 0x1a, 0x8a, 0x8d, 0xff, b'\n', b'\r',
            ];
            for len in 0..600 {
                for round in 0..20 {
                    let from = next() as usize % 40;
                    let slack = [0, 1, 5, 31, 32, 40, 200][round % 7];
                    let mut data = vec![b'\n'; from + len + slack];
                    for b in &mut data[from..from + len] {
                        *b = b'a' + (next() % 26) as u8;
                    }
                    for _ in 0..(next() % 4) {
                        if len > 0 {
                            let i = from + next() as usize % len;
                            data[i] = NEAR[next() as usize % NEAR.len()];
                        }
                    }
                    let end = from + len;
                    let want = memchr::memchr2(b'\n', b'\r', &data[from..end]);
                    // SAFETY: AVX2 checked above; from <= end <= len.
                    let got = unsafe { super::find(&data, from, end) };
                    assert_eq!(got, want, "len {len} from {from} slack {slack}");
                }
            }
        }
    }
}

impl Buffer {
    /// A buffer that allocates `cap` bytes on its first read (a TCP
    /// client's first read that can find something, see `Client::fill`), so idle
    /// connections (a server may hold thousands) cost no buffer memory.
    pub(crate) fn with_capacity(cap: usize, read_ahead: usize) -> Buffer {
        Buffer {
            data: Vec::new(),
            initial: cap,
            start: 0,
            end: 0,
            scanned: 0,
            skip_lf: false,
            base: 0,
            datagrams: VecDeque::new(),
            finder: Finder::new(),
            deep: 0,
            read_ahead,
            last_chunk_poll: None,
            chunk_grown: false,
        }
    }

    /// True until the first read has allocated the buffer.
    #[inline]
    pub(crate) fn is_unallocated(&self) -> bool {
        self.data.is_empty()
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
                self.advance(1);
            }
        }
    }

    /// Moves `start` back to where `result` points, if that is in the
    /// part of `data` already handed out (see `Client::give_back`).
    pub(crate) fn give_back(&mut self, result: *const u8) -> bool {
        // Compared as addresses: `result` may point anywhere.
        let at = (result as usize).wrapping_sub(self.data.as_ptr() as usize);
        if at > self.start {
            return false;
        }
        self.start = at;
        true
    }

    /// Moves past the next `n` bytes (handed to the program, or half a
    /// terminator) and returns their range.
    #[inline]
    fn advance(&mut self, n: usize) -> Range<usize> {
        let a = self.start;
        self.start += n;
        a..a + n
    }

    /// Forgets the datagrams whose bytes have all been handed out.
    fn drop_finished_datagrams(&mut self) {
        let next = self.position();
        while self.datagrams.front().is_some_and(|&e| e <= next) {
            self.datagrams.pop_front();
        }
    }

    /// Stream offset of the next byte to hand out: it moves whenever
    /// anything is taken, by any mode.
    pub(crate) fn position(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Stream offset just past the last byte received: [`position`](Self::position)
    /// plus what is buffered.
    pub(crate) fn received(&self) -> u64 {
        self.position() + self.len() as u64
    }

    /// The data now starts at `start`: moves the origin there. Called
    /// whenever the bytes move to the front of `data` or `data` is
    /// dropped.
    #[inline]
    fn rebase(&mut self) {
        self.base += self.start as u64;
    }

    /// Takes one line if a terminator is buffered: `\n`, `\r\n` or a lone
    /// `\r`. Returns the range of the line without its terminator, or
    /// `Err(())` (consuming nothing) when that line is longer than `max`.
    // Always inlined: returned through memory, its result was read back
    // with one 16-byte load from two 8-byte stores, which the CPU cannot
    // forward (~7 ns a line in the Lua module's `Client::receive`).
    #[inline(always)]
    pub(crate) fn take_line(&mut self, max: usize) -> Option<Result<Range<usize>, ()>> {
        self.settle();
        let from = self.start.max(self.scanned);
        // Nothing new since the last look (an empty buffer, a request and
        // its reply): no search.
        if from >= self.end {
            return None;
        }
        let Some(i) = self.finder.find(&self.data, from, self.end) else {
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
        self.advance(pos - a + term);
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
        self.advance(n)
    }

    /// Takes exactly `n` bytes; `n` must not exceed [`Buffer::len`].
    #[inline]
    pub(crate) fn take_exact(&mut self, n: usize) -> Range<usize> {
        debug_assert!(n <= self.len());
        self.advance(n)
    }

    /// Takes up to `n` bytes.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Range<usize> {
        let n = n.min(self.len());
        self.advance(n)
    }

    /// UDP: bytes left in the current datagram.
    pub(crate) fn current_datagram_len(&mut self) -> usize {
        self.drop_finished_datagrams();
        match self.datagrams.front() {
            Some(&e) => (e - (self.base + self.start as u64)) as usize,
            None => self.len(),
        }
    }

    /// Makes at least `want` bytes of free space after the data, moving the
    /// data to the front first. Growth doubles (so a long line costs
    /// amortised O(1) per byte) but never past `limit` unless `want` itself
    /// needs more; the callers bound `want`, which bounds memory. If the
    /// memory cannot be had (a process under `ulimit -v`), the buffer is
    /// left as it was and the size asked for is the error.
    pub(crate) fn reserve(&mut self, want: usize, limit: usize) -> Result<(), usize> {
        if self.start == self.end {
            self.rebase();
            self.start = 0;
            self.end = 0;
            self.scanned = 0;
        }
        if self.data.len() - self.end >= want {
            return Ok(());
        }
        if self.start > 0 {
            self.rebase();
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned = self.scanned.saturating_sub(self.start);
            self.start = 0;
            if self.data.len() - self.end >= want {
                return Ok(());
            }
        }
        let need = self.end.saturating_add(want);
        let new_len = if self.data.is_empty() {
            need.max(self.initial)
        } else {
            self.data.len().saturating_mul(2).min(limit).max(need)
        };
        self.grow_to(new_len)
    }

    /// Grows the data to `len` bytes, or leaves it as it was: a failed
    /// allocation is an error, not the end of the process.
    fn grow_to(&mut self, len: usize) -> Result<(), usize> {
        let extra = len.saturating_sub(self.data.len());
        self.data.try_reserve_exact(extra).map_err(|_| len)?;
        self.data.resize(len, 0);
        Ok(())
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
            // Bounded by the datagrams buffered, whatever mode reads them.
            self.drop_finished_datagrams();
            self.datagrams.push_back(self.base + self.end as u64);
        }
    }

    /// Called after each stream read of `n` bytes into `room` bytes of
    /// free space. A program whose reads keep coming back full is the slow
    /// side of the connection. Every read of a full receive queue reopens
    /// the TCP window once, and on loopback the sender's queued data then
    /// goes out on the reader's CPU: with 64 KiB reads that was 20% of a
    /// LuaJIT reader's time on 1000-byte lines (half its kernel time).
    /// Doubling the buffer, up to the read-ahead size, makes those reads
    /// fewer and larger. It only pays for a program that takes the data
    /// in small pieces (lines, records), which spends long enough on each
    /// buffer: one that takes it in big chunks is bound by copying, and
    /// copies faster through a small buffer that stays in the cache.
    ///
    /// `takes` is how the reading call takes what it reads; whole chunks
    /// never grow the buffer here (see `Client::all` for the one case
    /// where a call reads on). A read for pieces or packets also forgets
    /// when the last zero-timeout `"*all"` read was (see
    /// [`Buffer::came_back_late`]; `Client::all` forgets it for its own
    /// other reads).
    #[inline]
    pub(crate) fn after_read(&mut self, n: usize, room: usize, takes: Takes) {
        let piece = match takes {
            Takes::Pieces(piece) => {
                self.last_chunk_poll = None;
                piece
            }
            // Ends a run of full reads like a large piece (which is what it
            // is); `Client::all` decides about the last poll.
            Takes::Chunks => usize::MAX,
            Takes::Whole => {
                self.last_chunk_poll = None;
                usize::MAX
            }
        };
        if n < room || room < MIN_READ || piece.saturating_mul(SMALL_PIECES) > room {
            self.deep = 0;
            return;
        }
        self.deep += 1;
        if self.deep >= DEEP_READS {
            self.deep = 0;
            let len = self.data.len();
            if len < self.read_ahead {
                // Only an optimisation: without the memory, reads go on
                // in the size there is.
                let _ = self.grow_to((len * 2).min(self.read_ahead));
            }
        }
    }

    /// At a zero-timeout `"*all"` whose read, into an empty buffer, found
    /// data: true if the last read was one of the same kind, at least
    /// [`POLL_GAP`] ago (any other read in between, which may have waited,
    /// starts the count over; polls that found nothing do not count). That time is then the program's own, away from the
    /// socket, not a wait for the sender: a program polling from a timer.
    /// A loop that takes chunks as fast as it can is better off with
    /// chunks of the small buffer, even when it falls behind its sender:
    /// under LuaJIT each is a string, and strings past 128 KiB are mapped
    /// and unmapped one by one (the benchmark's bulk loop went from 4.6 to
    /// 2.1 GB/s with 1 MiB chunks, which take 0.7 ms each to make there;
    /// the gap is well above that).
    pub(crate) fn came_back_late(&mut self) -> bool {
        let now = Instant::now();
        let last = self.last_chunk_poll.replace(now);
        last.is_some_and(|t| now.duration_since(t) >= POLL_GAP)
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

    /// Frees the memory of an empty buffer; the next read allocates the
    /// initial size again.
    #[inline]
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() && !self.data.is_empty() {
            self.release();
        }
    }

    #[cold]
    fn release(&mut self) {
        // `skip_lf`, the stream offset and the datagram ends are about the
        // stream, not the memory: they stay.
        self.rebase();
        self.data = Vec::new();
        self.start = 0;
        self.end = 0;
        self.scanned = 0;
        self.deep = 0;
    }

    /// Drops what is buffered and everything known about the stream, but
    /// keeps the memory, unwritten: see `Client::close_keeping_buffer`.
    #[cold]
    pub(crate) fn forget(&mut self) {
        self.start = 0;
        self.end = 0;
        self.scanned = 0;
        self.skip_lf = false;
        self.base = 0;
        self.datagrams.clear();
        self.deep = 0;
    }

    /// Puts `bytes` back in front of the data not handed out yet (bytes
    /// handed out that the program gives back): the stream offset moves
    /// back by as many, and the line search starts over.
    #[cold]
    pub(crate) fn unread(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.start >= bytes.len() {
            self.start -= bytes.len();
            self.data[self.start..self.start + bytes.len()].copy_from_slice(bytes);
        } else {
            let mut data = Vec::with_capacity((bytes.len() + self.len()).max(self.initial));
            data.extend_from_slice(bytes);
            data.extend_from_slice(&self.data[self.start..self.end]);
            let len = data.len();
            data.resize(len.max(self.initial), 0);
            self.base = (self.base + self.start as u64).saturating_sub(bytes.len() as u64);
            self.data = data;
            self.start = 0;
            self.end = len;
        }
        self.scanned = self.start;
        self.deep = 0;
    }

    /// A read that is not a zero-timeout `"*all"` on an empty buffer (see
    /// [`Buffer::came_back_late`]) restarts the count.
    #[inline]
    pub(crate) fn forget_last_poll(&mut self) {
        self.last_chunk_poll = None;
    }

    /// Marks the buffer as grown for one call's chunk (`Client::all_pending`).
    #[cold]
    pub(crate) fn grew_for_chunk(&mut self) {
        self.chunk_grown = true;
    }

    /// Called by a `"*all"` that finds the buffer empty: frees it if it grew
    /// for an earlier call's chunk, unless this call is another zero-timeout
    /// one (`poll`) of a program that has been away a while (see
    /// [`Buffer::came_back_late`]). A program that keeps polling late reads
    /// into the grown buffer at once, and larger reads are what lets the
    /// system grow its receive queue (it sizes it by what the program takes
    /// per read); a loop that takes chunks as fast as it can gets the small
    /// buffer back.
    #[inline]
    pub(crate) fn release_if_grown_for_chunk(&mut self, poll: bool) {
        if self.chunk_grown {
            self.chunk_grown = false;
            let away = poll
                && self
                    .last_chunk_poll
                    .is_some_and(|t| t.elapsed() >= POLL_GAP);
            if !away {
                self.release_if_grown();
            }
        }
    }

    /// Whether the last read filled all the free space.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.end == self.data.len()
    }

    /// Total space, for the bounded-memory tests.
    pub(crate) fn capacity(&self) -> usize {
        self.data.len()
    }
}

/// `bytes` as a new `Vec`, or an out-of-memory error instead of the abort
/// of `to_vec` (a copy as large as what a peer sent, or a program built,
/// in a process with a memory limit).
pub(crate) fn copy_of(bytes: &[u8]) -> crate::Result<Vec<u8>> {
    let mut v = Vec::new();
    if !try_extend(&mut v, bytes) {
        return Err(out_of_memory(format_args!(
            "cannot copy {} bytes",
            bytes.len()
        )));
    }
    Ok(v)
}

/// Appends `bytes` to `v`; `false`, appending nothing, when there is no
/// memory for them.
pub(crate) fn try_extend(v: &mut Vec<u8>, bytes: &[u8]) -> bool {
    if v.try_reserve_exact(bytes.len()).is_err() {
        return false;
    }
    v.extend_from_slice(bytes);
    true
}

/// `Error::Io` of kind `OutOfMemory`: "out of memory: {what}".
#[cold]
pub(crate) fn out_of_memory(what: std::fmt::Arguments<'_>) -> crate::Error {
    crate::Error::Io(std::io::Error::new(
        std::io::ErrorKind::OutOfMemory,
        format!("out of memory: {what}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::Buffer;

    /// Appends one datagram as a UDP read would.
    fn datagram(b: &mut Buffer, bytes: &[u8]) {
        b.reserve(bytes.len().max(1), usize::MAX).unwrap();
        b.spare()[..bytes.len()].copy_from_slice(bytes);
        b.commit(bytes.len(), true);
    }

    #[test]
    fn datagram_bounds_survive_takes_of_every_kind_and_compaction() {
        let mut b = Buffer::with_capacity(64, 0);
        datagram(&mut b, b"hello");
        datagram(&mut b, b"a\nb");
        datagram(&mut b, b"wxyz");
        assert_eq!(b.current_datagram_len(), 5);
        let r = b.take(2);
        assert_eq!(b.bytes(r), b"he");
        assert_eq!(b.current_datagram_len(), 3);
        let r = b.take(3);
        assert_eq!(b.bytes(r), b"llo");
        assert_eq!(b.current_datagram_len(), 3);
        let r = b.take_line(100).unwrap().unwrap();
        assert_eq!(b.bytes(r), b"a");
        assert_eq!(b.current_datagram_len(), 1);
        let r = b.take_exact(1);
        assert_eq!(b.bytes(r), b"b");
        // Fill up so the next datagram moves the data to the front.
        for _ in 0..20 {
            datagram(&mut b, b"0123456789");
        }
        assert_eq!(b.current_datagram_len(), 4);
        let r = b.take(4);
        assert_eq!(b.bytes(r), b"wxyz");
        for _ in 0..20 {
            assert_eq!(b.current_datagram_len(), 10);
            let r = b.take(10);
            assert_eq!(b.bytes(r), b"0123456789");
        }
        assert!(b.is_empty());
    }

    #[test]
    fn a_udp_buffer_read_by_lines_keeps_no_finished_datagrams() {
        let mut b = Buffer::with_capacity(64, 0);
        for i in 0..10_000u32 {
            datagram(&mut b, format!("{i}\n").as_bytes());
            let r = b.take_line(100).unwrap().unwrap();
            assert_eq!(b.bytes(r), i.to_string().as_bytes());
            assert!(
                b.datagrams.len() <= 1,
                "{} datagram ends kept",
                b.datagrams.len()
            );
        }
    }
}
