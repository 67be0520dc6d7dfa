// Package web is the loss analysts' dashboard: a single page, served by the
// daemon from assets embedded in the binary, that reads the loss API under
// /api/v1 (see api/web/static/app.js) and draws its charts with uPlot,
// vendored under static/vendor (no CDN: it works offline).
//
// Handler serves "/" (the page) and its assets. The daemon mounts it at "/"
// of its mux; the API's routes, registered under /api/v1, take precedence.
// The page takes its bearer token from the URL fragment (#token=...) on first
// load, keeps it in sessionStorage, and sends it on every API request; it uses
// no cookies, so this handler needs no authentication of its own.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
	cache string
}

var (
	assetsOnce sync.Once
	assets     map[string]*asset // by URL path, "/" for the page
	assetsErr  error
)

// contentTypes are the types of the extensions the assets use, fixed here
// rather than taken from the system's mime tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".png":  "image/png",
	".svg":  "image/svg+xml",
	".txt":  "text/plain; charset=utf-8",
	".md":   "text/plain; charset=utf-8",
	"":      "text/plain; charset=utf-8", // LICENSE
}

// Cache policies: the page and the app revalidate on every load (a cheap 304
// by ETag), so a new daemon's page is seen at once; the vendored library,
// whose version is fixed per release, is kept for a day.
const (
	cacheRevalidate = "no-cache"
	cacheVendor     = "public, max-age=86400"
)

// csp allows only the daemon's own scripts, styles and API: nothing is
// loaded from elsewhere, and no inline script or style attribute (uPlot and
// the app set styles through the CSSOM, which the policy allows).
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func loadAssets() (map[string]*asset, error) {
	m := make(map[string]*asset)
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(name)
		if err != nil {
			return fmt.Errorf("web: embedded asset %s: %w", name, err)
		}
		rel := strings.TrimPrefix(name, "static")
		ctype, ok := contentTypes[path.Ext(rel)]
		if !ok {
			return fmt.Errorf("web: embedded asset %s: no content type for extension %q", name, path.Ext(rel))
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, cache: cacheRevalidate}
		if strings.HasPrefix(rel, "/vendor/") {
			a.cache = cacheVendor
		}
		m[rel] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	index, ok := m["/index.html"]
	if !ok {
		return nil, fmt.Errorf("web: embedded assets: static/index.html is missing")
	}
	m["/"] = index
	return m, nil
}

// Handler serves the dashboard: "/" and "/index.html" the page, and its
// scripts, styles and vendored library by path, with their content types,
// an ETag and cache headers. Other paths are 404 and methods other than GET
// and HEAD 405. It is safe for concurrent use; every call returns a handler
// over the same embedded files.
func Handler() http.Handler {
	assetsOnce.Do(func() { assets, assetsErr = loadAssets() })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if assetsErr != nil { // only a broken build: the assets are embedded
			http.Error(w, assetsErr.Error(), http.StatusInternalServerError)
			return
		}
		a, ok := assets[r.URL.Path]
		if !ok {
			http.Error(w, fmt.Sprintf("web: no page at %q", r.URL.Path), http.StatusNotFound)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, fmt.Sprintf("web: %s %s: method not allowed", r.Method, r.URL.Path), http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", a.cache)
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if a.ctype == contentTypes[".html"] {
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Frame-Options", "DENY")
		}
		// ServeContent answers If-None-Match from the ETag set above, and
		// ranges; a zero modtime sends no Last-Modified.
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
