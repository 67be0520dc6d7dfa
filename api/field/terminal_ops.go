package field

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/headend/headend/fieldops"
)

// The terminal operations beside RegisterTerminals' ({id} as there):
//
//	GET  /api/v1/terminals/{id}/heartbeat           its communication parameters, the heartbeat period among them (AFN 0A F1)
//	POST /api/v1/terminals/{id}/heartbeat           {"every": "5m"}: set its heartbeat period (AFN 04 F1), audited
//	GET  /api/v1/terminals/{id}/points/{pn}         ?data=current|frozen&date=2026-12-06: one point's data as the terminal holds it (AFN 0C F25/F129/F131, AFN 0D F161/F163)

// TerminalOpsService is what the handlers serve: fieldops's Daemon in
// headend serve.
type TerminalOpsService interface {
	TerminalHeartbeat(ctx context.Context, id string) (*fieldops.TerminalComm, error)
	SetTerminalHeartbeat(ctx context.Context, id string, every time.Duration) (*fieldops.TerminalHeartbeatSet, error)
	TerminalRead(ctx context.Context, id string, pn int, data string, date time.Time) (*fieldops.TerminalReading, error)
}

// TerminalOpsRoutes are the patterns RegisterTerminalOps registers; all
// need the operator role.
var TerminalOpsRoutes = struct {
	Heartbeat, SetHeartbeat, Read string
}{
	Heartbeat:    "GET /api/v1/terminals/{id}/heartbeat",
	SetHeartbeat: "POST /api/v1/terminals/{id}/heartbeat",
	Read:         "GET /api/v1/terminals/{id}/points/{pn}",
}

// SetHeartbeatRequest is the body of POST .../heartbeat.
type SetHeartbeatRequest struct {
	Every string `json:"every"` // a Go duration in whole minutes, "5m"
}

// RegisterTerminalOps adds the routes to mux, wrapped like Register's.
func RegisterTerminalOps(mux *http.ServeMux, s TerminalOpsService, wrap ...func(pattern string, h http.Handler) http.Handler) {
	for _, r := range []struct {
		pattern string
		fn      http.HandlerFunc
	}{
		{TerminalOpsRoutes.Heartbeat, func(w http.ResponseWriter, r *http.Request) {
			res, err := s.TerminalHeartbeat(r.Context(), r.PathValue("id"))
			reply(w, res, err)
		}},
		{TerminalOpsRoutes.SetHeartbeat, func(w http.ResponseWriter, r *http.Request) {
			var rq SetHeartbeatRequest
			if !decode(w, r, &rq) {
				return
			}
			every, err := time.ParseDuration(rq.Every)
			if err != nil {
				reply(w, nil, &fieldops.ParamError{Param: "every", Reason: strconv.Quote(rq.Every) + ": want a duration in whole minutes, e.g. \"5m\""})
				return
			}
			res, err := s.SetTerminalHeartbeat(r.Context(), r.PathValue("id"), every)
			reply(w, res, err)
		}},
		{TerminalOpsRoutes.Read, func(w http.ResponseWriter, r *http.Request) {
			pn, err := strconv.Atoi(r.PathValue("pn"))
			if err != nil {
				reply(w, nil, &fieldops.ParamError{Param: "pn", Reason: strconv.Quote(r.PathValue("pn")) + ": want a measuring point number, 1..2040"})
				return
			}
			q := r.URL.Query()
			var date time.Time
			if s := q.Get("date"); s != "" {
				if date, err = time.Parse(time.DateOnly, s); err != nil {
					reply(w, nil, &fieldops.ParamError{Param: "date", Reason: strconv.Quote(s) + ": want 2006-01-02"})
					return
				}
			}
			data := q.Get("data")
			if data == "" {
				data = fieldops.PointCurrent
			}
			res, err := s.TerminalRead(r.Context(), r.PathValue("id"), pn, data, date)
			reply(w, res, err)
		}},
	} {
		var hd http.Handler = r.fn
		for _, w := range wrap {
			hd = w(r.pattern, hd)
		}
		mux.Handle(r.pattern, hd)
	}
}

// TerminalHeartbeat asks the server for terminal id's communication
// parameters.
func (c *Client) TerminalHeartbeat(ctx context.Context, id string) (*fieldops.TerminalComm, error) {
	return getJSON[fieldops.TerminalComm](c, ctx, http.MethodGet, terminalPath(id, "/heartbeat"), nil)
}

// SetTerminalHeartbeat has the server set terminal id's heartbeat period.
func (c *Client) SetTerminalHeartbeat(ctx context.Context, id string, every time.Duration) (*fieldops.TerminalHeartbeatSet, error) {
	return getJSON[fieldops.TerminalHeartbeatSet](c, ctx, http.MethodPost, terminalPath(id, "/heartbeat"), SetHeartbeatRequest{Every: every.String()})
}

// TerminalRead has the server read point pn of terminal id: data
// fieldops.PointCurrent or PointFrozen (date zero: yesterday).
func (c *Client) TerminalRead(ctx context.Context, id string, pn int, data string, date time.Time) (*fieldops.TerminalReading, error) {
	q := url.Values{"data": {data}}
	if !date.IsZero() {
		q.Set("date", date.Format(time.DateOnly))
	}
	return getJSON[fieldops.TerminalReading](c, ctx, http.MethodGet, terminalPath(id, "/points/"+strconv.Itoa(pn)+"?"+q.Encode()), nil)
}
