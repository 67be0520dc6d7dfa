package webtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJSString(t *testing.T) {
	for in, want := range map[string]string{
		``:                 `""`,
		`#areas tbody tr`:  `"#areas tbody tr"`,
		`a"b\c`:            `"a\"b\\c"`,
		"line\nnext\u2028": `"line\u000anext\u2028"`,
		`</script>`:        `"\u003c/script>"`,
		`面积`:               `"面积"`,
	} {
		if got := JSString(in); got != want {
			t.Errorf("JSString(%q) = %s, want %s", in, got, want)
		}
	}
}

// page is a page that adds rows one animation frame at a time, so that
// WaitRows has to wait, and logs a console error.
const page = `<!doctype html><html><head><title>t</title></head><body>
<table id="t"><tbody></tbody></table>
<script>
let n = 0;
function add() { if (n++ < 30) { document.querySelector('#t tbody').insertAdjacentHTML('beforeend', '<tr><td>' + n + '</td></tr>'); requestAnimationFrame(add); } }
requestAnimationFrame(add);
console.error('planted', 42);
</script></body></html>`

func TestPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	defer srv.Close()
	p := OpenWith(t, srv.URL, Options{Width: 800, Height: 600})

	if n := p.WaitRows("#t tbody tr", 30); n != 30 {
		t.Errorf("WaitRows: %d rows, want 30", n)
	}
	if got := Eval[[]int](p, `[innerWidth, innerHeight]`); got[0] != 800 || got[1] != 600 {
		t.Errorf("viewport %v, want 800x600", got)
	}
	if got := Eval[string](p, fmt.Sprintf("document.querySelector(%s).textContent", JSString("#t tr:last-child td"))); got != "30" {
		t.Errorf("last row %q, want 30", got)
	}
	if got := Eval[int](p, `Promise.resolve(7)`); got != 7 {
		t.Errorf("a promise evaluated to %d, want 7", got)
	}
	p.WaitJS(`document.title === 't'`)

	path := filepath.Join(t.TempDir(), "sub", "shot.png")
	p.Screenshot(path)
	png, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot %s: %d bytes, err %v; want a PNG", path, len(png), err)
	}

	// The console error is kept.
	if m := p.WaitMessage("planted 42"); !strings.HasPrefix(m, "error: ") {
		t.Errorf("console message %q, want an error", m)
	}
}

func TestExecPath(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "chromium")
	t.Setenv("HEADEND_CHROMIUM", bin)
	if _, ok := ExecPath(); ok {
		t.Errorf("ExecPath found %s, which does not exist", bin)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := ExecPath(); ok {
		t.Errorf("ExecPath took %s, which is not executable", bin)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, ok := ExecPath(); !ok || got != bin {
		t.Errorf("ExecPath() = %s, %v; want %s, true", got, ok, bin)
	}
}
