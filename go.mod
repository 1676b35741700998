module github.com/dripdrop-go/dripdrop

go 1.25.0

require (
	github.com/go-zeromq/zmq4 v0.17.0
	go.uber.org/goleak v1.3.0
	golang.org/x/crypto v0.55.0
)

require (
	github.com/go-zeromq/goczmq/v4 v4.2.2 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)
