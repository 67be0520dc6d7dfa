package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, srv *httptest.Server, method, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return res, string(body)
}

func TestHandlerServesAssets(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, c := range []struct {
		path, ctype, cache, contains string
	}{
		{"/", "text/html; charset=utf-8", "no-cache", `<table id="areas"`},
		{"/index.html", "text/html; charset=utf-8", "no-cache", `src="app.js"`},
		{"/app.js", "text/javascript; charset=utf-8", "no-cache", "Authorization"},
		{"/app.css", "text/css; charset=utf-8", "no-cache", "#areas"},
		{"/vendor/uplot/uPlot.iife.min.js", "text/javascript; charset=utf-8", "public, max-age=86400", "uPlot (v1.6.32)"},
		{"/vendor/uplot/uPlot.min.css", "text/css; charset=utf-8", "public, max-age=86400", ".uplot"},
		{"/vendor/uplot/LICENSE", "text/plain; charset=utf-8", "public, max-age=86400", "MIT"},
	} {
		res, body := get(t, srv, "GET", c.path, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", c.path, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); got != c.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if got := res.Header.Get("Cache-Control"); got != c.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", c.path, got, c.cache)
		}
		if res.Header.Get("ETag") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: ETag %q, X-Content-Type-Options %q", c.path, res.Header.Get("ETag"), res.Header.Get("X-Content-Type-Options"))
		}
		if !strings.Contains(body, c.contains) {
			t.Errorf("GET %s: body (%d bytes) lacks %q", c.path, len(body), c.contains)
		}
	}
}

func TestHandlerPageHeaders(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	res, _ := get(t, srv, "GET", "/", nil)
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q allows unsafe sources", csp)
	}
	if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q, want no-referrer", got)
	}
	if c := res.Header.Get("Set-Cookie"); c != "" {
		t.Errorf("the page sets a cookie: %q", c)
	}
}

func TestHandlerRevalidates(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	res, _ := get(t, srv, "GET", "/app.js", nil)
	etag := res.Header.Get("ETag")
	res, body := get(t, srv, "GET", "/app.js", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("GET /app.js If-None-Match %s: status %d with %d bytes, want 304 and none", etag, res.StatusCode, len(body))
	}
	res, body = get(t, srv, "GET", "/app.js", map[string]string{"If-None-Match": `"other"`})
	if res.StatusCode != http.StatusOK || body == "" {
		t.Errorf("GET /app.js with a stale ETag: status %d with %d bytes, want 200 and the script", res.StatusCode, len(body))
	}
	res, body = get(t, srv, "HEAD", "/", nil)
	if res.StatusCode != http.StatusOK || body != "" || res.Header.Get("Content-Length") == "" {
		t.Errorf("HEAD /: status %d, %d bytes, Content-Length %q", res.StatusCode, len(body), res.Header.Get("Content-Length"))
	}
}

func TestHandlerRefuses(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/nothing.js", http.StatusNotFound},
		{"GET", "/static/app.js", http.StatusNotFound},
		{"GET", "/vendor/uplot/", http.StatusNotFound},
		{"GET", "/../web.go", http.StatusNotFound},
		{"POST", "/", http.StatusMethodNotAllowed},
		{"DELETE", "/app.js", http.StatusMethodNotAllowed},
	} {
		res, _ := get(t, srv, c.method, c.path, nil)
		if res.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, res.StatusCode, c.status)
		}
		if c.status == http.StatusMethodNotAllowed && res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", c.method, c.path, res.Header.Get("Allow"))
		}
	}
}

// TestHandlerUnderAPIMux mounts the handler the way the daemon does: at "/"
// beside routes under /api/v1, which take precedence.
func TestHandlerUnderAPIMux(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/meta", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"zone":"UTC"}`) })
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if res, body := get(t, srv, "GET", "/api/v1/meta", nil); res.StatusCode != 200 || body != `{"zone":"UTC"}` {
		t.Errorf("GET /api/v1/meta under the mux: %d %q", res.StatusCode, body)
	}
	if res, _ := get(t, srv, "GET", "/", nil); res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET / under the mux: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
