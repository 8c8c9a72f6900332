// Package web holds bigmarket's built web pages (web/dist, produced by
// `npm run build` from the sources next to this file and committed), embedded
// into the binary so that serving them needs no Node.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built pages: index.html at the root, hashed files under
// assets/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil { // "dist" is a valid path: fs.Sub cannot fail on it
		panic(err)
	}
	return sub
}
