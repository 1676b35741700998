package zmtp

import (
	"strings"
	"testing"
)

// rfc37Table is RFC 37 "The Socket-Type Property" compatibility table, as
// printed there: a "*" marks a legal combination.
const rfc37Table = `
|         | REQ | REP | DEALER | ROUTER | PUB | XPUB | SUB | XSUB | PUSH | PULL | PAIR | CLIENT | SERVER | RADIO | DISH | SCATTER | GATHER | PEER | CHANNEL |
| REQ     |     |  *  |        |   *    |     |      |     |      |      |      |      |        |        |       |      |         |        |      |         |
| REP     |  *  |     |   *    |        |     |      |     |      |      |      |      |        |        |       |      |         |        |      |         |
| DEALER  |     |  *  |   *    |   *    |     |      |     |      |      |      |      |        |        |       |      |         |        |      |         |
| ROUTER  |  *  |     |   *    |   *    |     |      |     |      |      |      |      |        |        |       |      |         |        |      |         |
| PUB     |     |     |        |        |     |      |  *  |  *   |      |      |      |        |        |       |      |         |        |      |         |
| XPUB    |     |     |        |        |     |      |  *  |  *   |      |      |      |        |        |       |      |         |        |      |         |
| SUB     |     |     |        |        |  *  |  *   |     |      |      |      |      |        |        |       |      |         |        |      |         |
| XSUB    |     |     |        |        |  *  |  *   |     |      |      |      |      |        |        |       |      |         |        |      |         |
| PUSH    |     |     |        |        |     |      |     |      |      |  *   |      |        |        |       |      |         |        |      |         |
| PULL    |     |     |        |        |     |      |     |      |  *   |      |      |        |        |       |      |         |        |      |         |
| PAIR    |     |     |        |        |     |      |     |      |      |      |  *   |        |        |       |      |         |        |      |         |
| CLIENT  |     |     |        |        |     |      |     |      |      |      |      |        |   *    |       |      |         |        |      |         |
| SERVER  |     |     |        |        |     |      |     |      |      |      |      |   *    |        |       |      |         |        |      |         |
| RADIO   |     |     |        |        |     |      |     |      |      |      |      |        |        |       |  *   |         |        |      |         |
| DISH    |     |     |        |        |     |      |     |      |      |      |      |        |        |   *   |      |         |        |      |         |
| SCATTER |     |     |        |        |     |      |     |      |      |      |      |        |        |       |      |         |   *    |      |         |
| GATHER  |     |     |        |        |     |      |     |      |      |      |      |        |        |       |      |    *    |        |      |         |
| PEER    |     |     |        |        |     |      |     |      |      |      |      |        |        |       |      |         |        |  *   |         |
| CHANNEL |     |     |        |        |     |      |     |      |      |      |      |        |        |       |      |         |        |      |    *    |
`

// parseRFC37Table returns the column names and, for each row type, the set
// of peer types it may talk to.
func parseRFC37Table(t *testing.T) ([]SocketType, map[SocketType]map[SocketType]bool) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(rfc37Table), "\n")
	cells := func(line string) []string {
		parts := strings.Split(strings.Trim(line, "|"), "|")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts
	}
	head := cells(lines[0])[1:]
	cols := make([]SocketType, len(head))
	for i, h := range head {
		cols[i] = SocketType(h)
	}
	table := map[SocketType]map[SocketType]bool{}
	for _, line := range lines[1:] {
		c := cells(line)
		if len(c) != len(cols)+1 {
			t.Fatalf("row %q has %d cells, want %d", c[0], len(c), len(cols)+1)
		}
		row := map[SocketType]bool{}
		for i, mark := range c[1:] {
			switch mark {
			case "*":
				row[cols[i]] = true
			case "":
			default:
				t.Fatalf("bad cell %q", mark)
			}
		}
		table[SocketType(c[0])] = row
	}
	if len(table) != len(cols) || len(cols) != 19 {
		t.Fatalf("table has %d rows and %d columns, want 19", len(table), len(cols))
	}
	return cols, table
}

func TestSocketTypeCompatibilityTable(t *testing.T) {
	cols, table := parseRFC37Table(t)
	pairs := 0
	for _, a := range cols {
		if !a.Known() {
			t.Errorf("%s is not Known", a)
		}
		for _, b := range cols {
			want := table[a][b]
			if got := a.Compatible(b); got != want {
				t.Errorf("%s.Compatible(%s) = %v, RFC 37 says %v", a, b, got, want)
			}
			// The table is symmetric, so the reverse check must agree.
			if got := b.Compatible(a); got != want {
				t.Errorf("%s.Compatible(%s) = %v, RFC 37 says %v (reverse of %s/%s)", b, a, got, want, a, b)
			}
			if want {
				pairs++
			}
		}
	}
	// 29 stars in the table (ordered pairs).
	if pairs != 29 {
		t.Fatalf("counted %d legal ordered pairs in the RFC table, want 29", pairs)
	}
}

func TestSocketTypeConstants(t *testing.T) {
	for c, want := range map[SocketType]string{
		Pair: "PAIR", Pub: "PUB", Sub: "SUB", Req: "REQ", Rep: "REP", Dealer: "DEALER",
		Router: "ROUTER", Pull: "PULL", Push: "PUSH", XPub: "XPUB", XSub: "XSUB",
		Client: "CLIENT", Server: "SERVER", Radio: "RADIO", Dish: "DISH",
		Scatter: "SCATTER", Gather: "GATHER", Peer: "PEER", Channel: "CHANNEL",
	} {
		if string(c) != want {
			t.Errorf("constant %q, want %q", c, want)
		}
	}
}

func TestSocketTypeUnknown(t *testing.T) {
	cols, _ := parseRFC37Table(t)
	// libzmq compares Socket-Type values exactly, so a lower-case name is
	// not a known type.
	for _, u := range []SocketType{"", "FOO", "dealer", "Dealer", "STREAM", "DEALER ", " PUB", "ROUTER\x00"} {
		if u.Known() {
			t.Errorf("%q is Known", u)
		}
		for _, k := range cols {
			if u.Compatible(k) {
				t.Errorf("%q.Compatible(%s) = true", u, k)
			}
			if k.Compatible(u) {
				t.Errorf("%s.Compatible(%q) = true", k, u)
			}
		}
	}
}
