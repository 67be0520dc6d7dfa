package auth

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/headend/headend/daemon/config"
)

const (
	billingTok = "billing-token-0123456789"
	opsTok     = "operator-token-0123456789"
	multiTok   = "analyst-approver-0123456789"
)

// syncBuffer is a log sink the server's goroutines can write to.
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

// server is an API with a read route and a field-control route.
func server(t *testing.T) (*httptest.Server, *syncBuffer) {
	t.Helper()
	t.Setenv("HEADEND_TEST_OPS", opsTok)
	dir := t.TempDir()
	file := filepath.Join(dir, "multi")
	os.WriteFile(file, []byte(multiTok+"\n"), 0o600)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tk, err := New([]config.TokenSpec{
		{Name: "billing-export", Roles: []string{"billing"}, Token: billingTok},
		{Name: "ops", Roles: []string{"operator"}, TokenEnv: "HEADEND_TEST_OPS"},
		{Name: "ana", Roles: []string{"analyst", "approver"}, TokenFile: file},
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Len() != 3 {
		t.Fatalf("%d tokens", tk.Len())
	}
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := From(r.Context())
		if !ok {
			WriteError(w, 500, "no principal")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"name": p.Name, "roles": p.RoleNames()})
	})
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/reads", tk.Require(ReadBilling)(echo))
	mux.Handle("POST /api/v1/meters/{id}/relay", tk.Require(FieldControl)(echo))
	mux.Handle("POST /api/v1/corrections/{id}/approve", tk.RequireAny(Approve, Audit)(echo))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, logs
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, method, url, token string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: not JSON: %q", method, url, b)
	}
	return reply{resp.StatusCode, resp.Header, m, string(b)}
}

func TestRequireOverHTTP(t *testing.T) {
	srv, logs := server(t)
	relay := srv.URL + "/api/v1/meters/000001000001/relay"

	r := do(t, "POST", relay, "")
	if r.status != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(r.body["error"].(string), "missing bearer token") {
		t.Errorf("no token: %d %v %s", r.status, r.header, r.raw)
	}
	r = do(t, "POST", relay, "not-a-token-of-anyone")
	if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) || r.body["error"] != "unknown token" {
		t.Errorf("wrong token: %d %v %s", r.status, r.header, r.raw)
	}
	r = do(t, "POST", relay+"?token="+opsTok, "")
	if r.status != 401 || !strings.Contains(r.body["error"].(string), "not accepted") {
		t.Errorf("token in the URL: %d %s", r.status, r.raw)
	}
	r = do(t, "POST", relay, billingTok)
	if r.status != 403 || !strings.Contains(r.body["error"].(string), "field_control") || !strings.Contains(r.body["error"].(string), "billing") {
		t.Errorf("billing token on relay: %d %s", r.status, r.raw)
	}
	r = do(t, "POST", relay, opsTok)
	if r.status != 200 || r.body["name"] != "ops" {
		t.Errorf("operator on relay: %d %s", r.status, r.raw)
	}
	r = do(t, "GET", srv.URL+"/api/v1/reads", billingTok)
	if r.status != 200 || r.body["name"] != "billing-export" {
		t.Errorf("billing read: %d %s", r.status, r.raw)
	}
	r = do(t, "GET", srv.URL+"/api/v1/reads", opsTok) // operators read everything but billing data
	if r.status != 403 || !strings.Contains(r.body["error"].(string), "read_billing") {
		t.Errorf("operator on billing reads: %d %s", r.status, r.raw)
	}
	r = do(t, "POST", srv.URL+"/api/v1/corrections/7/approve", multiTok)
	if r.status != 200 || r.body["name"] != "ana" || len(r.body["roles"].([]any)) != 2 {
		t.Errorf("analyst+approver approves: %d %s", r.status, r.raw)
	}
	r = do(t, "POST", srv.URL+"/api/v1/corrections/7/approve", opsTok)
	if r.status != 403 || !strings.Contains(r.body["error"].(string), "approve or audit") {
		t.Errorf("operator approves: %d %s", r.status, r.raw)
	}
	req, _ := http.NewRequest("POST", relay, nil)
	req.Header.Set("Authorization", "Basic "+opsTok)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("basic scheme: %d", resp.StatusCode)
	}

	out := logs.String()
	for _, tok := range []string{billingTok, opsTok, multiTok, "not-a-token-of-anyone"} {
		if strings.Contains(out, tok) {
			t.Errorf("a token is in the log:\n%s", out)
		}
	}
	// refusals without a token: one line a minute, counting them
	if !strings.Contains(out, "permission denied") || !strings.Contains(out, "who=billing-export") ||
		strings.Count(out, "unauthenticated requests refused") != 1 || !strings.Contains(out, "refused=1") {
		t.Errorf("refusals not logged:\n%s", out)
	}
}

func TestPermissionMatrix(t *testing.T) {
	want := map[Permission][]Role{
		ReadBilling:  {Billing, Analyst, Admin, Approver},
		ReadAll:      {Analyst, Operator, Admin, Approver},
		EditReads:    {Analyst, Admin},
		FieldControl: {Operator, Admin},
		Configure:    {Operator, Admin},
		Approve:      {Approver, Admin},
		Audit:        {Admin},
	}
	for p, roles := range want {
		for _, r := range Roles() {
			if got := r.Can(p); got != slices.Contains(roles, r) {
				t.Errorf("%s can %s: %v", r, p, got)
			}
		}
	}
	if (Principal{Name: "x"}).Can(ReadAll) {
		t.Error("a principal without roles can read")
	}
	if !(Principal{Roles: []Role{Billing, Operator}}).Can(FieldControl) {
		t.Error("several roles: the second's permissions are lost")
	}
	var names []string
	for _, r := range Roles() {
		names = append(names, string(r))
		if _, err := ParseRole(string(r)); err != nil {
			t.Error(err)
		}
	}
	if !slices.Equal(names, config.KnownRoles) {
		t.Errorf("config.KnownRoles %v, auth.Roles %v", config.KnownRoles, names)
	}
	if _, err := ParseRole("bliling"); err == nil {
		t.Error("unknown role parsed")
	}
}

func TestNewAndGenerate(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	if _, err := New([]config.TokenSpec{{Name: "a", Roles: []string{"admin"}, Token: "short"},
		{Name: "b", Roles: []string{"root"}, Token: billingTok}, {Name: "c", Roles: []string{"admin"}, TokenEnv: "HEADEND_TEST_NOT_SET_EVER"}}, log); err == nil ||
		!strings.Contains(err.Error(), "http.tokens[0] (a)") || !strings.Contains(err.Error(), `unknown role "root"`) ||
		!strings.Contains(err.Error(), "HEADEND_TEST_NOT_SET_EVER is not set") || strings.Contains(err.Error(), billingTok) {
		t.Errorf("bad specs: %v", err)
	}
	tk, err := New([]config.TokenSpec{{Name: "a", Roles: []string{"admin"}, Token: billingTok}}, log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "written in the configuration file") || strings.Contains(logs.String(), billingTok) {
		t.Errorf("inline token warning: %s", logs.String())
	}
	if p, ok := tk.Lookup(billingTok); !ok || p.Name != "a" {
		t.Errorf("lookup: %v %v", p, ok)
	}
	if _, ok := tk.Lookup(billingTok + "x"); ok {
		t.Error("a longer token matches")
	}
	var none *Tokens
	if _, ok := none.Lookup(billingTok); ok || none.Len() != 0 {
		t.Error("nil Tokens know a token")
	}
	a, err := GenerateToken()
	b, _ := GenerateToken()
	if err != nil || len(a) != 43 || a == b {
		t.Errorf("generated %q %q %v", a, b, err)
	}
	if _, _, err := (config.TokenSpec{Name: "g", Roles: []string{"admin"}, Token: a}).Secret(); err != nil {
		t.Errorf("a generated token is refused by config: %v", err)
	}
}

func TestNilTokensRefuse(t *testing.T) {
	var tk *Tokens
	srv := httptest.NewServer(tk.Require(ReadAll)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	if r := do(t, "GET", srv.URL, billingTok); r.status != 401 {
		t.Errorf("no tokens configured: %d", r.status)
	}
}

func TestCapture(t *testing.T) {
	ctx, got := Capture(t.Context())
	if _, ok := got(); ok {
		t.Fatal("captured before")
	}
	inner := WithPrincipal(ctx, Principal{Name: "ops", Roles: []Role{Operator}})
	if p, ok := From(inner); !ok || p.Name != "ops" {
		t.Fatal("From")
	}
	if p, ok := got(); !ok || p.Name != "ops" {
		t.Fatalf("captured %v %v", p, ok)
	}
}

// FuzzAuthorization feeds the Authorization header parser arbitrary
// values: only "Bearer <the token>" (scheme in any case, spaces around)
// authenticates.
func FuzzAuthorization(f *testing.F) {
	tk, err := New([]config.TokenSpec{{Name: "a", Roles: []string{"admin"}, Token: billingTok}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"Bearer " + billingTok, "bearer  " + billingTok + " ", "Basic " + billingTok, billingTok, "Bearer", "Bearer " + billingTok + "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", h)
		_, ok := tk.Authenticate(req)
		scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
		want := strings.EqualFold(scheme, "bearer") && strings.TrimSpace(rest) == billingTok
		if ok != want {
			t.Fatalf("%q: authenticated %v", h, ok)
		}
	})
}
