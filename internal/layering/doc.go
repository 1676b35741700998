// Package layering holds no code of its own: its tests check that the
// module's import graph follows the dependency direction in DESIGN.md
// (zmtp and codec at the bottom, sockets over zmtp, httpws over codec,
// reactor on top, nothing importing cmd/ or the internal test kits).
//
// Run it alone with
//
//	go test ./internal/layering
package layering
