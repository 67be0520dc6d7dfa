package audit

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/daemon/config"
)

const (
	adminTok   = "admin-token-0123456789abcdef"
	billingTok = "billing-token-0123456789abcdef"
	opsTok     = "ops-token-0123456789abcdef"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// api is a server as the daemon mounts it: Writes around the mux, a
// relay route for operators, the audit route for admins.
func api(t *testing.T) (*httptest.Server, *Log, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	tk, err := auth.New([]config.TokenSpec{
		{Name: "root", Roles: []string{"admin"}, Token: adminTok},
		{Name: "billing-export", Roles: []string{"billing"}, Token: billingTok},
		{Name: "ops", Roles: []string{"operator"}, Token: opsTok},
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(filepath.Join(t.TempDir(), "audit.jsonl"), Options{Now: clock(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/meters/{id}/relay", tk.Require(auth.FieldControl)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body) // the body is still there for the handler
		if body["command"] == nil {
			auth.WriteError(w, 400, "command: missing")
			return
		}
		if _, err := l.Record(r.Context(), Entry{Action: "relay." + body["command"].(string), Target: r.PathValue("id"), Outcome: "ok"}); err != nil {
			auth.WriteError(w, 503, err.Error())
			return
		}
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("{}"))
	})))
	mux.Handle("GET /api/v1/audit", tk.Require(auth.Audit)(Handler(l, t0.Location())))
	srv := httptest.NewServer(Writes(l)(mux))
	t.Cleanup(srv.Close)
	return srv, l, logs
}

func call(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func TestWritesAndAuditRoute(t *testing.T) {
	srv, l, logs := api(t)
	relay := srv.URL + "/api/v1/meters/000001000001/relay"

	if code, _ := call(t, "POST", relay, opsTok, `{"command":"trip","password":"123456","operator":"0000ABCD"}`); code != 202 {
		t.Fatalf("operator trips: %d", code)
	}
	call(t, "POST", relay, "", `{"command":"trip"}`)
	call(t, "POST", relay, "wrong-token-0123456789", `{"command":"trip"}`)
	call(t, "POST", relay, billingTok, `{"command":"trip"}`)
	call(t, "POST", relay+"?token="+opsTok+"&note=x", opsTok, `{"command":"close","reason":"paid"}`)
	call(t, "GET", srv.URL+"/api/v1/audit", adminTok, "") // a read: not recorded

	code, m := call(t, "GET", srv.URL+"/api/v1/audit", adminTok, "")
	if code != 200 {
		t.Fatalf("audit: %d %v", code, m)
	}
	var got []Entry
	b, _ := json.Marshal(m["entries"])
	json.Unmarshal(b, &got)
	type want struct{ action, who, outcome, target string }
	wants := []want{
		{"relay.trip", "ops", "ok", "000001000001"},
		{"http.post", "ops", "202 Accepted", "/api/v1/meters/000001000001/relay"},
		{"http.post", "billing-export", "403 Forbidden", ""},
		{"relay.close", "ops", "ok", ""},
		{"http.post", "ops", "202 Accepted", "/api/v1/meters/000001000001/relay?note=x&token=%2A%2A%2A%2A%2A%2A"},
	}
	if len(got) != len(wants) {
		t.Fatalf("entries:\n%s", b)
	}
	for i, w := range wants {
		e := got[i]
		if e.Action != w.action || e.Who != w.who || e.Outcome != w.outcome || (w.target != "" && e.Target != w.target) || e.Seq != int64(i+1) ||
			!strings.HasPrefix(e.Remote, "127.0.0.1:") {
			t.Errorf("entry %d: %+v, want %+v", i, e, w)
		}
	}
	if s, _ := got[1].Request.(string); !strings.Contains(s, `field "password"`) {
		t.Errorf("the body with a password: %#v", got[1].Request)
	}
	if r, _ := got[4].Request.(map[string]any); r["reason"] != "paid" {
		t.Errorf("an ordinary body: %#v", got[4].Request)
	}
	if roles := got[2].Roles; len(roles) != 1 || roles[0] != auth.Billing {
		t.Errorf("roles of the refused: %v", roles)
	}

	file, _ := os.ReadFile(l.Path())
	for _, secret := range []string{"123456", opsTok, adminTok, billingTok, "wrong-token-0123456789"} {
		if bytes.Contains(file, []byte(secret)) || strings.Contains(logs.String(), secret) {
			t.Errorf("%q is in the audit file or the log", secret)
		}
	}

	// filters and errors
	code, m = call(t, "GET", srv.URL+"/api/v1/audit?action=relay&limit=1", adminTok, "")
	if es := m["entries"].([]any); code != 200 || len(es) != 1 || es[0].(map[string]any)["action"] != "relay.close" || m["truncated"] != true {
		t.Errorf("action=relay&limit=1: %d %v", code, m)
	}
	code, m = call(t, "GET", srv.URL+"/api/v1/audit?from=2026-11-22T13:46&to=2026-11-22T13:48:00%2B08:00&who=ops", adminTok, "")
	if es := m["entries"].([]any); code != 200 || len(es) != 1 || m["truncated"] != false {
		t.Errorf("from/to/who: %d %v", code, m)
	}
	for q, param := range map[string]string{"from=yesterday": "from", "to=2026-13-01": "to", "limit=0": "limit", "limit=x": "limit",
		"actor=ops": `"actor"`, "from=2026-11-23&to=2026-11-22": "to", "who=a&who=b": "who"} {
		code, m := call(t, "GET", srv.URL+"/api/v1/audit?"+q, adminTok, "")
		if msg, _ := m["error"].(string); code != 400 || !strings.Contains(msg, param) {
			t.Errorf("%s: %d %v", q, code, m)
		}
	}
	if code, _ := call(t, "GET", srv.URL+"/api/v1/audit", billingTok, ""); code != 403 {
		t.Errorf("billing reads the audit log: %d", code)
	}
	if code, _ := call(t, "GET", srv.URL+"/api/v1/audit", "", ""); code != 401 {
		t.Errorf("no token reads the audit log: %d", code)
	}
}

func TestWritesRefusedWhileTheLogIsBroken(t *testing.T) {
	srv, l, _ := api(t)
	good := l.f
	ro, _ := os.Open(l.Path())
	defer ro.Close()
	l.mu.Lock()
	l.f = ro
	l.mu.Unlock()
	relay := srv.URL + "/api/v1/meters/000001000001/relay"
	if code, m := call(t, "POST", relay, opsTok, `{"command":"trip"}`); code != 503 {
		t.Fatalf("first write after the failure: %d %v", code, m) // the handler's own Record failed
	}
	if code, m := call(t, "POST", relay, opsTok, `{"command":"trip"}`); code != 503 || !strings.Contains(m["error"].(string), "audit log") {
		t.Fatalf("a write while the log is broken: %d %v", code, m)
	}
	l.mu.Lock()
	l.f = good
	l.broken = nil
	l.mu.Unlock()
	if code, _ := call(t, "POST", relay, opsTok, `{"command":"trip"}`); code != 202 {
		t.Fatalf("after repair: %d", code)
	}
}

// readFlag is a body that tells whether anyone read it.
type readFlag struct {
	io.Reader
	read bool
}

func (f *readFlag) Read(p []byte) (int, error) {
	f.read = true
	return f.Reader.Read(p)
}

// TestAnonymousWritesNotRecorded checks that writes no token
// authenticates leave the audit log as it was, their bodies unread, and
// are counted in a few log lines, not one each.
func TestAnonymousWritesNotRecorded(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	tk, err := auth.New([]config.TokenSpec{{Name: "ops", Roles: []string{"operator"}, Token: opsTok}}, log)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(filepath.Join(t.TempDir(), "audit.jsonl"), Options{Now: clock(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := Writes(l)(tk.Require(auth.FieldControl)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	})))
	big := strings.Repeat(`{"command":"trip","pad":"`+strings.Repeat("x", 16000)+`"}`, 1)
	const n = 300
	for i := range n {
		body := &readFlag{Reader: strings.NewReader(big)}
		req := httptest.NewRequest("POST", "/api/v1/meters/000001000001/relay", body)
		if i%2 == 1 {
			req.Header.Set("Authorization", "Bearer wrong-token-0123456789")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 401 {
			t.Fatalf("anonymous write: %d", rec.Code)
		}
		if body.read {
			t.Fatal("the body of an unauthenticated request was read")
		}
	}
	if fi, err := os.Stat(l.Path()); err != nil || fi.Size() != 0 {
		t.Fatalf("audit log after %d anonymous writes: %v bytes (%v)", n, fi.Size(), err)
	}
	if got := tk.Refused(); got != n {
		t.Errorf("refused counted %d, want %d", got, n)
	}
	if lines := strings.Count(logs.String(), "unauthenticated request"); lines < 1 || lines > 2 {
		t.Errorf("%d log lines for %d refused requests, want 1 or 2:\n%s", lines, n, logs.String())
	}

	// an authenticated write is recorded with its body
	req := httptest.NewRequest("POST", "/api/v1/meters/000001000001/relay", strings.NewReader(`{"command":"trip"}`))
	req.Header.Set("Authorization", "Bearer "+opsTok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	es, err := l.List(Filter{Limit: 10})
	if err != nil || len(es) != 1 || es[0].Who != "ops" || es[0].Request == nil {
		t.Fatalf("entries %+v %v", es, err)
	}
}
