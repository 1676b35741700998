package layering

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pkg is one package as `go list -deps -json` reports it. Imports and Deps
// come from the non-test files only, which is what the layering is about:
// tests may import the test kits and anything else they like.
type pkg struct {
	ImportPath string
	Imports    []string // direct imports
	Deps       []string // transitive dependencies
	Standard   bool
}

// rule constrains the packages under scope. Patterns are relative to the
// module path; "x/..." means x and everything below it.
type rule struct {
	scope string
	// project lists the project packages that scope may depend on, directly
	// or not, besides its own subtree. Empty means none.
	project []string
	// external lists the non-standard-library packages that scope may import
	// directly (what those import in turn is their business). nil means any.
	external []string
	why      string
}

// rules is DESIGN.md's "Package layout and dependency direction" as a table.
// The first rule whose scope matches a package applies to it. Packages that
// do not exist yet simply match nothing.
var rules = []rule{
	{
		scope:    "zmtp/...",
		project:  nil,
		external: []string{"golang.org/x/crypto/..."},
		why:      "zmtp is the bottom layer: standard library and golang.org/x/crypto only",
	},
	{
		scope:    "codec/...",
		project:  nil,
		external: []string{"github.com/vmihailenco/msgpack/v5/..."},
		why:      "codec is a bottom layer: standard library and msgpack only",
	},
	{
		scope:   "sockets/...",
		project: []string{"zmtp/..."},
		why:     "sockets may use zmtp only (never reactor, httpws, codec or the internal test kits)",
	},
	{
		scope:   "httpws/...",
		project: []string{"codec/..."},
		why:     "httpws may use codec only",
	},
	{
		scope:   "reactor/...",
		project: []string{"sockets/...", "httpws/...", "codec/...", "zmtp/..."},
		why:     "reactor sits on sockets, httpws and codec (never cmd or the internal test kits)",
	},
}

// match reports whether the module-relative path rel matches pattern.
func match(pattern, rel string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == pattern
}

func matchAny(patterns []string, rel string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, rel) })
}

// cmdRoot returns "cmd/NAME" for a path under cmd/NAME, or "".
func cmdRoot(rel string) string {
	parts := strings.SplitN(rel, "/", 3)
	if len(parts) < 2 || parts[0] != "cmd" {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// violations checks every package of module in pkgs (the output of
// `go list -deps` on the module, standard-library packages included) against
// rules and returns one line per broken arrow, sorted.
func violations(module string, pkgs []pkg, rules []rule) []string {
	std := map[string]bool{}
	for _, p := range pkgs {
		if p.Standard {
			std[p.ImportPath] = true
		}
	}
	rel := func(path string) (string, bool) {
		if path == module {
			return "", true
		}
		r, ok := strings.CutPrefix(path, module+"/")
		return r, ok
	}
	isStd := func(path string) bool {
		if std[path] {
			return true
		}
		// Not in the listing (an import that did not resolve): the go
		// command reserves paths without a dot in the first element for
		// the standard library.
		first, _, _ := strings.Cut(path, "/")
		return path != "C" && !strings.Contains(first, ".")
	}

	var out []string
	for _, p := range pkgs {
		prel, ok := rel(p.ImportPath)
		if !ok || p.Standard {
			continue
		}
		if slices.Contains(p.Imports, "C") {
			out = append(out, fmt.Sprintf("%s imports \"C\": the main module is pure Go (cgo only in bench/)", p.ImportPath))
		}
		verb := func(dep string) string {
			if slices.Contains(p.Imports, dep) {
				return "imports"
			}
			return "depends (indirectly) on"
		}

		// Nothing imports a command, except the command's own subtree.
		for _, d := range p.Deps {
			drel, ok := rel(d)
			if !ok {
				continue
			}
			if root := cmdRoot(drel); root != "" && !match(root+"/...", prel) {
				out = append(out, fmt.Sprintf("%s %s %s: nothing imports cmd/...", p.ImportPath, verb(d), d))
			}
		}

		i := slices.IndexFunc(rules, func(r rule) bool { return match(r.scope, prel) })
		if i < 0 {
			continue
		}
		r := rules[i]
		for _, d := range p.Deps {
			drel, ok := rel(d)
			if !ok || match(r.scope, drel) || matchAny(r.project, drel) || cmdRoot(drel) != "" {
				continue
			}
			why := r.why
			if match("internal/...", drel) {
				why = "internal/ holds test kits, which non-test code must not import; " + why
			}
			out = append(out, fmt.Sprintf("%s %s %s: %s", p.ImportPath, verb(d), d, why))
		}
		if r.external == nil {
			continue
		}
		for _, d := range p.Imports {
			if _, ok := rel(d); ok || d == "C" || isStd(d) || matchAny(r.external, d) {
				continue
			}
			out = append(out, fmt.Sprintf("%s imports %s: %s", p.ImportPath, d, r.why))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod and returns it with the module path.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(m), `"`)
				}
			}
			t.Fatalf("%s/go.mod has no module line", dir)
		}
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// listModule runs `go list -deps` over the whole module.
func listModule(t *testing.T, dir string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-deps", "-json=ImportPath,Imports,Deps,Standard", "./...")
	cmd.Dir = dir
	// CGO_ENABLED=1 so that files importing "C" are listed (and caught);
	// GOWORK=off so that a go.work pulling in bench/ does not widen ./... .
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestModuleLayering(t *testing.T) {
	dir, module := moduleRoot(t)
	pkgs := listModule(t, dir)

	var own []string
	for _, p := range pkgs {
		if p.ImportPath == module || strings.HasPrefix(p.ImportPath, module+"/") {
			own = append(own, p.ImportPath)
		}
	}
	// Guard against a vacuous pass: this package itself must be listed.
	if !slices.Contains(own, module+"/internal/layering") {
		t.Fatalf("go list found none of the module's packages (got %d packages, %d of the module)", len(pkgs), len(own))
	}
	t.Logf("checked %d packages of %s", len(own), module)

	for _, v := range violations(module, pkgs, rules) {
		t.Error(v)
	}
}

// graph builds a go list-style package list from direct imports, computing
// each package's transitive Deps and marking dotless paths as standard.
func graph(imports map[string][]string) []pkg {
	var walk func(string, map[string]bool)
	walk = func(p string, seen map[string]bool) {
		for _, d := range imports[p] {
			if !seen[d] {
				seen[d] = true
				walk(d, seen)
			}
		}
	}
	all := map[string]bool{}
	for p, ds := range imports {
		all[p] = true
		for _, d := range ds {
			all[d] = true
		}
	}
	var out []pkg
	for p := range all {
		seen := map[string]bool{}
		walk(p, seen)
		delete(seen, p) // an import cycle is not a dependency on oneself
		first, _, _ := strings.Cut(p, "/")
		out = append(out, pkg{
			ImportPath: p,
			Imports:    imports[p],
			Deps:       slices.Sorted(maps.Keys(seen)),
			Standard:   p != "C" && !strings.Contains(first, "."),
		})
	}
	return out
}

func TestRules(t *testing.T) {
	const m = "example.com/dd"
	p := func(rel string) string { return m + "/" + rel }

	// A graph that follows DESIGN.md, with every allowed kind of edge.
	clean := map[string][]string{
		p("zmtp"):                        {"net", "bufio"},
		p("zmtp/curve"):                  {p("zmtp"), "golang.org/x/crypto/nacl/box"},
		"golang.org/x/crypto/nacl/box":   {"golang.org/x/sys/cpu"},
		p("codec"):                       {"encoding/json", "github.com/vmihailenco/msgpack/v5"},
		p("sockets"):                     {p("zmtp"), p("zmtp/curve"), p("sockets/internal/trie"), "context"},
		p("sockets/internal/trie"):       {"bytes"},
		p("httpws"):                      {p("codec"), "github.com/coder/websocket", "net/http"},
		p("reactor"):                     {p("sockets"), p("httpws"), p("codec")},
		p("cmd/dripdrop"):                {p("reactor"), p("cmd/dripdrop/internal/flags"), p("internal/testkit")},
		p("cmd/dripdrop/internal/flags"): {"flag"},
		p("internal/testkit"):            {p("zmtp"), p("sockets")},
		p("internal/libzmqpeer"):         {"os/exec"},
	}
	// with returns clean plus the extra edges.
	with := func(from string, to ...string) map[string][]string {
		g := maps.Clone(clean)
		g[p(from)] = append(slices.Clone(g[p(from)]), to...)
		return g
	}
	// short turns a violation into "FROM VERB TO" without the module path
	// and the explanation.
	short := func(v string) string {
		v, _, _ = strings.Cut(v, ": ")
		return strings.ReplaceAll(v, m+"/", "")
	}

	tests := []struct {
		name  string
		graph map[string][]string
		want  []string // short forms, sorted
		why   string   // a phrase every explanation must contain
	}{
		{name: "clean", graph: clean},
		{
			name:  "zmtp imports sockets",
			graph: with("zmtp", p("sockets")),
			want: []string{
				"zmtp depends (indirectly) on sockets/internal/trie",
				"zmtp imports sockets",
				"zmtp/curve depends (indirectly) on sockets",
				"zmtp/curve depends (indirectly) on sockets/internal/trie",
			},
			why: "zmtp is the bottom layer",
		},
		{
			name:  "zmtp imports a third-party package",
			graph: with("zmtp/curve", "github.com/pkg/errors"),
			want:  []string{"zmtp/curve imports github.com/pkg/errors"},
			why:   "golang.org/x/crypto only",
		},
		{
			name:  "zmtp imports a test kit",
			graph: with("zmtp/curve", p("internal/libzmqpeer")),
			want: []string{
				"reactor depends (indirectly) on internal/libzmqpeer",
				"sockets depends (indirectly) on internal/libzmqpeer",
				"zmtp/curve imports internal/libzmqpeer",
			},
			why: "non-test code must not import",
		},
		{
			name:  "codec imports zmtp",
			graph: with("codec", p("zmtp")),
			want:  []string{"codec imports zmtp", "httpws depends (indirectly) on zmtp"},
		},
		{
			name:  "codec imports another serialiser",
			graph: with("codec", "gopkg.in/yaml.v3"),
			want:  []string{"codec imports gopkg.in/yaml.v3"},
			why:   "msgpack only",
		},
		{
			name:  "sockets imports codec",
			graph: with("sockets", p("codec")),
			want:  []string{"sockets imports codec"},
			why:   "sockets may use zmtp only",
		},
		{
			name:  "sockets reaches reactor through a subpackage",
			graph: with("sockets/internal/trie", p("reactor")),
			want: []string{
				"sockets depends (indirectly) on codec",
				"sockets depends (indirectly) on httpws",
				"sockets depends (indirectly) on reactor",
				"sockets/internal/trie depends (indirectly) on codec",
				"sockets/internal/trie depends (indirectly) on httpws",
				"sockets/internal/trie imports reactor",
			},
			why: "sockets may use zmtp only",
		},
		{
			name:  "sockets imports a test kit",
			graph: with("sockets", p("internal/testkit")),
			want: []string{
				"reactor depends (indirectly) on internal/testkit",
				"sockets imports internal/testkit",
			},
			why: "non-test code must not import",
		},
		{
			name:  "httpws imports sockets",
			graph: with("httpws", p("sockets")),
			want: []string{
				"httpws depends (indirectly) on sockets/internal/trie",
				"httpws depends (indirectly) on zmtp",
				"httpws depends (indirectly) on zmtp/curve",
				"httpws imports sockets",
			},
			why: "httpws may use codec only",
		},
		{
			name:  "a library imports the command",
			graph: with("internal/testkit", p("cmd/dripdrop/internal/flags")),
			want:  []string{"internal/testkit imports cmd/dripdrop/internal/flags"},
			why:   "nothing imports cmd/",
		},
		{
			name:  "one command imports another",
			graph: with("cmd/other", p("cmd/dripdrop")),
			want: []string{
				"cmd/other depends (indirectly) on cmd/dripdrop/internal/flags",
				"cmd/other imports cmd/dripdrop",
			},
			why: "nothing imports cmd/",
		},
		{
			name:  "cgo",
			graph: with("internal/libzmqpeer", "C"),
			want:  []string{`internal/libzmqpeer imports "C"`},
			why:   "pure Go",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violations(m, graph(tt.graph), rules)
			var gotShort []string
			for _, v := range got {
				gotShort = append(gotShort, short(v))
				if !strings.Contains(v, tt.why) {
					t.Errorf("violation %q does not explain %q", v, tt.why)
				}
			}
			slices.Sort(gotShort)
			if !slices.Equal(gotShort, tt.want) {
				t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, rel string
		want         bool
	}{
		{"zmtp/...", "zmtp", true},
		{"zmtp/...", "zmtp/curve", true},
		{"zmtp/...", "zmtpx", false},
		{"codec", "codec", true},
		{"codec", "codec/json", false},
		{"golang.org/x/crypto/...", "golang.org/x/crypto/nacl/box", true},
		{"golang.org/x/crypto/...", "golang.org/x/cryptography", false},
	} {
		if got := match(tt.pattern, tt.rel); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.rel, got, tt.want)
		}
	}
}
