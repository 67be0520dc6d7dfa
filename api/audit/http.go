package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	param "github.com/headend/headend/api"
	"github.com/headend/headend/api/auth"
)

// MaxLimit is the most entries GET /api/v1/audit returns at once.
const MaxLimit = 10000

// Handler serves GET /api/v1/audit: the entries, oldest first, of
//
//	from, to   RFC 3339 times (2026-11-22T13:45:00+08:00), or dates and
//	           local times (2026-11-22, 2026-11-22T13:45) in loc; from <= time < to
//	action     an action or a dotted prefix (relay: relay.trip, relay.close, ...)
//	who        a token's name
//	limit      the latest so many (default 1000, at most MaxLimit)
//
// as {"entries": [...], "truncated": true when limit cut some off,
// "damaged": the damaged lines found at Open}. A malformed or unknown
// parameter is 400 naming it. Mount it behind auth's Require(auth.Audit).
func Handler(l *Log, loc *time.Location) http.Handler {
	if loc == nil {
		loc = time.Local
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := parseFilter(r.URL.Query(), loc)
		if err != nil {
			auth.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		want := f.Limit
		f.Limit++
		entries, err := l.List(f)
		if err != nil {
			auth.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		truncated := len(entries) > want
		if truncated {
			entries = entries[1:]
		}
		if entries == nil {
			entries = []Entry{}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			Entries   []Entry  `json:"entries"`
			Truncated bool     `json:"truncated"`
			Damaged   []Damage `json:"damaged,omitempty"`
		}{entries, truncated, l.Damaged()})
	})
}

func parseFilter(q url.Values, loc *time.Location) (Filter, error) {
	f := Filter{Limit: 1000}
	for k, v := range q {
		var err error
		switch k {
		case "from":
			f.From, err = parseTime(v[0], loc)
		case "to":
			f.To, err = parseTime(v[0], loc)
		case "action":
			f.Action = v[0]
		case "who":
			f.Who = v[0]
		case "limit":
			n, perr := strconv.Atoi(v[0])
			if perr != nil || n < 1 || n > MaxLimit {
				err = fmt.Errorf("%q: want a number from 1 to %d", v[0], MaxLimit)
			}
			f.Limit = n
		default:
			return f, fmt.Errorf("unknown parameter %q (known: from, to, action, who, limit)", k)
		}
		if err != nil {
			return f, fmt.Errorf("%s: %w", k, err)
		}
		if len(v) > 1 {
			return f, fmt.Errorf("%s: given %d times", k, len(v))
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, fmt.Errorf("to: %s is not after from %s", f.To.Format(time.RFC3339), f.From.Format(time.RFC3339))
	}
	return f, nil
}

func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, inYears(s, t)
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, inYears(s, t)
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want RFC 3339 such as 2026-11-22T13:45:00+08:00, or a date such as 2026-11-22)", s)
}

// inYears refuses a time outside the years param.MinYear..param.MaxYear.
func inYears(s string, t time.Time) error {
	if !param.InYears(t) {
		return fmt.Errorf("%q is not in the years %d to %d", s, param.MinYear, param.MaxYear)
	}
	return nil
}

// maxBody is the largest request body Writes keeps in an entry.
const maxBody = 16 << 10

// Writes returns a middleware that records every authenticated request
// that is not a GET, HEAD or OPTIONS: action http.<method>, the path
// (query values of secret-looking parameters masked), who (from an inner
// auth.Require, which Writes lets it tell through auth.Capture), the
// client's address and the status as outcome; a request refused for
// lack of permission is recorded too. A request that no token
// authenticated is not recorded (auth.Require counts and logs those), and
// its body is not read here: anyone could otherwise grow the log. A JSON
// body of at most 16 KiB is kept in Request, read only once the request
// is authenticated, unless it has a field whose name holds "password",
// "token" or "secret" at any depth (Request then says why the body is not
// there). It puts the client's address in the context of every request,
// for the handlers' own Record calls.
//
// While the audit log cannot be written (the last Record failed), it
// refuses writes with 503 rather than let them go unaudited.
func Writes(l *Log) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := WithRemote(r.Context(), r.RemoteAddr)
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				next.ServeHTTP(w, r.WithContext(ctx))
				return
			}
			if err := l.Err(); err != nil {
				auth.WriteError(w, http.StatusServiceUnavailable, "the audit log cannot be written: writes are refused until it can")
				return
			}
			ctx, who := auth.Capture(ctx)
			authed := func() bool { _, ok := who(); return ok }
			var kb *keptBody
			if r.Body != nil && r.Body != http.NoBody {
				kb = &keptBody{rc: r.Body, size: r.ContentLength, authed: authed}
				r.Body = kb
			}
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r.WithContext(ctx))
			p, ok := who()
			if !ok {
				return // not authenticated: not an action of anyone's
			}
			e := Entry{Action: "http." + strings.ToLower(r.Method), Target: redact(r.URL),
				Outcome: fmt.Sprintf("%d %s", sw.code(), http.StatusText(sw.code())), Who: p.Name, Roles: p.Roles}
			if kb != nil {
				if body, note := kb.kept(); body != nil {
					e.Request = body
				} else if note != "" {
					e.Request = note
				}
			}
			l.Record(ctx, e) // a failure is logged, and refuses the next write
		})
	}
}

// keptBody is a request body that keeps its first 16 KiB for the entry,
// read only once the request is authenticated.
type keptBody struct {
	rc     io.ReadCloser
	size   int64 // ContentLength: -1 unknown
	authed func() bool

	started bool
	r       io.Reader // after start: the kept bytes, then the rest
	b       []byte
	note    string
}

// start reads the bytes to keep, when the request is authenticated.
func (k *keptBody) start() {
	k.started = true
	k.r = k.rc
	switch {
	case !k.authed():
		k.note = "body read before authentication, not recorded"
		return
	case k.size > maxBody:
		k.note = fmt.Sprintf("body of %d bytes not recorded", k.size)
		return
	}
	b, err := io.ReadAll(io.LimitReader(k.rc, maxBody+1))
	k.b = b
	k.r = io.MultiReader(bytes.NewReader(b), k.rc)
	if err != nil {
		k.note = "body not recorded: " + err.Error()
		k.r = io.MultiReader(bytes.NewReader(b), errReader{err})
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (k *keptBody) Read(p []byte) (int, error) {
	if !k.started {
		k.start()
	}
	return k.r.Read(p)
}

func (k *keptBody) Close() error { return k.rc.Close() }

// kept is the body for the entry, or a note saying why it is not there.
// A body the handler did not read is read now.
func (k *keptBody) kept() (json.RawMessage, string) {
	if !k.started {
		k.start()
	}
	b := k.b
	switch {
	case k.note != "":
		return nil, k.note
	case len(b) == 0:
		return nil, ""
	case len(b) > maxBody:
		return nil, fmt.Sprintf("body of more than %d bytes not recorded", maxBody)
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil, fmt.Sprintf("body of %d bytes, not JSON, not recorded", len(b))
	}
	if k := secretKey(v); k != "" {
		return nil, fmt.Sprintf("body not recorded: it has a field %q", k)
	}
	return json.RawMessage(b), ""
}

// secretKey returns a field name of v that looks like it holds a secret.
func secretKey(v any) string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if secretName(k) {
				return k
			}
			if s := secretKey(e); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range x {
			if s := secretKey(e); s != "" {
				return s
			}
		}
	}
	return ""
}

func secretName(k string) bool {
	k = strings.ToLower(k)
	return strings.Contains(k, "password") || strings.Contains(k, "passwd") || strings.Contains(k, "token") || strings.Contains(k, "secret")
}

// redact is the path and query with the values of secret-looking
// parameters masked.
func redact(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Path
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return u.Path + "?(query not recorded: " + err.Error() + ")"
	}
	for k := range q {
		if secretName(k) || strings.Contains(strings.ToLower(k), "key") {
			q[k] = []string{"******"}
		}
	}
	return u.Path + "?" + q.Encode()
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes streaming responses on.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack passes a connection take-over (websockets) on.
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := s.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("audit: the response writer cannot be hijacked")
}
