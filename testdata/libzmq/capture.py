#!/usr/bin/python3
"""Record the exact bytes a real libzmq (through pyzmq) puts on the wire.

Each scenario pairs one pyzmq socket with a raw-TCP ZMTP peer written here in
Python (127.0.0.1, ephemeral ports, timeouts on everything). The raw peer
greets as ZMTP 3.1 (or 3.0 where noted), runs the handshake by hand and saves
what libzmq sent, split at protocol boundaries, into .bin files.

    /usr/bin/python3 testdata/libzmq/capture.py [--out DIR] [--quiet]

writes the files next to this script (or into DIR) and prints an xxd-style
listing of each, in the Markdown used by README.md. The Go test
internal/libzmqpeer TestCapturesUpToDate re-runs it and compares.
"""

import argparse
import os
import socket
import sys
import time

import zmq

TIMEOUT = 5.0  # seconds, for every raw socket operation
QUIET_WAIT = 0.3  # how long to watch for unexpected extra bytes

# --- ZMTP encoding (raw side) -----------------------------------------------


def greeting(mechanism=b"NULL", as_server=0, minor=1):
    g = b"\xff" + bytes(8) + b"\x7f" + bytes([3, minor])
    g += mechanism.ljust(20, b"\x00") + bytes([as_server]) + bytes(31)
    assert len(g) == 64
    return g


def frame(body, more=False, command=False):
    flags = (0x01 if more else 0) | (0x04 if command else 0)
    if len(body) > 255:
        return bytes([flags | 0x02]) + len(body).to_bytes(8, "big") + body
    return bytes([flags, len(body)]) + body


def command(name, data=b""):
    return frame(bytes([len(name)]) + name + data, command=True)


def prop(name, value):
    return bytes([len(name)]) + name + len(value).to_bytes(4, "big") + value


def ready(socket_type, identity=None):
    data = prop(b"Socket-Type", socket_type)
    if identity is not None:
        data += prop(b"Identity", identity)
    return command(b"READY", data)


# --- raw socket helpers -------------------------------------------------------


class Raw:
    """A TCP connection that keeps every byte it received, in order."""

    def __init__(self, sock):
        sock.settimeout(TIMEOUT)
        self.sock = sock
        self.received = bytearray()

    def exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("peer closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        self.received += buf
        return bytes(buf)

    def frame(self):
        """Reads one frame; returns (raw bytes incl. header, flags, body)."""
        head = self.exact(2)
        flags = head[0]
        if flags & 0x02:
            rest = self.exact(7)
            size = int.from_bytes(head[1:] + rest, "big")
            head += rest
        else:
            size = head[1]
        body = self.exact(size)
        return head + body, flags, body

    def command(self, name):
        raw, flags, body = self.frame()
        if not flags & 0x04:
            raise ValueError("expected command %s, got message frame %r" % (name, raw[:40]))
        got = body[1:1 + body[0]]
        if got != name:
            raise ValueError("expected command %s, got %s (%r)" % (name, got, raw[:60]))
        return raw

    def message(self):
        """Reads one whole multipart message; returns (raw, frames)."""
        raw, frames = b"", []
        while True:
            r, flags, body = self.frame()
            if flags & 0x04:
                raise ValueError("expected a message frame, got command %r" % r[:40])
            raw += r
            frames.append(body)
            if not flags & 0x01:
                return raw, frames

    def available(self, wait):
        """Whatever arrives within wait seconds (b"" if nothing)."""
        self.sock.settimeout(wait)
        buf = bytearray()
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except socket.timeout:
            pass
        finally:
            self.sock.settimeout(TIMEOUT)
        self.received += buf
        return bytes(buf)

    def expect_silence(self, what):
        extra = self.available(QUIET_WAIT)
        if extra:
            raise ValueError("%s: unexpected extra bytes %s" % (what, extra.hex()))

    def close(self):
        self.sock.close()


def listener():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(TIMEOUT)
    return ls, "tcp://127.0.0.1:%d" % ls.getsockname()[1]


def zsocket(ctx, kind, **opts):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, int(TIMEOUT * 1000))
    s.setsockopt(zmq.SNDTIMEO, int(TIMEOUT * 1000))
    for k, v in opts.items():
        s.setsockopt(getattr(zmq, k), v)
    return s


# --- scenarios ------------------------------------------------------------------


def cap_dealer(ctx, out, notes):
    """pyzmq DEALER (routing id dealer-1) connects to a raw NULL 'ROUTER'."""
    ls, ep = listener()
    d = zsocket(ctx, zmq.DEALER, ROUTING_ID=b"dealer-1")
    d.connect(ep)
    d.send_multipart([b"", b"hello", b"x" * 256])  # queued on the connect-side pipe
    raw = Raw(ls.accept()[0])
    try:
        raw.sock.sendall(greeting())
        out["dealer_greeting.bin"] = raw.exact(64)
        raw.sock.sendall(ready(b"ROUTER"))
        out["dealer_ready.bin"] = raw.command(b"READY")
        msg, frames = raw.message()
        assert frames == [b"", b"hello", b"x" * 256], frames
        out["dealer_message.bin"] = msg
        raw.expect_silence("dealer")
    finally:
        raw.close()
        ls.close()
        d.close()


def cap_staging(ctx, notes):
    """How libzmq stages its greeting when we send ours piecemeal."""
    ls, ep = listener()
    d = zsocket(ctx, zmq.DEALER)
    d.connect(ep)
    raw = Raw(ls.accept()[0])
    ours = greeting()
    steps = []
    try:
        steps.append(("before we send anything", raw.available(0.5)))
        raw.sock.sendall(ours[:10])
        steps.append(("after our bytes 0-9 (signature)", raw.available(0.5)))
        raw.sock.sendall(ours[10:11])
        steps.append(("after our byte 10 (major)", raw.available(0.5)))
        raw.sock.sendall(ours[11:])
        steps.append(("after our bytes 11-63", raw.available(0.5)))
    finally:
        raw.close()
        ls.close()
        d.close()
    notes.append("Greeting staging (DEALER, no routing id; bytes libzmq sent at each step):")
    for what, got in steps:
        notes.append("  %-34s %2d bytes  %s" % (what + ":", len(got), got.hex()))


def cap_sub(ctx, out, notes, minor=1, prefix="sub"):
    """pyzmq SUB (subscribed to b"topic") connects to a raw NULL 'PUB'."""
    ls, ep = listener()
    s = zsocket(ctx, zmq.SUB)
    s.setsockopt(zmq.SUBSCRIBE, b"topic")
    s.connect(ep)
    raw = Raw(ls.accept()[0])
    try:
        raw.sock.sendall(greeting(minor=minor))
        g = raw.exact(64)
        raw.sock.sendall(ready(b"PUB"))
        r = raw.command(b"READY")
        sub, _, _ = raw.frame()
        raw.expect_silence(prefix + " subscribe")
        s.setsockopt(zmq.UNSUBSCRIBE, b"topic")
        cancel, _, _ = raw.frame()
        raw.expect_silence(prefix + " cancel")
        if minor == 1:
            out[prefix + "_greeting.bin"] = g
            out[prefix + "_ready.bin"] = r
        out[prefix + "_subscribe.bin"] = sub
        out[prefix + "_cancel.bin"] = cancel
    finally:
        raw.close()
        ls.close()
        s.close()


def cap_plain_client(ctx, out, notes):
    """pyzmq DEALER as PLAIN client (admin/secret) against a raw PLAIN server."""
    ls, ep = listener()
    d = zsocket(ctx, zmq.DEALER, PLAIN_USERNAME=b"admin", PLAIN_PASSWORD=b"secret")
    d.connect(ep)
    d.send_multipart([b"after-plain"])
    raw = Raw(ls.accept()[0])
    try:
        raw.sock.sendall(greeting(b"PLAIN", as_server=1))
        out["plain_client_greeting.bin"] = raw.exact(64)
        out["plain_hello.bin"] = raw.command(b"HELLO")
        raw.sock.sendall(command(b"WELCOME"))
        out["plain_initiate.bin"] = raw.command(b"INITIATE")
        raw.sock.sendall(ready(b"ROUTER"))
        _, frames = raw.message()
        assert frames == [b"after-plain"], frames
        raw.expect_silence("plain client")
    finally:
        raw.close()
        ls.close()
        d.close()


def cap_plain_server(ctx, out, notes):
    """Raw client connects to a pyzmq PULL that is a PLAIN server: its greeting."""
    p = zsocket(ctx, zmq.PULL, PLAIN_SERVER=1)
    p.bind("tcp://127.0.0.1:*")
    host, port = p.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit("/", 1)[1].rsplit(":", 1)
    raw = Raw(socket.create_connection((host, int(port)), timeout=TIMEOUT))
    try:
        raw.sock.sendall(greeting(b"PLAIN", as_server=0))
        out["plain_server_greeting.bin"] = raw.exact(64)
    finally:
        raw.close()
        p.close()


def cap_router(ctx, out, notes):
    """Raw NULL client ('DEALER', Identity raw-client) connects to a pyzmq ROUTER."""
    r = zsocket(ctx, zmq.ROUTER)
    r.bind("tcp://127.0.0.1:*")
    host, port = r.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit("/", 1)[1].rsplit(":", 1)
    raw = Raw(socket.create_connection((host, int(port)), timeout=TIMEOUT))
    try:
        raw.sock.sendall(greeting())
        out["router_greeting.bin"] = raw.exact(64)
        # libzmq sends READY without waiting for ours: read it first.
        out["router_ready.bin"] = raw.command(b"READY")
        raw.sock.sendall(ready(b"DEALER", b"raw-client"))
        raw.sock.sendall(frame(b"", more=True) + frame(b"ping"))
        got = r.recv_multipart()
        assert got == [b"raw-client", b"", b"ping"], got
        r.send_multipart([b"raw-client", b"", b"pong"])
        msg, frames = raw.message()
        assert frames == [b"", b"pong"], frames
        raw.expect_silence("router")
    finally:
        raw.close()
        r.close()


# --- output -----------------------------------------------------------------------


def xxd(data):
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        hexpart = " ".join(chunk[i:i + 2].hex() for i in range(0, len(chunk), 2))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append("%08x: %-39s  %s" % (off, hexpart, text))
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--quiet", action="store_true", help="write the files, print nothing")
    a = ap.parse_args(argv)

    out, notes = {}, []
    ctx = zmq.Context()
    try:
        cap_dealer(ctx, out, notes)
        cap_sub(ctx, out, notes)
        cap_sub(ctx, out, notes, minor=0, prefix="sub_zmtp30")
        cap_plain_client(ctx, out, notes)
        cap_plain_server(ctx, out, notes)
        cap_router(ctx, out, notes)
        if not a.quiet:
            cap_staging(ctx, notes)
    finally:
        ctx.destroy(linger=0)

    os.makedirs(a.out, exist_ok=True)
    for name, data in out.items():
        with open(os.path.join(a.out, name), "wb") as f:
            f.write(data)
    if a.quiet:
        return 0
    print("libzmq %s (pyzmq %s)\n" % (zmq.zmq_version(), zmq.__version__))
    for name in sorted(out):
        data = out[name]
        print("### %s (%d bytes)\n\n```\n%s\n```\n" % (name, len(data), xxd(data)))
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
