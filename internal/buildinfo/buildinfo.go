// Package buildinfo holds what a build says about itself: the version,
// the commit and the date it was built from. They are set at link time, so
// the image build (Dockerfile build args VERSION, COMMIT, DATE) and
// `make build` stamp them without code generation:
//
//	go build -ldflags "-X github.com/rpcgate/rpcgate/internal/buildinfo.Version=v1.2.3 \
//	  -X github.com/rpcgate/rpcgate/internal/buildinfo.Commit=abc123 \
//	  -X github.com/rpcgate/rpcgate/internal/buildinfo.Date=2026-01-02T03:04:05Z"
//
// They are read by `rpcgate version` and by the rpcgate_build_info metric.
// They are package variables only because the linker can set nothing else;
// nothing writes them at run time.
package buildinfo

import "runtime"

// Set by the linker (-X); the defaults mark an unstamped developer build.
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = "unknown"
)

// Info is one build's identity.
type Info struct {
	Version, Commit, Date, GoVersion string
}

// Get returns the identity of the running binary.
func Get() Info {
	return Info{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version()}
}

// String is the one line `rpcgate version` prints.
func (i Info) String() string {
	return "rpcgate " + i.Version + " (commit " + i.Commit + ", built " + i.Date + ", " + i.GoVersion + ")"
}
