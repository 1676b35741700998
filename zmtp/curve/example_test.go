package curve_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/dripdrop-go/dripdrop/internal/testkit"
	"github.com/dripdrop-go/dripdrop/zmtp"
	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

// A CURVE handshake between a DEALER client and a ROUTER server over an
// in-memory connection, with the server's Authenticator checking the
// client's permanent key, then one encrypted multipart message.
func Example() {
	serverKeys, _ := curve.NewKeyPair()
	server, _ := curve.NewServer(serverKeys.Secret)
	clientKeys, _ := curve.NewKeyPair()
	client, _ := curve.NewClient(clientKeys, server.PublicKey())

	known := zmtp.AuthenticatorFunc(func(_ context.Context, r *zmtp.AuthRequest) (zmtp.AuthResult, error) {
		if !bytes.Equal(r.ClientKey, clientKeys.Public[:]) {
			return zmtp.AuthResult{Status: zmtp.StatusDenied, StatusText: "unknown key"}, nil
		}
		return zmtp.AuthResult{Status: zmtp.StatusOK, UserID: "alice"}, nil
	})

	a, b := testkit.Pipe(0)
	ctx := context.Background()
	accepted := make(chan *zmtp.Conn)
	go func() {
		c, err := zmtp.Handshake(ctx, b, zmtp.Config{SocketType: zmtp.Router, Mechanism: server, Authenticator: known})
		if err != nil {
			fmt.Println("server:", err)
		}
		accepted <- c
	}()
	cc, err := zmtp.Handshake(ctx, a, zmtp.Config{SocketType: zmtp.Dealer, Mechanism: client, Identity: []byte("alice-1")})
	if err != nil {
		fmt.Println("client:", err)
		return
	}
	defer cc.Close()
	sc := <-accepted
	if sc == nil {
		return
	}
	defer sc.Close()

	if err := cc.Send([][]byte{[]byte("hello"), []byte("over CURVE")}); err != nil {
		fmt.Println(err)
		return
	}
	msg, err := sc.ReadMsg(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("server got %q from %s (user %s)\n", bytes.Join(msg, []byte(" | ")), sc.PeerIdentity(), sc.UserID())
	fmt.Println("client sees a", cc.PeerSocketType())
	// Output:
	// server got "hello | over CURVE" from alice-1 (user alice)
	// client sees a ROUTER
}

// The public key of a secret key, as libzmq's zmq_curve_public computes it
// (the key pair of libzmq's documentation).
func ExampleKeyPairFromSecret() {
	secret, _ := curve.ParseKey("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6")
	kp, _ := curve.KeyPairFromSecret(secret)
	fmt.Println(kp.Public)
	// Output: rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
}

// Reading a certificate as czmq and pyzmq write them.
func ExampleParseCertificate() {
	cert, err := curve.ParseCertificate([]byte(`metadata
    name = "server"
curve
    public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cert.Metadata["name"], cert.Public, cert.HasSecret())
	// Output: server rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 false
}
