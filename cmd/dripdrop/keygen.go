package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/dripdrop-go/dripdrop/zmtp/curve"
)

const keygenUsage = `usage: dripdrop keygen [-o FILE]

Prints a new CURVE key pair in Z85, like libzmq's curve_keygen:

  public: <40 characters>
  secret: <40 characters>

With -o FILE it also writes the pair as czmq/pyzmq certificates: the
public certificate to FILE and the secret one to FILE_secret (mode 0600).`

// runKeygen is "dripdrop keygen".
func runKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), keygenUsage)
		fs.PrintDefaults()
	}
	out := fs.String("o", "", "also write the certificates FILE and FILE_secret")
	name := fs.String("name", "", "with -o: the certificate's metadata name")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("%w: keygen takes no arguments", errUsage)
	}
	if *name != "" && *out == "" {
		return fmt.Errorf("%w: -name needs -o", errUsage)
	}
	cert, err := curve.NewCertificate()
	if err != nil {
		return err
	}
	if *name != "" {
		cert.Metadata = map[string]string{"name": *name}
	}
	if *out != "" {
		if err := cert.Save(*out); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(stdout, "public: %s\nsecret: %s\n", cert.Public, cert.Secret)
	return err
}
