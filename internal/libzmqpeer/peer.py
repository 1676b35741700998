#!/usr/bin/python3
"""A single libzmq socket (through pyzmq) driven by line commands on stdin.

Used by the Go test kit in this directory (peer.go) to run interop tests
against a real libzmq. One socket is created from the command-line options,
bound and/or connected, then the script prints

    BOUND <endpoint>        one line per --bind, with the resolved endpoint
    READY <last_endpoint>   ZMQ_LAST_ENDPOINT after all binds and connects

and executes one command per line from stdin, replying on stdout (flushed
after every reply). Frames are hex-encoded; "-" stands for an empty frame.

    send F1 F2 ...      send one multipart message          -> OK | ERR <text>
    recv                receive one multipart message       -> MSG F1 F2 ... | TIMEOUT | ERR <text>
    recvn N             receive N messages                  -> N x MSG (stops early at TIMEOUT / ERR)
    echo N              receive N messages, send each back  -> OK | TIMEOUT | ERR <text>
    sendn N SIZE [F..]  send N messages of SIZE bytes       -> OK | ERR <text>
    sendfrom I N SIZE [F..]   sendn starting at index I     -> OK | ERR <text>
    recvcheck N SIZE [F..]    receive N sendn-style messages -> OK | TIMEOUT | ERR <text>
    reqn N SIZE [F..]   N round trips: send message i, the reply must be the same
                                                            -> OK | TIMEOUT | ERR <text>
    sub TOPIC / unsub TOPIC   (SUB: socket option; XSUB: 0x01/0x00 frame) -> OK | ERR
    events              monitor events seen so far (needs --monitor) -> EVENTS NAME:VALUE ...
    sleep MS            sleep                               -> OK
    quit                close (linger 0 unless --linger), terminate the context, exit 0 -> OK

sendn convention: message i (from 0) is SIZE bytes; its first min(8, SIZE)
bytes are i in big-endian (when SIZE < 8, the low-order SIZE bytes of the
8-byte big-endian index), the rest is 0x00. Optional frames after SIZE are
sent before the payload frame (e.g. a ROUTER routing id, or an empty
delimiter). recvcheck checks every message exactly: it must be the frames
F.. given after SIZE (e.g. the identity a ROUTER puts first, a delimiter),
each byte for byte, then the payload frame, and nothing more; the first
difference (frame count, which frame, size, index, padding) is reported.
reqn (for REQ) sends message i of the same shape and checks that the reply
is that message again, frame for frame.

End of stdin behaves like quit. Errors go to stderr; bad usage exits 2.
"""

import argparse
import sys
import time

import zmq

TYPES = {
    "PAIR": zmq.PAIR,
    "PUB": zmq.PUB,
    "SUB": zmq.SUB,
    "REQ": zmq.REQ,
    "REP": zmq.REP,
    "DEALER": zmq.DEALER,
    "ROUTER": zmq.ROUTER,
    "PULL": zmq.PULL,
    "PUSH": zmq.PUSH,
    "XPUB": zmq.XPUB,
    "XSUB": zmq.XSUB,
}

out = sys.stdout


def reply(line):
    out.write(line)
    out.write("\n")
    out.flush()


def log(msg):
    sys.stderr.write("peer.py: %s\n" % msg)
    sys.stderr.flush()


def enc(frame):
    if len(frame) == 0:
        return "-"
    return frame.hex()


def dec(tok):
    if tok == "-":
        return b""
    return bytes.fromhex(tok)


def err_text(e):
    if isinstance(e, zmq.ZMQError):
        name = zmq.Errno(e.errno).name if e.errno in zmq.Errno._value2member_map_ else str(e.errno)
        return "%s %s" % (name, e.strerror)
    return "%s %s" % (type(e).__name__, e)


def index_bytes(i, size):
    """The sendn prefix of message i for a message of size bytes."""
    b = i.to_bytes(8, "big")
    if size < 8:
        return b[8 - size:]
    return b


def make_payload(i, size):
    p = index_bytes(i, size)
    if size > 8:
        p += bytes(size - 8)
    return p


def show(frame):
    """A frame for an error line: its size and at most 16 bytes of hex."""
    if len(frame) <= 16:
        return "%dB:%s" % (len(frame), enc(frame))
    return "%dB:%s..." % (len(frame), frame[:16].hex())


def check_msg(m, i, size, prefix):
    """Why m is not message i of the sendn convention behind the frames
    prefix (exactly: frame count, every frame), or None."""
    if len(m) != len(prefix) + 1:
        return "message %d: %d frames, want %d" % (i, len(m), len(prefix) + 1)
    for j, want in enumerate(prefix):
        if m[j] != want:
            at = next((k for k in range(min(len(m[j]), len(want))) if m[j][k] != want[k]), None)
            where = "" if at is None else " (first difference at octet %d)" % at
            return "message %d: frame %d is %s, want %s%s" % (i, j, show(m[j]), show(want), where)
    f = m[-1]
    if len(f) != size:
        return "message %d: payload frame %d: size %d, want %d" % (i, len(prefix), len(f), size)
    k = min(size, 8)
    want = index_bytes(i, size)
    if f[:k] != want:
        return "message %d: payload frame %d: index %s, want %s" % (i, len(prefix), f[:k].hex(), want.hex())
    if size > 8 and f.count(0, 8) != size - 8:
        return "message %d: payload frame %d: padding is not all 0x00" % (i, len(prefix))
    return None


def translate_bind(ep):
    # libzmq wants "*" for an ephemeral TCP port; Go habitually says ":0".
    if ep.startswith("tcp://") and ep.endswith(":0"):
        return ep[:-2] + ":*"
    return ep


def glue_values(ap, argv):
    """argv with every option's value attached ("--curve-secret=VALUE"): a
    Z85 key may start with '-', which argparse would take for an option."""
    takes_value = {o for act in ap._actions if act.nargs is None and act.const is None
                   for o in act.option_strings}
    out, i = [], 0
    while i < len(argv):
        tok = argv[i]
        if tok in takes_value and i + 1 < len(argv):
            out.append(tok + "=" + argv[i + 1])
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="peer.py", description="libzmq peer for dripdrop tests")
    ap.add_argument("--type", required=True, type=str.upper, choices=sorted(TYPES))
    ap.add_argument("--bind", action="append", default=[])
    ap.add_argument("--connect", action="append", default=[])
    ap.add_argument("--identity", help="routing id, hex")
    ap.add_argument("--rcvtimeo", type=int, default=10000)
    ap.add_argument("--sndtimeo", type=int, default=10000)
    ap.add_argument("--plain-server", action="store_true")
    ap.add_argument("--plain-user")
    ap.add_argument("--plain-pass")
    ap.add_argument("--plain-users", help="user:pass,... (starts a ZAP authenticator)")
    ap.add_argument("--curve-server", action="store_true")
    ap.add_argument("--curve-secret")
    ap.add_argument("--curve-public")
    ap.add_argument("--curve-serverkey")
    ap.add_argument("--curve-allow-any", action="store_true")
    ap.add_argument("--curve-allow", help="Z85 client public keys, comma separated")
    ap.add_argument("--heartbeat-ivl", type=int)
    ap.add_argument("--heartbeat-timeout", type=int)
    ap.add_argument("--heartbeat-ttl", type=int)
    ap.add_argument("--hwm", type=int, help="both SNDHWM and RCVHWM")
    ap.add_argument("--sndhwm", type=int)
    ap.add_argument("--rcvhwm", type=int)
    ap.add_argument("--router-mandatory", action="store_true")
    ap.add_argument("--linger", type=int, help="ms; applied at quit (default 0)")
    ap.add_argument("--maxmsgsize", type=int)
    ap.add_argument("--immediate", action="store_true")
    ap.add_argument("--conflate", action="store_true")
    ap.add_argument("--reconnect-ivl", type=int)
    ap.add_argument("--handshake-ivl", type=int)
    ap.add_argument("--req-relaxed", action="store_true")
    ap.add_argument("--req-correlate", action="store_true")
    ap.add_argument("--xpub-verbose", action="store_true")
    ap.add_argument("--zap-domain")
    ap.add_argument("--monitor", action="store_true", help="record socket monitor events for 'events'")
    a = ap.parse_args(glue_values(ap, argv))
    if not a.bind and not a.connect:
        ap.error("need at least one --bind or --connect")
    if (a.plain_user is None) != (a.plain_pass is None):
        ap.error("--plain-user and --plain-pass go together")
    if a.curve_server and (not a.curve_secret):
        ap.error("--curve-server needs --curve-secret")
    if a.curve_serverkey and not (a.curve_public and a.curve_secret):
        ap.error("--curve-serverkey needs --curve-public and --curve-secret")
    if a.identity is not None:
        try:
            bytes.fromhex(a.identity)
        except ValueError:
            ap.error("--identity must be hex")
    return a


class AllowKeys:
    """ZAP CURVE credentials provider: a fixed set of Z85 public keys."""

    def __init__(self, keys):
        self.keys = set(k.encode() for k in keys)

    def callback(self, domain, key):
        return key in self.keys


class Peer:
    def __init__(self, a):
        self.a = a
        self.ctx = zmq.Context()
        self.auth = None
        self.mon = None
        self.events = []
        if a.plain_users is not None or a.curve_allow_any or a.curve_allow is not None:
            from zmq.auth.thread import ThreadAuthenticator

            self.auth = ThreadAuthenticator(self.ctx)
            self.auth.start()
            if a.plain_users is not None:
                pw = {}
                for item in a.plain_users.split(","):
                    if not item:
                        continue
                    user, sep, pwd = item.partition(":")
                    if not sep:
                        raise SystemExit("bad --plain-users entry %r (want user:pass)" % item)
                    pw[user] = pwd
                self.auth.configure_plain(domain="*", passwords=pw)
            if a.curve_allow_any:
                self.auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
            elif a.curve_allow is not None:
                keys = [k for k in a.curve_allow.split(",") if k]
                self.auth.configure_curve_callback(domain="*", credentials_provider=AllowKeys(keys))

        self.type = TYPES[a.type]
        s = self.ctx.socket(self.type)
        self.s = s
        s.setsockopt(zmq.LINGER, a.linger if a.linger is not None else 0)
        s.setsockopt(zmq.RCVTIMEO, a.rcvtimeo)
        s.setsockopt(zmq.SNDTIMEO, a.sndtimeo)
        if a.identity is not None:
            s.setsockopt(zmq.ROUTING_ID, bytes.fromhex(a.identity))
        if a.hwm is not None:
            s.setsockopt(zmq.SNDHWM, a.hwm)
            s.setsockopt(zmq.RCVHWM, a.hwm)
        if a.sndhwm is not None:
            s.setsockopt(zmq.SNDHWM, a.sndhwm)
        if a.rcvhwm is not None:
            s.setsockopt(zmq.RCVHWM, a.rcvhwm)
        if a.router_mandatory:
            s.setsockopt(zmq.ROUTER_MANDATORY, 1)
        if a.maxmsgsize is not None:
            s.setsockopt(zmq.MAXMSGSIZE, a.maxmsgsize)
        if a.immediate:
            s.setsockopt(zmq.IMMEDIATE, 1)
        if a.conflate:
            s.setsockopt(zmq.CONFLATE, 1)
        if a.reconnect_ivl is not None:
            s.setsockopt(zmq.RECONNECT_IVL, a.reconnect_ivl)
        if a.handshake_ivl is not None:
            s.setsockopt(zmq.HANDSHAKE_IVL, a.handshake_ivl)
        if a.req_relaxed:
            s.setsockopt(zmq.REQ_RELAXED, 1)
        if a.req_correlate:
            s.setsockopt(zmq.REQ_CORRELATE, 1)
        if a.xpub_verbose:
            s.setsockopt(zmq.XPUB_VERBOSE, 1)
        if a.zap_domain is not None:
            s.setsockopt(zmq.ZAP_DOMAIN, a.zap_domain.encode())
        if a.heartbeat_ivl is not None:
            s.setsockopt(zmq.HEARTBEAT_IVL, a.heartbeat_ivl)
        if a.heartbeat_timeout is not None:
            s.setsockopt(zmq.HEARTBEAT_TIMEOUT, a.heartbeat_timeout)
        if a.heartbeat_ttl is not None:
            s.setsockopt(zmq.HEARTBEAT_TTL, a.heartbeat_ttl)
        if a.plain_server:
            s.setsockopt(zmq.PLAIN_SERVER, 1)
        if a.plain_user is not None:
            s.setsockopt(zmq.PLAIN_USERNAME, a.plain_user.encode())
            s.setsockopt(zmq.PLAIN_PASSWORD, a.plain_pass.encode())
        if a.curve_server:
            s.setsockopt(zmq.CURVE_SERVER, 1)
            s.setsockopt(zmq.CURVE_SECRETKEY, a.curve_secret.encode())
            if a.curve_public:
                s.setsockopt(zmq.CURVE_PUBLICKEY, a.curve_public.encode())
        elif a.curve_serverkey:
            s.setsockopt(zmq.CURVE_SERVERKEY, a.curve_serverkey.encode())
            s.setsockopt(zmq.CURVE_PUBLICKEY, a.curve_public.encode())
            s.setsockopt(zmq.CURVE_SECRETKEY, a.curve_secret.encode())
        if a.monitor:
            self.mon = s.get_monitor_socket()

    def start(self):
        for ep in self.a.bind:
            self.s.bind(translate_bind(ep))
            reply("BOUND " + self.s.getsockopt(zmq.LAST_ENDPOINT).decode())
        for ep in self.a.connect:
            self.s.connect(ep)
        reply("READY " + self.s.getsockopt(zmq.LAST_ENDPOINT).decode())

    def close(self):
        if self.mon is not None:
            try:
                self.s.disable_monitor()
            except zmq.ZMQError:
                pass
            self.mon.close(linger=0)
            self.mon = None
        linger = self.a.linger if self.a.linger is not None else 0
        self.s.close(linger=linger)
        if self.auth is not None:
            self.auth.stop()
        self.ctx.term()

    # --- commands ---------------------------------------------------------

    def recv_msg(self):
        """Returns the frames, or None on timeout."""
        try:
            return self.s.recv_multipart()
        except zmq.Again:
            return None

    def cmd_send(self, args):
        frames = [dec(t) for t in args]
        if not frames:
            frames = [b""]
        self.s.send_multipart(frames)
        reply("OK")

    def cmd_recv(self, args):
        m = self.recv_msg()
        if m is None:
            reply("TIMEOUT")
            return
        reply("MSG " + " ".join(enc(f) for f in m))

    def cmd_recvn(self, args):
        n = int(args[0])
        for _ in range(n):
            m = self.recv_msg()
            if m is None:
                reply("TIMEOUT")
                return
            reply("MSG " + " ".join(enc(f) for f in m))

    def cmd_echo(self, args):
        n = int(args[0])
        for i in range(n):
            m = self.recv_msg()
            if m is None:
                reply("TIMEOUT after %d of %d messages" % (i, n))
                return
            self.s.send_multipart(m)
        reply("OK")

    def send_range(self, start, n, size, prefix):
        s = self.s
        if size > 8:
            pad = bytes(size - 8)
            for i in range(start, start + n):
                for f in prefix:
                    s.send(f, zmq.SNDMORE)
                s.send(i.to_bytes(8, "big") + pad)
        else:
            for i in range(start, start + n):
                for f in prefix:
                    s.send(f, zmq.SNDMORE)
                s.send(index_bytes(i, size))

    def cmd_sendn(self, args):
        n, size = int(args[0]), int(args[1])
        self.send_range(0, n, size, [dec(t) for t in args[2:]])
        reply("OK")

    def cmd_sendfrom(self, args):
        start, n, size = int(args[0]), int(args[1]), int(args[2])
        self.send_range(start, n, size, [dec(t) for t in args[3:]])
        reply("OK")

    def cmd_recvcheck(self, args):
        n, size = int(args[0]), int(args[1])
        prefix = [dec(t) for t in args[2:]]
        for i in range(n):
            m = self.recv_msg()
            if m is None:
                reply("TIMEOUT after %d of %d messages" % (i, n))
                return
            why = check_msg(m, i, size, prefix)
            if why is not None:
                reply("ERR " + why)
                return
        reply("OK")

    def cmd_reqn(self, args):
        n, size = int(args[0]), int(args[1])
        prefix = [dec(t) for t in args[2:]]
        s = self.s
        for i in range(n):
            s.send_multipart(prefix + [make_payload(i, size)])
            m = self.recv_msg()
            if m is None:
                reply("TIMEOUT after %d of %d replies" % (i, n))
                return
            why = check_msg(m, i, size, prefix)
            if why is not None:
                reply("ERR reply " + why)
                return
        reply("OK")

    def cmd_sub(self, args, on):
        topic = dec(args[0]) if args else b""
        if self.type == zmq.SUB:
            self.s.setsockopt(zmq.SUBSCRIBE if on else zmq.UNSUBSCRIBE, topic)
        elif self.type == zmq.XSUB:
            self.s.send((b"\x01" if on else b"\x00") + topic)
        else:
            reply("ERR sub/unsub needs SUB or XSUB")
            return
        reply("OK")

    def cmd_events(self, args):
        if self.mon is None:
            reply("ERR start with --monitor")
            return
        from zmq.utils.monitor import recv_monitor_message

        while True:
            try:
                ev = recv_monitor_message(self.mon, zmq.NOBLOCK)
            except zmq.Again:
                break
            try:
                name = zmq.Event(ev["event"]).name
            except ValueError:
                name = str(ev["event"])
            self.events.append("%s:%d" % (name, ev["value"]))
        reply(" ".join(["EVENTS"] + self.events))

    def cmd_sleep(self, args):
        time.sleep(int(args[0]) / 1000.0)
        reply("OK")

    def run(self):
        handlers = {
            "send": self.cmd_send,
            "recv": self.cmd_recv,
            "recvn": self.cmd_recvn,
            "echo": self.cmd_echo,
            "sendn": self.cmd_sendn,
            "sendfrom": self.cmd_sendfrom,
            "reqn": self.cmd_reqn,
            "recvcheck": self.cmd_recvcheck,
            "sub": lambda a: self.cmd_sub(a, True),
            "unsub": lambda a: self.cmd_sub(a, False),
            "events": self.cmd_events,
            "sleep": self.cmd_sleep,
        }
        stdin = sys.stdin.buffer
        while True:
            raw = stdin.readline()
            if not raw:
                return  # EOF: same as quit
            parts = raw.decode("ascii", "replace").split()
            if not parts:
                continue
            name, args = parts[0], parts[1:]
            if name == "quit":
                return
            h = handlers.get(name)
            if h is None:
                reply("ERR unknown command %s" % name)
                continue
            try:
                h(args)
            except zmq.Again as e:
                reply("ERR " + err_text(e))
            except (zmq.ZMQError, ValueError, IndexError) as e:
                reply("ERR " + err_text(e))


def main(argv):
    a = parse_args(argv)
    try:
        p = Peer(a)
    except (zmq.ZMQError, ValueError) as e:
        log("setup: " + err_text(e))
        return 1
    try:
        p.start()
    except zmq.ZMQError as e:
        log("bind/connect: " + err_text(e))
        p.close()
        return 1
    try:
        p.run()
    finally:
        p.close()
    reply("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
