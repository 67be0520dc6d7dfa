// Package field serves the field tools of fieldops over HTTP, for
// metering staff and the programs they use:
//
//	POST /api/v1/meters/{addr}/read        {"di": ["00010000", "phase A voltage", "clock"]}  (none: the instantaneous set)
//	GET  /api/v1/meters/{addr}/time        the meter's clock against the head-end's
//	POST /api/v1/meters/{addr}/time/sync   {"write": false, "force": false, "password": "", "operator": ""}
//	POST /api/v1/buses/{channel}/scan      {"from": "...", "to": "...", "read_address": true, "edition": "both", "timeout_ms": 500}
//	POST /api/v1/meters/{addr}/relay       {"action": "trip|close", "password": "...", "operator": "..."}
//	GET  /api/v1/status/field              channels, concentrators, per-area collection rates
//
// Answers are JSON; a scan streams NDJSON: {"done":n,"total":m} after each
// address, then {"result":{...}} (with "error" beside it if the scan
// stopped early). Errors are {"error": "...", "kind": "...", "param": "..."}
// with 400 for a bad parameter (param names it), 404 for a meter or
// channel not in the archive, 409 when the rules forbid it now, 422 when
// the meter refused or cannot do it, 502 when only garbled frames came
// back or the channel is down, 504 when the meter did not answer, 503
// when the collector is not running.
//
// The handlers do no authentication: the integrator wraps the routes with
// its role middleware (relay, time sync and scan need "operator"). They
// never log or echo a password.
package field

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/headend/headend/api"
	"github.com/headend/headend/fieldops"
)

// Service is what the handlers serve: fieldops's Daemon in headend
// serve (Direct and Client have the same methods).
type Service interface {
	ReadMeter(ctx context.Context, meter string, items []string) (*fieldops.Reading, error)
	ReadClock(ctx context.Context, meter string) (*fieldops.ClockReading, error)
	SyncClock(ctx context.Context, meter string, rq fieldops.SyncRequest) (*fieldops.ClockSync, error)
	Scan(ctx context.Context, channel string, rq fieldops.ScanRequest, progress func(done, total int)) (*fieldops.ScanResult, error)
	Relay(ctx context.Context, meter string, rq fieldops.RelayRequest) (*fieldops.RelayResult, error)
	Status(ctx context.Context) (*fieldops.Status, error)
}

// Routes are the patterns Register registers, for the integrator's role
// middleware: those that act on meters need the operator role.
var Routes = struct {
	Read, Time, Sync, Scan, Relay, Status string
}{
	Read:   "POST /api/v1/meters/{addr}/read",
	Time:   "GET /api/v1/meters/{addr}/time",
	Sync:   "POST /api/v1/meters/{addr}/time/sync",
	Scan:   "POST /api/v1/buses/{channel}/scan",
	Relay:  "POST /api/v1/meters/{addr}/relay",
	Status: "GET /api/v1/status/field",
}

// Register adds the field routes to mux. wrap, if given, wraps each
// route's handler, by its pattern (one of Routes): the integrator's role
// middleware, e.g. ReadAll for Routes.Status and FieldControl for the
// others.
func Register(mux *http.ServeMux, s Service, wrap ...func(pattern string, h http.Handler) http.Handler) {
	h := &handlers{s: s}
	for _, r := range []struct {
		pattern string
		fn      http.HandlerFunc
	}{
		{Routes.Read, h.read}, {Routes.Time, h.clock}, {Routes.Sync, h.sync},
		{Routes.Scan, h.scan}, {Routes.Relay, h.relay}, {Routes.Status, h.status},
	} {
		var hd http.Handler = r.fn
		for _, w := range wrap {
			hd = w(r.pattern, hd)
		}
		mux.Handle(r.pattern, hd)
	}
}

type handlers struct{ s Service }

// ReadRequest is the body of POST .../read.
type ReadRequest struct {
	DI []string `json:"di,omitempty"`
}

func (h *handlers) read(w http.ResponseWriter, r *http.Request) {
	var rq ReadRequest
	if !decode(w, r, &rq) {
		return
	}
	rq.DI = append(rq.DI, r.URL.Query()["di"]...)
	res, err := h.s.ReadMeter(r.Context(), r.PathValue("addr"), rq.DI)
	reply(w, res, err)
}

func (h *handlers) clock(w http.ResponseWriter, r *http.Request) {
	res, err := h.s.ReadClock(r.Context(), r.PathValue("addr"))
	reply(w, res, err)
}

func (h *handlers) sync(w http.ResponseWriter, r *http.Request) {
	var rq fieldops.SyncRequest
	if !decode(w, r, &rq) {
		return
	}
	res, err := h.s.SyncClock(r.Context(), r.PathValue("addr"), rq)
	reply(w, res, err)
}

func (h *handlers) relay(w http.ResponseWriter, r *http.Request) {
	var rq fieldops.RelayRequest
	if !decode(w, r, &rq) {
		return
	}
	res, err := h.s.Relay(r.Context(), r.PathValue("addr"), rq)
	reply(w, res, err)
}

func (h *handlers) status(w http.ResponseWriter, r *http.Request) {
	res, err := h.s.Status(r.Context())
	reply(w, res, err)
}

// Progress is a line of a scan's stream.
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// ScanEnd is the last line of a scan's stream.
type ScanEnd struct {
	Result *fieldops.ScanResult `json:"result"`
	Problem
}

func (h *handlers) scan(w http.ResponseWriter, r *http.Request) {
	var rq fieldops.ScanRequest
	if !decode(w, r, &rq) {
		return
	}
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	started := false
	start := func() {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			started = true
		}
	}
	res, err := h.s.Scan(r.Context(), r.PathValue("channel"), rq, func(done, total int) {
		start()
		enc.Encode(Progress{Done: done, Total: total})
		rc.Flush()
	})
	if !started && err != nil {
		reply(w, nil, err) // refused before it began: a plain error
		return
	}
	start()
	end := ScanEnd{Result: res}
	if err != nil {
		end.Problem = problemOf(err)
	}
	enc.Encode(end)
}

// maxBody bounds a request body.
const maxBody = 64 << 10

// decode reads an optional JSON body into v; on a bad body it answers 400
// naming the field and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	err := api.DecodeJSON(w, r, maxBody, v)
	if err == io.EOF {
		return true // no body: the defaults
	}
	if err != nil {
		if api.BodyStatus(err) == http.StatusRequestEntityTooLarge {
			p := problemOf(bodyError(err))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			p.Status = http.StatusRequestEntityTooLarge
			json.NewEncoder(w).Encode(p)
			return false
		}
		reply(w, nil, bodyError(err))
		return false
	}
	return true
}

// bodyError names the part of a body that is wrong.
func bodyError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var me *http.MaxBytesError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return &fieldops.ParamError{Param: te.Field, Reason: fmt.Sprintf("want a JSON %s, not %s", te.Type, te.Value)}
	case errors.As(err, &se):
		return &fieldops.ParamError{Param: "body", Reason: fmt.Sprintf("not JSON at byte %d", se.Offset)}
	case errors.As(err, &me):
		return &fieldops.ParamError{Param: "body", Reason: fmt.Sprintf("larger than %d bytes", me.Limit)}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok && strings.Trim(f, `"`) != "" {
		return &fieldops.ParamError{Param: strings.Trim(f, `"`), Reason: "no such field"}
	}
	if time, ok := strings.CutPrefix(msg, "parsing time "); ok {
		return &fieldops.ParamError{Param: "until", Reason: "not an RFC 3339 time: " + time}
	}
	return &fieldops.ParamError{Param: "body", Reason: msg}
}

// reply writes res as JSON, or err as a problem.
func reply(w http.ResponseWriter, res any, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		p := problemOf(err)
		if p.Status == 0 {
			return // the client went away
		}
		w.WriteHeader(p.Status)
		json.NewEncoder(w).Encode(p)
		return
	}
	json.NewEncoder(w).Encode(res)
}
