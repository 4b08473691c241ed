#!/usr/bin/env python3
"""Scriptable TCP/UDP test peer for the Lua test suite (stdlib only).

Usage:
    peer.py [options] STEP [STEP ...]

The peer binds 127.0.0.1 (or ::1 with --ipv6) on port 0 and prints on stdout,
one per line, flushed at once:
    line 1: the port number
    line 2: "pid <n>"  (so the test can kill it early)
Then it runs the STEPs in order. Reports it makes for the test (what it
received, when it saw EOF, ...) are further stdout lines, listed below.
Diagnostics go to stderr.

It can never hang a test: a watchdog ends the process after --lifetime
seconds (default 10) whatever it is doing, and every blocking call has a
timeout no longer than the time left.

Options
  --udp             UDP instead of TCP.
  --ipv6            bind ::1 instead of 127.0.0.1.
  --lifetime S      hard limit on the peer's life, seconds (float).
  --rcvbuf N        SO_RCVBUF for the listening socket (inherited by the
                    accepted one); used with never_read.
  --free-port       print a port nothing listens on (bind, then close) and
                    exit. With --udp: a free UDP port.
  --fill-backlog    connect-timeout target: a TCP listener with backlog 0
                    whose accept queue is filled by one connection of the
                    peer's own, never accepted. Linux then drops new SYNs,
                    so a client's connect() times out (tested on loopback).
                    Prints the port, then holds until its lifetime ends.
  --http-dir DIR    run Python's own http.server (SimpleHTTPRequestHandler,
                    HTTP/1.0) serving DIR on loopback, print the port, serve
                    until the lifetime ends. A server nobody here wrote.

TCP steps (the first step needing a connection accepts one; the peer prints
"accepted <addr> <port>" with the client's address and port)
  accept            accept the next connection now (replaces the current).
  send:TEXT         send TEXT; Python escapes are decoded (\\n \\r \\0 \\xff
                    \\\\), so "send:a\\r\\nb" sends a CR LF b.
  sendhex:HEX       send raw bytes given in hex.
  sendrange:N       send N bytes whose value is i % 256 (i = 0..N-1).
  sendfill:N:C      send N copies of the one character C (big payloads).
  sendslip:N:LEN    send N SLIP frames, each LEN "A", an escaped END byte,
                    LEN "B" (so the receiver must unescape every packet).
  sendlines:N:LEN   send N numbered lines: "%07d:" then "y" up to LEN bytes,
                    then "\\n" (line k is the 7-digit k, a colon, LEN-8 y).
  drip:TEXT:MS      send TEXT one byte at a time, MS ms between bytes.
  flood:HEX:MS      send the bytes HEX over and over, 64 KiB at a time, as
                    fast as the reader takes them, for MS milliseconds.
  sleep:MS          pause MS milliseconds.
  print:TEXT        print TEXT on stdout (a sync point for the test).
  recv:N            read exactly N bytes (until the lifetime ends); prints
                    "data <hex>" (then "eof" if the stream ended early).
  recvline          read up to and including "\\n"; prints "data <hex>".
  recv_all          read until EOF; prints "data <hex>" then "eof".
  wait_eof          read and discard until EOF; prints "eof <nbytes>".
  wait_end          as wait_eof, but tells the end of the stream from a
                    reset: prints "end eof <nbytes>" or "end reset <nbytes>".
  slow_read:N:MS    read at most N bytes, pause MS ms, again, until EOF
                    (a reader that is slow but never stops); prints
                    "eof <nbytes>".
  http              read an HTTP request head; prints "request <line>" and
                    answers "HTTP/1.0 200 OK" with a 5-byte body "hello",
                    then closes.
  accept_all        accept every connection until the lifetime ends and keep
                    them open (prints nothing).
  echo              echo everything back until EOF; prints "eof".
  never_read        keep the connection open and never read from it (use
                    with --rcvbuf) until the lifetime ends.
  hold              accept if no connection yet, then keep it open and do
                    nothing until the lifetime ends.
  shutdown_wr       half-close: send FIN, keep reading possible.
  close             close the connection normally (FIN).
  reset             SO_LINGER {1, 0} then close: the client gets a RST.
  exit              exit at once (status 0).
  recv_slip         read one SLIP frame (END ... END, OSC 1.1); prints
                    "frame <hex>" of the unescaped packet.
  recv_size         read one size-prefixed frame (OSC 1.0); prints
                    "frame <hex>".

UDP steps (the client's address is learned from its first datagram)
  udp_recv          wait for one datagram; prints "data <hex>".
  udp_send:TEXT     send one datagram (escapes as for send:).
  udp_sendfill:N:C  send one datagram of N copies of C.
  udp_echo          echo datagrams back until the lifetime ends.
  (sleep, print, hold, exit work for UDP too.)

At the end of the script the peer closes what it holds and exits 0.
"""

import argparse
import codecs
import os
import socket
import struct
import sys
import threading
import time

DEADLINE = None


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def err(line):
    sys.stderr.write("peer.py: " + line + "\n")
    sys.stderr.flush()


def remaining():
    return max(0.01, DEADLINE - time.monotonic())


def unescape(text):
    return codecs.escape_decode(text.encode("latin-1"))[0]


def start_watchdog(lifetime):
    global DEADLINE
    DEADLINE = time.monotonic() + lifetime

    def die():
        err("lifetime of %.1f s reached, exiting" % lifetime)
        os._exit(0)

    t = threading.Timer(lifetime, die)
    t.daemon = True
    t.start()


def family(args):
    return (socket.AF_INET6, "::1") if args.ipv6 else (socket.AF_INET, "127.0.0.1")


def print_header(port):
    out(str(port))
    out("pid %d" % os.getpid())


class Tcp:
    def __init__(self, args):
        fam, host = family(args)
        self.listener = socket.socket(fam, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if args.rcvbuf:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
        self.listener.bind((host, 0))
        self.listener.listen(256)
        self.port = self.listener.getsockname()[1]
        self.conn = None

    def accept(self):
        self.listener.settimeout(remaining())
        conn, addr = self.listener.accept()
        if self.conn is not None:
            self.conn.close()
        self.conn = conn
        out("accepted %s %d" % (addr[0], addr[1]))

    def c(self):
        if self.conn is None:
            self.accept()
        self.conn.settimeout(remaining())
        return self.conn

    def send(self, data):
        self.c().sendall(data)

    def read_some(self, n=65536):
        try:
            return self.c().recv(n)
        except ConnectionResetError:
            return b""

    def step(self, name, arg):
        if name == "accept":
            self.accept()
        elif name == "send":
            self.send(unescape(arg))
        elif name == "sendhex":
            self.send(bytes.fromhex(arg))
        elif name == "sendrange":
            n = int(arg)
            # Not a generator per byte: 20 MB of them took seconds on a
            # loaded machine, past the receive timeouts of the tests.
            self.send((bytes(range(256)) * (n // 256 + 1))[:n])
        elif name == "sendfill":
            n, ch = arg.split(":", 1)
            self.send(unescape(ch) * int(n))
        elif name == "sendslip":
            n, size = (int(x) for x in arg.split(":", 1))
            frame = b"\xc0" + b"A" * size + b"\xdb\xdc" + b"B" * size + b"\xc0"
            self.send(frame * n)
        elif name == "sendlines":
            n, size = (int(x) for x in arg.split(":", 1))
            self.send(b"".join(b"%07d:" % k + b"y" * (size - 8) + b"\n" for k in range(n)))
        elif name == "flood":
            unit, ms = arg.rsplit(":", 1)
            chunk = bytes.fromhex(unit) * (65536 // len(bytes.fromhex(unit)))
            until = time.monotonic() + int(ms) / 1000.0
            while time.monotonic() < until:
                self.send(chunk)
        elif name == "drip":
            text, ms = arg.rsplit(":", 1)
            for b in unescape(text):
                self.send(bytes([b]))
                time.sleep(int(ms) / 1000.0)
        elif name == "recv":
            n = int(arg)
            buf = b""
            while len(buf) < n:
                chunk = self.read_some(n - len(buf))
                if not chunk:
                    out("data " + buf.hex())
                    out("eof")
                    return
                buf += chunk
            out("data " + buf.hex())
        elif name == "recvline":
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = self.read_some(1)
                if not chunk:
                    break
                buf += chunk
            out("data " + buf.hex())
        elif name == "recv_all":
            buf = b""
            while True:
                chunk = self.read_some()
                if not chunk:
                    break
                buf += chunk
            out("data " + buf.hex())
            out("eof")
        elif name == "wait_eof":
            total = 0
            while True:
                chunk = self.read_some()
                if not chunk:
                    break
                total += len(chunk)
            out("eof %d" % total)
        elif name == "wait_end":
            total, how = 0, "eof"
            while True:
                try:
                    chunk = self.c().recv(65536)
                except ConnectionResetError:
                    how = "reset"
                    break
                if not chunk:
                    break
                total += len(chunk)
            out("end %s %d" % (how, total))
        elif name == "slow_read":
            n, ms = (int(x) for x in arg.split(":"))
            total = 0
            while True:
                chunk = self.read_some(n)
                if not chunk:
                    break
                total += len(chunk)
                time.sleep(ms / 1000.0)
            out("eof %d" % total)
        elif name == "http":
            buf = b""
            while b"\r\n\r\n" not in buf and b"\n\n" not in buf:
                chunk = self.read_some()
                if not chunk:
                    break
                buf += chunk
            out("request " + buf.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1"))
            self.send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: 5\r\n\r\nhello")
            self.conn.close()
            self.conn = None
        elif name == "accept_all":
            kept = []
            while True:
                self.listener.settimeout(remaining())
                try:
                    conn, _ = self.listener.accept()
                except (socket.timeout, TimeoutError):
                    break
                kept.append(conn)
        elif name == "echo":
            while True:
                chunk = self.read_some()
                if not chunk:
                    break
                self.send(chunk)
            out("eof")
        elif name in ("never_read", "hold"):
            self.c()
            time.sleep(remaining())
        elif name == "shutdown_wr":
            self.c().shutdown(socket.SHUT_WR)
        elif name == "close":
            self.c().close()
            self.conn = None
        elif name == "reset":
            conn = self.c()
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            self.conn = None
        elif name == "recv_slip":
            out("frame " + self.recv_slip().hex())
        elif name == "recv_size":
            out("frame " + self.recv_size().hex())
        else:
            return False
        return True

    # OSC framing (checked here, independently of the module's own code)

    def read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.read_some(n - len(buf))
            if not chunk:
                raise OSError("end of stream inside a frame")
            buf += chunk
        return buf

    def recv_slip(self):
        """One SLIP frame (RFC 1055, OSC 1.1 double END): END, escaped
        bytes, END. Anything else (a missing leading END, a bad escape)
        is reported as a peer-error."""
        if self.read_exact(1) != b"\xc0":
            raise OSError("SLIP frame does not start with END")
        out_bytes = bytearray()
        while True:
            b = self.read_exact(1)[0]
            if b == 0xC0:
                if not out_bytes:
                    continue  # empty frame between ENDs
                return bytes(out_bytes)
            if b == 0xDB:
                e = self.read_exact(1)[0]
                if e == 0xDC:
                    out_bytes.append(0xC0)
                elif e == 0xDD:
                    out_bytes.append(0xDB)
                else:
                    raise OSError("bad SLIP escape 0xdb 0x%02x" % e)
            else:
                out_bytes.append(b)

    def recv_size(self):
        """One size-prefixed frame (OSC 1.0): 32-bit big-endian length,
        then that many bytes."""
        (n,) = struct.unpack(">I", self.read_exact(4))
        return self.read_exact(n)


class Udp:
    def __init__(self, args):
        fam, host = family(args)
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.client = None

    def recv(self):
        self.sock.settimeout(remaining())
        data, addr = self.sock.recvfrom(70000)
        self.client = addr
        return data

    def sendto(self, data):
        if self.client is None:
            self.recv()
        self.sock.sendto(data, self.client)

    def step(self, name, arg):
        if name == "udp_recv":
            out("data " + self.recv().hex())
        elif name == "udp_send":
            self.sendto(unescape(arg))
        elif name == "udp_sendfill":
            n, ch = arg.split(":", 1)
            self.sendto(unescape(ch) * int(n))
        elif name == "udp_echo":
            while True:
                try:
                    data = self.recv()
                except socket.timeout:
                    return True
                self.sock.sendto(data, self.client)
        elif name == "hold":
            time.sleep(remaining())
        else:
            return False
        return True


def run_script(peer, steps):
    for s in steps:
        name, _, arg = s.partition(":")
        if name == "sleep":
            time.sleep(int(arg) / 1000.0)
        elif name == "print":
            out(arg)
        elif name == "exit":
            os._exit(0)
        elif not peer.step(name, arg):
            err("unknown step %r" % s)
            os._exit(2)


def free_port(args):
    fam, host = family(args)
    s = socket.socket(fam, socket.SOCK_DGRAM if args.udp else socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    out(str(port))


def fill_backlog(args):
    fam, host = family(args)
    listener = socket.socket(fam, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    # With backlog 0 Linux queues one connection; once the accept queue is
    # full it drops further SYNs (tcp_abort_on_overflow = 0), so a new
    # connect() neither succeeds nor gets refused: it times out.
    fillers = []
    for _ in range(2):
        f = socket.socket(fam, socket.SOCK_STREAM)
        f.settimeout(0.2)
        try:
            f.connect((host, port))
        except OSError:
            pass
        fillers.append(f)
    print_header(port)
    time.sleep(remaining())


def http_dir(args):
    import functools
    import http.server
    fam, host = family(args)

    class Server(http.server.ThreadingHTTPServer):
        address_family = fam

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    handler = functools.partial(Quiet, directory=args.http_dir)
    srv = Server((host, 0), handler)
    srv.timeout = 0.2
    print_header(srv.server_address[1])
    while True:
        srv.handle_request()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--udp", action="store_true")
    p.add_argument("--ipv6", action="store_true")
    p.add_argument("--lifetime", type=float, default=10.0)
    p.add_argument("--rcvbuf", type=int, default=0)
    p.add_argument("--free-port", action="store_true")
    p.add_argument("--fill-backlog", action="store_true")
    p.add_argument("--http-dir")
    p.add_argument("steps", nargs="*")
    args = p.parse_args()

    if args.free_port:
        free_port(args)
        return
    start_watchdog(args.lifetime)
    try:
        if args.fill_backlog:
            fill_backlog(args)
        elif args.http_dir:
            http_dir(args)
        else:
            peer = Udp(args) if args.udp else Tcp(args)
            print_header(peer.port)
            run_script(peer, args.steps)
    except (socket.timeout, TimeoutError):
        err("timed out (lifetime) in %r" % (args.steps,))
        out("peer-timeout")
    except OSError as e:
        err("socket error: %s" % e)
        out("peer-error %s" % e)
    # Let the kernel flush what we sent before the process goes away.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
