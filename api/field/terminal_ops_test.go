package field

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/fieldops"
)

// opsStub answers every terminal operation, recording what it was asked.
type opsStub struct {
	every time.Duration
	pn    int
	data  string
	date  time.Time
}

func (s *opsStub) TerminalHeartbeat(context.Context, string) (*fieldops.TerminalComm, error) {
	return &fieldops.TerminalComm{HeartbeatMin: 1}, nil
}

func (s *opsStub) SetTerminalHeartbeat(_ context.Context, _ string, every time.Duration) (*fieldops.TerminalHeartbeatSet, error) {
	s.every = every
	return &fieldops.TerminalHeartbeatSet{Set: true}, nil
}

func (s *opsStub) TerminalRead(_ context.Context, _ string, pn int, data string, date time.Time) (*fieldops.TerminalReading, error) {
	s.pn, s.data, s.date = pn, data, date
	return &fieldops.TerminalReading{Point: pn, Data: data}, nil
}

func TestTerminalOpsRoutes(t *testing.T) {
	s := &opsStub{}
	mux := http.NewServeMux()
	RegisterTerminalOps(mux, s)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &Client{URL: srv.URL}
	ctx := t.Context()
	if _, err := c.SetTerminalHeartbeat(ctx, "4401 0001", 5*time.Minute); err != nil || s.every != 5*time.Minute {
		t.Errorf("set heartbeat: %v, asked %v", err, s.every)
	}
	day := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	if r, err := c.TerminalRead(ctx, "4401 0001", 7, fieldops.PointFrozen, day); err != nil || r.Point != 7 || s.data != "frozen" || !s.date.Equal(day) {
		t.Errorf("read: %+v %v; asked %d %q %v", r, err, s.pn, s.data, s.date)
	}
	if _, err := c.TerminalRead(ctx, "4401 0001", 7, fieldops.PointCurrent, time.Time{}); err != nil || s.data != "current" || !s.date.IsZero() {
		t.Errorf("current read: %v; asked %q %v", err, s.data, s.date)
	}
	for path, param := range map[string]string{"/points/x": "pn", "/points/7?date=06-12-2026": "date"} {
		resp, err := http.Get(srv.URL + "/api/v1/terminals/4401%200001" + path)
		if err != nil {
			t.Fatal(err)
		}
		var p Problem
		json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || p.Param != param {
			t.Errorf("%s: %d %+v, want 400 naming %s", path, resp.StatusCode, p, param)
		}
	}
}

// The point read's path and query, and the heartbeat body, are taken or
// answered 400 naming the parameter.
func FuzzTerminalOpsParams(f *testing.F) {
	f.Add("7", "frozen", "2026-12-06", `{"every":"5m"}`)
	f.Add("x", "", "2026-13-01", `{"every":"5"}`)
	f.Add("-1", "current", "", `{"every":1}`)
	f.Fuzz(func(t *testing.T, pn, data, date, body string) {
		mux := http.NewServeMux()
		RegisterTerminalOps(mux, &opsStub{})
		q := url.Values{"data": {data}, "date": {date}}
		for _, r := range []*http.Request{
			httptest.NewRequest(http.MethodGet, "/api/v1/terminals/4401-0001/points/"+url.PathEscape(pn)+"?"+q.Encode(), nil),
			httptest.NewRequest(http.MethodPost, "/api/v1/terminals/4401-0001/heartbeat", strings.NewReader(body)),
		} {
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if w.Code == http.StatusOK || w.Code == http.StatusNotFound || w.Code == http.StatusMovedPermanently || w.Code == http.StatusTemporaryRedirect {
				continue // taken, or a path the mux does not route or cleans ("." and "..")
			}
			var p Problem
			if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &p) != nil || p.Param == "" {
				t.Fatalf("%s %s: %d %s", r.Method, r.URL, w.Code, w.Body)
			}
		}
	})
}
