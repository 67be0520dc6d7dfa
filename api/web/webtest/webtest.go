// Package webtest drives Debian's Chromium headless through chromedp, for
// browser tests of the dashboard (api/web) against a real HTTP server.
//
// Open starts a browser for one test and loads a page; the test then waits
// for selectors or JavaScript conditions (never for a fixed time), reads the
// page with Eval, and saves screenshots. Every step runs under the page's
// time budget (Options.Timeout), so a page that never gets ready fails the
// test instead of hanging it. When Chromium is missing the test is skipped
// with the hint to run scripts/chromium.sh install, unless
// HEADEND_REQUIRE_CHROMIUM=1, which makes it fail instead (for CI).
package webtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/headend/headend/internal/testenv"
)

// DefaultExecPath is where Debian's chromium package puts the browser.
const DefaultExecPath = "/usr/bin/chromium"

// Options shape a browser. The zero value is a 1366x768 viewport and a
// 60 s budget for the whole page.
type Options struct {
	Width, Height int           // viewport in CSS pixels; 1366x768 when zero
	Timeout       time.Duration // for everything done on the page; 60 s when zero, cut to the test's deadline
}

// Page is one tab of a browser started for one test. Its methods fail the
// test on error, naming what was being done. Ctx is the chromedp context,
// for actions the helpers do not cover (chromedp.Do(p.Ctx, ...)).
type Page struct {
	Ctx context.Context
	t   testing.TB

	mu       sync.Mutex
	messages []string      // console errors and warnings, uncaught exceptions
	more     chan struct{} // closed and replaced when a message comes
	ended    bool          // the test is over: log no more
}

// ExecPath returns the Chromium binary: $HEADEND_CHROMIUM when set, else
// DefaultExecPath; ok is false when it is not an executable file.
func ExecPath() (path string, ok bool) {
	path = os.Getenv("HEADEND_CHROMIUM")
	if path == "" {
		path = DefaultExecPath
	}
	fi, err := os.Stat(path)
	return path, err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Require returns the Chromium binary, or skips the test when there is none
// (fails it when HEADEND_REQUIRE_CHROMIUM=1).
func Require(t testing.TB) string {
	t.Helper()
	path, ok := ExecPath()
	if ok {
		return path
	}
	msg := fmt.Sprintf("chromium not found at %s: run scripts/chromium.sh install (or set HEADEND_CHROMIUM)", path)
	if os.Getenv("HEADEND_REQUIRE_CHROMIUM") == "1" || testenv.RequireAll() {
		t.Fatal(msg + "; HEADEND_REQUIRE_CHROMIUM=1 requires it")
	}
	t.Skip(msg)
	return ""
}

// Open starts a headless Chromium with the default Options and loads url.
func Open(t testing.TB, url string) *Page {
	t.Helper()
	return OpenWith(t, url, Options{})
}

// OpenWith starts a headless Chromium with o, loads url and waits for its
// body. The browser is stopped when the test ends. The page's console errors
// and warnings and its uncaught exceptions are logged and kept for Messages.
func OpenWith(t testing.TB, url string, o Options) *Page {
	t.Helper()
	exec := Require(t)
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1366, 768
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if dt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := dt.Deadline(); ok {
			if left := time.Until(d) - 5*time.Second; left < o.Timeout {
				o.Timeout = max(left, time.Second)
			}
		}
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exec),
		chromedp.DisableGPU,
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("font-render-hinting", "none"),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to start as root with its sandbox
	}
	// The budget is on the parent of the browser: when it runs out, every
	// wait returns and the browser stops.
	budget, cancelBudget := context.WithTimeout(context.Background(), o.Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(budget, opts...)
	p := &Page{t: t, more: make(chan struct{})}
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(p.logf), chromedp.WithErrorf(p.logf))
	p.Ctx = bctx
	consoleDone := make(chan struct{})
	t.Cleanup(func() {
		cancelBrowser() // closes the tab and the browser, and waits for it
		cancelAlloc()
		cancelBudget()
		<-consoleDone
		p.mu.Lock()
		p.ended = true
		p.mu.Unlock()
	})

	start := time.Now()
	if err := chromedp.Do(bctx); err != nil { // starts the browser and opens the tab
		close(consoleDone)
		t.Fatalf("webtest: start %s: %v", exec, p.explain(err))
	}
	console := chromedp.Console(bctx)
	go func() {
		defer close(consoleDone)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				where := ""
				if m.URL != "" {
					where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
				}
				p.keep(m.String() + where)
			}
		}
	}()
	p.Run("open "+url,
		chromedp.EmulateViewport(int64(o.Width), int64(o.Height)),
		chromedp.Navigate(url),
		chromedp.WaitReady(chromedp.CSS("body")),
	)
	t.Logf("webtest: %s opened %s in %v", exec, url, time.Since(start).Round(time.Millisecond))
	return p
}

// logf logs for chromedp while the test runs.
func (p *Page) logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ended {
		p.t.Logf("webtest: chromedp: "+format, args...)
	}
}

func (p *Page) keep(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.messages = append(p.messages, msg)
	close(p.more)
	p.more = make(chan struct{})
	if !p.ended {
		p.t.Logf("webtest: page console: %s", msg)
	}
}

// Messages returns the page's console errors and warnings and its uncaught
// exceptions so far (including CSP violations and failed requests, which
// the browser logs as errors).
func (p *Page) Messages() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.messages...)
}

// WaitMessage waits until a console message (see Messages) contains substr
// and returns it.
func (p *Page) WaitMessage(substr string) string {
	p.t.Helper()
	for {
		p.mu.Lock()
		for _, m := range p.messages {
			if strings.Contains(m, substr) {
				p.mu.Unlock()
				return m
			}
		}
		more := p.more
		p.mu.Unlock()
		select {
		case <-more:
		case <-p.Ctx.Done():
			p.t.Fatalf("webtest: wait for a console message with %q: %v; got %q", substr, p.explain(p.Ctx.Err()), p.Messages())
		}
	}
}

// explain adds to an error that the page's time budget ran out.
func (p *Page) explain(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || (p.Ctx != nil && errors.Is(context.Cause(p.Ctx), context.DeadlineExceeded)) {
		return fmt.Errorf("%w (the page's time budget ran out: webtest.Options.Timeout)", err)
	}
	return err
}

// Run runs chromedp actions on the page in order; what names them in a
// failure.
func (p *Page) Run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.Ctx, actions...); err != nil {
		p.t.Fatalf("webtest: %s: %v", what, p.explain(err))
	}
}

// Eval evaluates a JavaScript expression and decodes its value, awaiting a
// promise. It fails the test on an exception or a value that does not
// decode into T.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("webtest: evaluate %s: %v", expr, p.explain(err))
	}
	return v
}

// Exec evaluates a JavaScript expression for its effect, awaiting a promise.
func (p *Page) Exec(expr string) {
	p.t.Helper()
	Eval[chromedp.Void](p, expr)
}

// WaitJS waits until a JavaScript expression is truthy, checking it on every
// animation frame, for as long as the page's budget lasts.
func (p *Page) WaitJS(expr string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.Ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(0))); err != nil {
		p.t.Fatalf("webtest: wait for %s: %v", expr, p.explain(err))
	}
}

// WaitVisible waits until the element sel (a CSS selector) is visible.
func (p *Page) WaitVisible(sel string) {
	p.t.Helper()
	p.Run("wait for "+sel+" to be visible", chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Click clicks the first element matching sel (CSS), once it is visible.
func (p *Page) Click(sel string) {
	p.t.Helper()
	p.Run("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// WaitRows waits until at least min elements match sel (CSS, e.g. "#areas
// tbody tr") and returns how many do.
func (p *Page) WaitRows(sel string, min int) int {
	p.t.Helper()
	q := JSString(sel)
	p.WaitJS(fmt.Sprintf("document.querySelectorAll(%s).length >= %d", q, min))
	return Eval[int](p, fmt.Sprintf("document.querySelectorAll(%s).length", q))
}

// Screenshot saves the viewport as a PNG at path, making its directory.
func (p *Page) Screenshot(path string) {
	p.t.Helper()
	png, err := chromedp.Run(p.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("webtest: screenshot for %s: %v", path, p.explain(err))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatalf("webtest: screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatalf("webtest: screenshot: %v", err)
	}
	p.t.Logf("webtest: screenshot %s (%d bytes)", path, len(png))
}

// JSString quotes s as a JavaScript string literal, for building Eval and
// WaitJS expressions from Go values.
func JSString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x2028 || r == 0x2029 || r == '<':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
