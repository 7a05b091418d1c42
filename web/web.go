// Package web holds the embedded static assets of rpcgate's public pages.
// The files are plain HTML, CSS and JavaScript with no external references,
// so the pages work offline and under a default-src 'self' policy.
package web

import (
	"embed"
	"io/fs"
)

//go:embed status
var status embed.FS

// Status is the status page: index.html, status.css and status.js at its
// root. internal/status serves it.
func Status() fs.FS {
	sub, err := fs.Sub(status, "status")
	if err != nil {
		panic(err) // unreachable: "status" is embedded above
	}
	return sub
}
