//go:build cgo

package peer

/*
#cgo pkg-config: libzmq
#include <zmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// The libzmq side of every role, with the whole per-message loop in C so
// that no cgo call is paid per message: what libzmq's own perf tools
// measure. Return values: 0 ok, -1 a libzmq error (errno), -2 a message of
// the wrong size (its size in *bad).

static int64_t ddb_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// ddb_open makes a socket with both high-water marks, linger -1 (deliver
// everything, as the perf tools' zmq_ctx_term does) and an optional
// receive timeout, and binds or connects it.
static void *ddb_open(void *ctx, int type, int hwm, int rcvtimeo_ms, int bind, const char *ep) {
	void *s = zmq_socket(ctx, type);
	if (s == NULL)
		return NULL;
	int linger = -1;
	if (zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
	    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
	    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
	    (rcvtimeo_ms > 0 && zmq_setsockopt(s, ZMQ_RCVTIMEO, &rcvtimeo_ms, sizeof rcvtimeo_ms) != 0) ||
	    (type == ZMQ_SUB && zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) != 0) ||
	    (bind ? zmq_bind(s, ep) : zmq_connect(s, ep)) != 0) {
		int e = errno;
		zmq_close(s);
		errno = e;
		return NULL;
	}
	return s;
}

static int ddb_last_endpoint(void *s, char *buf, size_t len) {
	return zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, buf, &len);
}

// ddb_recv_n receives count messages of size octets; with skip set it
// ignores warm-up messages (first octet 'W'). The clock starts when the
// first counted message is in. On a receive timeout (ZMQ_RCVTIMEO of
// timeout_ns) it returns -1 with errno EAGAIN and what it counted, the
// elapsed time ending at the last message.
static int ddb_recv_n(void *s, size_t size, long count, int skip, int64_t timeout_ns,
                      long *got, int64_t *elapsed, long *bad) {
	zmq_msg_t m;
	zmq_msg_init(&m);
	int64_t start = 0;
	long n = 0;
	int rc = 0;
	while (n < count) {
		if (zmq_msg_recv(&m, s, 0) < 0) {
			rc = -1;
			break;
		}
		size_t len = zmq_msg_size(&m);
		if (skip && len > 0 && *(char *)zmq_msg_data(&m) == 'W')
			continue;
		if (len != size) {
			*bad = (long)len;
			rc = -2;
			break;
		}
		if (n == 0)
			start = ddb_now();
		n++;
	}
	int e = errno;
	int64_t end = ddb_now();
	if (rc == -1 && e == EAGAIN)
		end -= timeout_ns;
	*got = n;
	*elapsed = n > 0 && end > start ? end - start : 1;
	zmq_msg_close(&m);
	errno = e;
	return rc;
}

// ddb_recv_warm waits for the first warm-up message.
static int ddb_recv_warm(void *s) {
	zmq_msg_t m;
	zmq_msg_init(&m);
	for (;;) {
		if (zmq_msg_recv(&m, s, 0) < 0) {
			int e = errno;
			zmq_msg_close(&m);
			errno = e;
			return -1;
		}
		if (zmq_msg_size(&m) > 0 && *(char *)zmq_msg_data(&m) == 'W')
			break;
	}
	zmq_msg_close(&m);
	return 0;
}

// ddb_send_n sends count messages of size octets, a fresh zmq_msg_t each
// as remote_thr does, the first octet set to mark.
static int ddb_send_n(void *s, size_t size, long count, char mark) {
	zmq_msg_t m;
	for (long i = 0; i < count; i++) {
		if (zmq_msg_init_size(&m, size) != 0)
			return -1;
		if (size > 0)
			*(char *)zmq_msg_data(&m) = mark;
		if (zmq_msg_send(&m, s, 0) < 0) {
			int e = errno;
			zmq_msg_close(&m);
			errno = e;
			return -1;
		}
	}
	return 0;
}

// ddb_echo_n is local_lat's loop.
static int ddb_echo_n(void *s, size_t size, long n, long *bad) {
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

// ddb_ping_n is remote_lat's loop.
static int ddb_ping_n(void *s, size_t size, long n, int64_t *elapsed, long *bad) {
	zmq_msg_t m;
	if (zmq_msg_init_size(&m, size) != 0)
		return -1;
	memset(zmq_msg_data(&m), 0, size);
	int rc = 0;
	int64_t start = ddb_now();
	for (long i = 0; i < n && rc == 0; i++) {
		if (zmq_msg_send(&m, s, 0) < 0 || zmq_msg_recv(&m, s, 0) < 0)
			rc = -1;
		else if (zmq_msg_size(&m) != size) {
			*bad = (long)zmq_msg_size(&m);
			rc = -2;
		}
	}
	*elapsed = ddb_now() - start;
	int e = errno;
	zmq_msg_close(&m);
	errno = e;
	return rc;
}

struct ddb_sender {
	void *ctx;
	size_t size;
	long count;
	int rc, err;
};

static void *ddb_inproc_sender(void *arg) {
	struct ddb_sender *a = arg;
	void *s = ddb_open(a->ctx, ZMQ_PUSH, 1000, 0, 0, "inproc://ddbench-thr");
	if (s == NULL) {
		a->rc = -1;
		a->err = errno;
		return NULL;
	}
	a->rc = ddb_send_n(s, a->size, a->count, 0);
	a->err = errno;
	zmq_close(s);
	return NULL;
}

// ddb_inproc_thr is inproc_thr: a PUSH in a second thread, the PULL here.
static int ddb_inproc_thr(size_t size, long count, int64_t *elapsed, long *bad, int *sender_err) {
	void *ctx = zmq_ctx_new();
	if (ctx == NULL)
		return -1;
	void *s = ddb_open(ctx, ZMQ_PULL, 1000, 0, 1, "inproc://ddbench-thr");
	if (s == NULL) {
		int e = errno;
		zmq_ctx_term(ctx);
		errno = e;
		return -1;
	}
	struct ddb_sender a = {ctx, size, count, 0, 0};
	pthread_t t;
	if (pthread_create(&t, NULL, ddb_inproc_sender, &a) != 0) {
		zmq_close(s);
		zmq_ctx_term(ctx);
		errno = EAGAIN;
		return -1;
	}
	long got = 0;
	int rc = ddb_recv_n(s, size, count, 0, 0, &got, elapsed, bad);
	int e = errno;
	pthread_join(t, NULL);
	zmq_close(s);
	zmq_ctx_term(ctx);
	if (rc == 0 && a.rc != 0) {
		*sender_err = a.err;
		rc = -3;
	}
	errno = e;
	return rc;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// libzmq is the C library itself, its loops written in C.
type libzmq struct{}

func init() { register("libzmq", libzmq{}) }

// libzmqBindEndpoint spells a tcp port 0 the way libzmq wants an
// ephemeral port: "*".
func libzmqBindEndpoint(ep string) string {
	if rest, ok := strings.CutSuffix(ep, ":0"); ok && strings.HasPrefix(ep, "tcp://") {
		return rest + ":*"
	}
	return ep
}

// lsock is one libzmq socket in its own context.
type lsock struct {
	ctx, s unsafe.Pointer
}

func lerr(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("libzmq: %s", C.GoString(C.zmq_strerror(C.int(errno))))
	}
	return fmt.Errorf("libzmq: %v", err)
}

func lopen(typ C.int, hwm int, rcvtimeo time.Duration, bind bool, ep string) (*lsock, error) {
	ctx, err := C.zmq_ctx_new()
	if ctx == nil {
		return nil, lerr(err)
	}
	if bind {
		ep = libzmqBindEndpoint(ep)
	}
	cep := C.CString(ep)
	defer C.free(unsafe.Pointer(cep))
	b := C.int(0)
	if bind {
		b = 1
	}
	s, err := C.ddb_open(ctx, typ, C.int(hwm), C.int(rcvtimeo.Milliseconds()), b, cep)
	if s == nil {
		C.zmq_ctx_term(ctx)
		return nil, fmt.Errorf("%s: %w", ep, lerr(err))
	}
	return &lsock{ctx: ctx, s: s}, nil
}

// close closes the socket and terminates its context, which waits until
// everything queued is delivered (linger -1).
func (l *lsock) close() {
	C.zmq_close(l.s)
	C.zmq_ctx_term(l.ctx)
}

func (l *lsock) lastEndpoint() string {
	var buf [256]C.char
	if C.ddb_last_endpoint(l.s, &buf[0], C.size_t(len(buf))) != 0 {
		return ""
	}
	return C.GoString(&buf[0])
}

// check turns a loop's return code into an error.
func check(rc C.int, err error, bad C.long, size int) error {
	switch rc {
	case 0:
		return nil
	case -2:
		return errBadSize(int(bad), size)
	default:
		return lerr(err)
	}
}

func (libzmq) LocalThr(ep string, size, count int, bound func(string)) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l, err := lopen(C.ZMQ_PULL, DefaultHWM, 0, true, ep)
	if err != nil {
		return Result{}, err
	}
	defer l.close()
	bound(l.lastEndpoint())
	var got, bad C.long
	var elapsed C.int64_t
	rc, cerr := C.ddb_recv_n(l.s, C.size_t(size), C.long(count), 0, 0, &got, &elapsed, &bad)
	if err := check(rc, cerr, bad, size); err != nil {
		return Result{}, err
	}
	return Result{Count: count, ElapsedNS: int64(elapsed)}, nil
}

func (libzmq) RemoteThr(ep string, size, count int, stop <-chan struct{}) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l, err := lopen(C.ZMQ_PUSH, DefaultHWM, 0, false, ep)
	if err != nil {
		return Result{}, err
	}
	defer l.close()
	start := time.Now()
	rc, cerr := C.ddb_send_n(l.s, C.size_t(size), C.long(count), 0)
	if err := check(rc, cerr, 0, size); err != nil {
		return Result{}, err
	}
	r := Result{Count: count, ElapsedNS: since(start)}
	<-stop
	return r, nil
}

func (libzmq) LocalLat(ep string, size, n int, bound func(string), stop <-chan struct{}) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l, err := lopen(C.ZMQ_REP, DefaultHWM, 0, true, ep)
	if err != nil {
		return Result{}, err
	}
	defer l.close()
	bound(l.lastEndpoint())
	start := time.Now()
	var bad C.long
	rc, cerr := C.ddb_echo_n(l.s, C.size_t(size), C.long(n), &bad)
	if err := check(rc, cerr, bad, size); err != nil {
		return Result{}, err
	}
	r := Result{Count: n, ElapsedNS: since(start)}
	<-stop
	return r, nil
}

func (libzmq) RemoteLat(ep string, size, n int) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l, err := lopen(C.ZMQ_REQ, DefaultHWM, 0, false, ep)
	if err != nil {
		return Result{}, err
	}
	defer l.close()
	var bad C.long
	var elapsed C.int64_t
	rc, cerr := C.ddb_ping_n(l.s, C.size_t(size), C.long(n), &elapsed, &bad)
	if err := check(rc, cerr, bad, size); err != nil {
		return Result{}, err
	}
	return Result{Count: n, ElapsedNS: int64(elapsed)}, nil
}

func (libzmq) InprocThr(size, count int) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var bad C.long
	var elapsed C.int64_t
	var senderErr C.int
	rc, cerr := C.ddb_inproc_thr(C.size_t(size), C.long(count), &elapsed, &bad, &senderErr)
	if rc == -3 {
		return Result{}, fmt.Errorf("sender: %w", lerr(syscall.Errno(senderErr)))
	}
	if err := check(rc, cerr, bad, size); err != nil {
		return Result{}, err
	}
	return Result{Count: count, ElapsedNS: int64(elapsed)}, nil
}

func (libzmq) Pub(ep string, size, count int, bound func(string), start, stop <-chan struct{}) (Result, error) {
	if size < 1 {
		return Result{}, fmt.Errorf("%w: pub needs SIZE of at least 1", ErrUsage)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l, err := lopen(C.ZMQ_PUB, 0, 0, true, ep)
	if err != nil {
		return Result{}, err
	}
	defer l.close()
	bound(l.lastEndpoint())
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
warmup:
	for {
		if rc, cerr := C.ddb_send_n(l.s, C.size_t(size), 1, markWarm); rc != 0 {
			return Result{}, lerr(cerr)
		}
		select {
		case <-start:
			break warmup
		case <-tick.C:
		}
	}
	t := time.Now()
	if rc, cerr := C.ddb_send_n(l.s, C.size_t(size), C.long(count), markMeasure); rc != 0 {
		return Result{}, lerr(cerr)
	}
	r := Result{Count: count, ElapsedNS: since(t)}
	<-stop
	return r, nil
}

func (libzmq) Sub(ep string, size, count int, idle time.Duration, ready func()) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l, err := lopen(C.ZMQ_SUB, 0, idle, false, ep)
	if err != nil {
		return Result{}, err
	}
	defer l.close()
	if rc, cerr := C.ddb_recv_warm(l.s); rc != 0 {
		return Result{}, fmt.Errorf("waiting for the first warm-up message: %w", lerr(cerr))
	}
	ready()
	var got, bad C.long
	var elapsed C.int64_t
	rc, cerr := C.ddb_recv_n(l.s, C.size_t(size), C.long(count), 1, C.int64_t(idle.Nanoseconds()), &got, &elapsed, &bad)
	if rc == -1 && errors.Is(cerr, syscall.EAGAIN) {
		return Result{Count: int(got), ElapsedNS: int64(elapsed), Lost: true}, nil
	}
	if err := check(rc, cerr, bad, size); err != nil {
		return Result{}, err
	}
	return Result{Count: count, ElapsedNS: int64(elapsed)}, nil
}
