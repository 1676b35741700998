/*
 * katgen writes known-answer vectors for dripdrop's CURVE implementation,
 * computed with libsodium: X25519 public keys, crypto_box,
 * crypto_box_beforenm/afternm, crypto_secretbox, and whole CurveZMQ
 * commands (RFC 26) laid out here from the RFC's grammar, independently of
 * the Go code. Every input is a fixed byte pattern, so the output is the
 * same on every run. It is not part of the Go build: gen.sh compiles and
 * runs it once, and the vectors it prints are kept in ../kat.txt.
 *
 * Output: one "name hex" pair per line; "#" lines are comments.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* OK stops with an error when a libsodium call fails. */
#define OK(call)                                                     \
	do {                                                         \
		if ((call) != 0) {                                   \
			fprintf(stderr, "katgen: %s failed\n", #call); \
			return 1;                                    \
		}                                                    \
	} while (0)

static void hex(const char *name, const unsigned char *b, size_t n) {
	printf("%s ", name);
	if (n == 0)
		printf("-");
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

/* pattern fills b with a deterministic sequence seeded by seed. */
static void pattern(unsigned char *b, size_t n, unsigned seed) {
	uint32_t x = 2166136261u ^ seed;
	for (size_t i = 0; i < n; i++) {
		x = (x ^ (uint32_t)i) * 16777619u;
		b[i] = (unsigned char)(x >> 13);
	}
}

static void put_u64(unsigned char *b, uint64_t v) {
	for (int i = 7; i >= 0; i--) {
		b[i] = (unsigned char)v;
		v >>= 8;
	}
}

static void keypair(const char *name, unsigned seed, unsigned char pub[32], unsigned char sec[32]) {
	char label[64];
	pattern(sec, 32, seed);
	crypto_scalarmult_base(pub, sec);
	snprintf(label, sizeof label, "%s.secret", name);
	hex(label, sec, 32);
	snprintf(label, sizeof label, "%s.public", name);
	hex(label, pub, 32);
}

int main(void) {
	if (sodium_init() < 0)
		return 1;
	printf("# libsodium %s\n", sodium_version_string());

	/* Permanent and transient key pairs. */
	unsigned char S[32], s[32], C[32], c[32], Ct[32], ct[32], St[32], st[32];
	keypair("S", 1, S, s);
	keypair("C", 2, C, c);
	keypair("Ct", 3, Ct, ct);
	keypair("St", 4, St, st);

	/* crypto_box, and the same through beforenm/afternm. */
	static const size_t sizes[] = {0, 1, 64, 200, 1000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		unsigned char m[1000], n[24], out[1016], k[32];
		char label[64];
		pattern(m, sizes[i], 100 + i);
		pattern(n, 24, 200 + i);
		OK(crypto_box_easy(out, m, sizes[i], n, S, c)); /* from C to S */
		snprintf(label, sizeof label, "box.%zu.nonce", sizes[i]);
		hex(label, n, 24);
		snprintf(label, sizeof label, "box.%zu.msg", sizes[i]);
		hex(label, m, sizes[i]);
		snprintf(label, sizeof label, "box.%zu.sealed", sizes[i]);
		hex(label, out, sizes[i] + 16);
		OK(crypto_box_beforenm(k, S, c));
		OK(crypto_box_easy_afternm(out, m, sizes[i], n, k));
		snprintf(label, sizeof label, "box.%zu.afternm", sizes[i]);
		hex(label, out, sizes[i] + 16);
		if (i == 0)
			hex("box.beforenm", k, 32);
		OK(crypto_secretbox_easy(out, m, sizes[i], n, k));
		snprintf(label, sizeof label, "secretbox.%zu.sealed", sizes[i]);
		hex(label, out, sizes[i] + 16);
	}

	/* HELLO: version, 72 zeros, C', short nonce 1, Box[64 zeros](C'->S). */
	unsigned char hello[200], nonce[24], zeros[64] = {0};
	memcpy(hello, "\x05HELLO\x01\x00", 8);
	memset(hello + 8, 0, 72);
	memcpy(hello + 80, Ct, 32);
	put_u64(hello + 112, 1);
	memcpy(nonce, "CurveZMQHELLO---", 16);
	put_u64(nonce + 16, 1);
	OK(crypto_box_easy(hello + 120, zeros, 64, nonce, S, ct));
	hex("cmd.hello", hello, sizeof hello);

	/* Cookie: long nonce, SecretBox[C' + s'](K). */
	unsigned char K[32], cookie[96], cplain[64];
	pattern(K, 32, 5);
	hex("cookie.key", K, 32);
	pattern(cookie, 16, 6);
	memcpy(nonce, "COOKIE--", 8);
	memcpy(nonce + 8, cookie, 16);
	memcpy(cplain, Ct, 32);
	memcpy(cplain + 32, st, 32);
	OK(crypto_secretbox_easy(cookie + 16, cplain, 64, nonce, K));
	hex("cookie", cookie, 96);

	/* WELCOME: long nonce, Box[S' + cookie](S->C'). */
	unsigned char welcome[168], wplain[128];
	memcpy(welcome, "\x07WELCOME", 8);
	pattern(welcome + 8, 16, 7);
	memcpy(nonce, "WELCOME-", 8);
	memcpy(nonce + 8, welcome + 8, 16);
	memcpy(wplain, St, 32);
	memcpy(wplain + 32, cookie, 96);
	OK(crypto_box_easy(welcome + 24, wplain, 128, nonce, Ct, s));
	hex("cmd.welcome", welcome, sizeof welcome);

	/* INITIATE: cookie, short nonce 2, Box[C + vouch + metadata](C'->S'),
	 * vouch = long nonce + Box[C' + S](C->S'). */
	static const unsigned char md[] = "\x0bSocket-Type\x00\x00\x00\x06" "DEALER" "\x08Identity\x00\x00\x00\x00";
	const size_t mdlen = sizeof md - 1;
	unsigned char vouch[96], vplain[64], iplain[128 + sizeof md], initiate[113 + 16 + 128 + sizeof md];
	pattern(vouch, 16, 8);
	hex("vouch.nonce", vouch, 16);
	memcpy(nonce, "VOUCH---", 8);
	memcpy(nonce + 8, vouch, 16);
	memcpy(vplain, Ct, 32);
	memcpy(vplain + 32, S, 32);
	OK(crypto_box_easy(vouch + 16, vplain, 64, nonce, St, c));
	memcpy(iplain, C, 32);
	memcpy(iplain + 32, vouch, 96);
	memcpy(iplain + 128, md, mdlen);
	memcpy(initiate, "\x08INITIATE", 9);
	memcpy(initiate + 9, cookie, 96);
	put_u64(initiate + 105, 2);
	memcpy(nonce, "CurveZMQINITIATE", 16);
	put_u64(nonce + 16, 2);
	OK(crypto_box_easy(initiate + 113, iplain, 128 + mdlen, nonce, St, ct));
	hex("initiate.metadata", md, mdlen);
	hex("cmd.initiate", initiate, 113 + 16 + 128 + mdlen);

	/* READY: short nonce 1, Box[metadata](S'->C'). */
	static const unsigned char rmd[] = "\x0bSocket-Type\x00\x00\x00\x06" "ROUTER";
	const size_t rmdlen = sizeof rmd - 1;
	unsigned char ready[14 + 16 + sizeof rmd];
	memcpy(ready, "\x05READY", 6);
	put_u64(ready + 6, 1);
	memcpy(nonce, "CurveZMQREADY---", 16);
	put_u64(nonce + 16, 1);
	OK(crypto_box_easy(ready + 14, rmd, rmdlen, nonce, Ct, st));
	hex("ready.metadata", rmd, rmdlen);
	hex("cmd.ready", ready, 14 + 16 + rmdlen);

	/* MESSAGEs: client nonce 3 ("CurveZMQMESSAGEC"), flags 01 + "hello";
	 * server nonce 2 ("CurveZMQMESSAGES"), flags 02 + "\x04PING\x00\x00". */
	unsigned char msgc[16 + 16 + 6], msgs[16 + 16 + 8];
	memcpy(msgc, "\x07MESSAGE", 8);
	put_u64(msgc + 8, 3);
	memcpy(nonce, "CurveZMQMESSAGEC", 16);
	put_u64(nonce + 16, 3);
	OK(crypto_box_easy(msgc + 16, (const unsigned char *)"\x01hello", 6, nonce, St, ct));
	hex("cmd.message.client", msgc, sizeof msgc);
	memcpy(msgs, "\x07MESSAGE", 8);
	put_u64(msgs + 8, 2);
	memcpy(nonce, "CurveZMQMESSAGES", 16);
	put_u64(nonce + 16, 2);
	OK(crypto_box_easy(msgs + 16, (const unsigned char *)"\x02\x04PING\x00\x00", 8, nonce, Ct, st));
	hex("cmd.message.server", msgs, sizeof msgs);
	return 0;
}
