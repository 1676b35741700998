//go:build cgo

package peer

/*
#cgo pkg-config: libzmq
#include <zmq.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// The libzmq side of the CURVE roles, each loop in C as in libzmq.go (whose
// static helpers this file cannot see). Keys are 32 raw octets. Return
// values: 0 ok, -1 a libzmq error (errno), -2 a message of the wrong size
// (its size in *bad).

static int64_t ddc_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// ddc_open makes a CURVE socket: a server with secret, or a client with
// its pair and the server's public key. Linger as given (-1 delivers
// everything at zmq_ctx_term, as the perf tools do).
static void *ddc_open(void *ctx, int type, int hwm, int linger, int server,
                      const void *secret, const void *public_, const void *serverkey,
                      int bind, const char *ep) {
	void *s = zmq_socket(ctx, type);
	if (s == NULL)
		return NULL;
	int one = 1;
	int rc = 0;
	rc |= zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
	rc |= zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
	rc |= zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
	if (server) {
		rc |= zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one);
		rc |= zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, 32);
	} else {
		rc |= zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, serverkey, 32);
		rc |= zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, public_, 32);
		rc |= zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, 32);
	}
	if (rc != 0 || (bind ? zmq_bind(s, ep) : zmq_connect(s, ep)) != 0) {
		int e = errno;
		zmq_close(s);
		errno = e;
		return NULL;
	}
	return s;
}

static int ddc_last_endpoint(void *s, char *buf, size_t len) {
	return zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, buf, &len);
}

// ddc_recv_n is local_thr's loop: the clock starts at the first message.
static int ddc_recv_n(void *s, size_t size, long count, int64_t *elapsed, long *bad) {
	zmq_msg_t m;
	zmq_msg_init(&m);
	int64_t start = 0;
	int rc = 0;
	for (long n = 0; n < count; n++) {
		if (zmq_msg_recv(&m, s, 0) < 0) {
			rc = -1;
			break;
		}
		if (zmq_msg_size(&m) != size) {
			*bad = (long)zmq_msg_size(&m);
			rc = -2;
			break;
		}
		if (n == 0)
			start = ddc_now();
	}
	int e = errno;
	*elapsed = ddc_now() - start;
	zmq_msg_close(&m);
	errno = e;
	return rc;
}

// ddc_send_n is remote_thr's loop: a fresh message each time.
static int ddc_send_n(void *s, size_t size, long count) {
	zmq_msg_t m;
	for (long i = 0; i < count; i++) {
		if (zmq_msg_init_size(&m, size) != 0)
			return -1;
		memset(zmq_msg_data(&m), 0, size);
		if (zmq_msg_send(&m, s, 0) < 0) {
			int e = errno;
			zmq_msg_close(&m);
			errno = e;
			return -1;
		}
	}
	return 0;
}

// ddc_echo_n echoes n requests.
static int ddc_echo_n(void *s, size_t size, long n, long *bad) {
	zmq_msg_t m;
	zmq_msg_init(&m);
	int rc = 0;
	for (long i = 0; i < n && rc == 0; i++) {
		if (zmq_msg_recv(&m, s, 0) < 0)
			rc = -1;
		else if (zmq_msg_size(&m) != size) {
			*bad = (long)zmq_msg_size(&m);
			rc = -2;
		} else if (zmq_msg_send(&m, s, 0) < 0)
			rc = -1;
	}
	int e = errno;
	zmq_msg_close(&m);
	errno = e;
	return rc;
}

// ddc_handshakes: n times, a new CURVE REQ connects, makes one round trip
// of size octets and closes.
static int ddc_handshakes(void *ctx, const char *ep, size_t size, long n,
                          const void *secret, const void *public_, const void *serverkey,
                          int64_t *elapsed, long *bad, long *done) {
	int64_t start = ddc_now();
	int rc = 0;
	for (*done = 0; *done < n && rc == 0; (*done)++) {
		void *s = ddc_open(ctx, ZMQ_REQ, 1000, 0, 0, secret, public_, serverkey, 0, ep);
		if (s == NULL)
			return -1;
		zmq_msg_t m;
		if (zmq_msg_init_size(&m, size) != 0) {
			zmq_close(s);
			return -1;
		}
		memset(zmq_msg_data(&m), 0, size);
		if (zmq_msg_send(&m, s, 0) < 0 || zmq_msg_recv(&m, s, 0) < 0)
			rc = -1;
		else if (zmq_msg_size(&m) != size) {
			*bad = (long)zmq_msg_size(&m);
			rc = -2;
		}
		int e = errno;
		zmq_msg_close(&m);
		zmq_close(s);
		errno = e;
	}
	*elapsed = ddc_now() - start;
	return rc;
}
*/
import "C"

import (
	"runtime"
	"time"
	"unsafe"

	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

// libzmqCurve runs the CURVE roles on libzmq, loops in C.
type libzmqCurve struct{}

func init() { registerCurve("libzmq", libzmqCurve{}) }

// ckeys holds the keys in C memory for as long as the role runs.
type ckeys struct{ secret, public, serverkey unsafe.Pointer }

func newCKeys(server bool) ckeys {
	k := func(key curve.Key) unsafe.Pointer { return C.CBytes(key[:]) }
	if server {
		return ckeys{secret: k(CurveServerKeys.Secret)}
	}
	return ckeys{secret: k(CurveClientKeys.Secret), public: k(CurveClientKeys.Public), serverkey: k(CurveServerKeys.Public)}
}

func (c ckeys) free() {
	for _, p := range []unsafe.Pointer{c.secret, c.public, c.serverkey} {
		if p != nil {
			C.free(p)
		}
	}
}

// copen opens a CURVE socket in a context of its own.
func copen(typ C.int, server, bind bool, ep string) (*lsock, error) {
	ctx, err := C.zmq_ctx_new()
	if ctx == nil {
		return nil, lerr(err)
	}
	if bind {
		ep = libzmqBindEndpoint(ep)
	}
	cep := C.CString(ep)
	defer C.free(unsafe.Pointer(cep))
	keys := newCKeys(server)
	defer keys.free()
	srv, b := C.int(0), C.int(0)
	if server {
		srv = 1
	}
	if bind {
		b = 1
	}
	s, err := C.ddc_open(ctx, typ, C.int(DefaultHWM), -1, srv, keys.secret, keys.public, keys.serverkey, b, cep)
	if s == nil {
		C.zmq_ctx_term(ctx)
		return nil, lerr(err)
	}
	return &lsock{ctx: ctx, s: s}, nil
}

func clastEndpoint(l *lsock) string {
	var buf [256]C.char
	if C.ddc_last_endpoint(l.s, &buf[0], C.size_t(len(buf))) != 0 {
		return ""
	}
	return C.GoString(&buf[0])
}

func (libzmqCurve) CurveLocalThr(ep string, size, count int, bound func(string)) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l, err := copen(C.ZMQ_PULL, true, true, ep)
	if err != nil {
		return Result{}, err
	}
	defer l.close()
	bound(clastEndpoint(l))
	var bad C.long
	var elapsed C.int64_t
	rc, cerr := C.ddc_recv_n(l.s, C.size_t(size), C.long(count), &elapsed, &bad)
	if err := check(rc, cerr, bad, size); err != nil {
		return Result{}, err
	}
	return Result{Count: count, ElapsedNS: max(int64(elapsed), 1)}, nil
}

func (libzmqCurve) CurveRemoteThr(ep string, size, count int, stop <-chan struct{}) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l, err := copen(C.ZMQ_PUSH, false, false, ep)
	if err != nil {
		return Result{}, err
	}
	defer l.close()
	start := time.Now()
	rc, cerr := C.ddc_send_n(l.s, C.size_t(size), C.long(count))
	if err := check(rc, cerr, 0, size); err != nil {
		return Result{}, err
	}
	r := Result{Count: count, ElapsedNS: since(start)}
	<-stop
	return r, nil
}

func (libzmqCurve) CurveHandshakeServer(ep string, size, count int, bound func(string), stop <-chan struct{}) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l, err := copen(C.ZMQ_REP, true, true, ep)
	if err != nil {
		return Result{}, err
	}
	defer l.close()
	bound(clastEndpoint(l))
	start := time.Now()
	var bad C.long
	rc, cerr := C.ddc_echo_n(l.s, C.size_t(size), C.long(count), &bad)
	if err := check(rc, cerr, bad, size); err != nil {
		return Result{}, err
	}
	r := Result{Count: count, ElapsedNS: since(start)}
	<-stop
	return r, nil
}

func (libzmqCurve) CurveHandshakes(ep string, size, count int) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ctx, err := C.zmq_ctx_new()
	if ctx == nil {
		return Result{}, lerr(err)
	}
	defer C.zmq_ctx_term(ctx)
	cep := C.CString(ep)
	defer C.free(unsafe.Pointer(cep))
	keys := newCKeys(false)
	defer keys.free()
	var bad, done C.long
	var elapsed C.int64_t
	rc, cerr := C.ddc_handshakes(ctx, cep, C.size_t(size), C.long(count), keys.secret, keys.public, keys.serverkey, &elapsed, &bad, &done)
	if err := check(rc, cerr, bad, size); err != nil {
		return Result{}, err
	}
	return Result{Count: count, ElapsedNS: max(int64(elapsed), 1)}, nil
}
