package httpapi

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// ContentSecurityPolicy is sent with every page and asset: nothing loads from
// another origin. Images may be data: URLs (prize images from campaign files,
// the canvas' own images); styles may be inline (the canvas and React set
// style attributes).
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'"

// pageFile is one file of the built pages, held in memory with its gzip form.
type pageFile struct {
	body, gz    []byte
	contentType string
	immutable   bool
}

// Pages serves the built web pages: index.html of each directory with
// no-cache, the hashed files under assets/ cached for a year, gzip when the
// client accepts it (compressed once, when the server starts).
type Pages struct {
	files map[string]*pageFile // by URL path ("/", "/assets/x.js")
}

// NewPages reads every file of dist into memory. A dist without index.html is
// an error: the build output is missing.
func NewPages(dist fs.FS) (*Pages, error) {
	p := &Pages{files: map[string]*pageFile{}}
	err := fs.WalkDir(dist, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(dist, name)
		if err != nil {
			return err
		}
		f := &pageFile{body: body, immutable: strings.HasPrefix(name, "assets/")}
		f.contentType = mime.TypeByExtension(path.Ext(name))
		if f.contentType == "" {
			f.contentType = http.DetectContentType(body)
		}
		if compressible(f.contentType) && len(body) > 512 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			if _, err := zw.Write(body); err != nil {
				return err
			}
			if err := zw.Close(); err != nil {
				return err
			}
			if buf.Len() < len(body) {
				f.gz = buf.Bytes()
			}
		}
		url := "/" + name
		if base, ok := strings.CutSuffix(url, "index.html"); ok {
			url = base
		}
		p.files[url] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pages: read build output: %w", err)
	}
	if p.files["/"] == nil {
		return nil, fmt.Errorf("pages: build output has no index.html")
	}
	return p, nil
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") || strings.Contains(ct, "json") ||
		strings.Contains(ct, "svg")
}

// lookup returns the file for a request path, or nil.
func (p *Pages) lookup(urlPath string) *pageFile {
	return p.files[urlPath]
}

// serve writes f with its caching, security and encoding headers.
func (p *Pages) serve(w http.ResponseWriter, r *http.Request, f *pageFile) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if f.immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body := f.body
	if f.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = f.gz
		}
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether Accept-Encoding lists gzip with a non-zero q.
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
