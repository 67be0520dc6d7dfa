package field

import (
	"context"
	"net/http"
	"net/url"

	"github.com/headend/headend/collector/terminal"
	"github.com/headend/headend/fieldops"
)

// The Q/GDW 1376.1 terminals' routes ({id} is the terminal's address,
// "4401 0001" or "4401-0001"):
//
//	GET  /api/v1/terminals                     every terminal's connection and counters
//	GET  /api/v1/terminals/{id}/archive        its meter archive as it holds it (AFN 0A F10), no meter passwords
//	GET  /api/v1/terminals/{id}/archive/diff   its meter archive (AFN 0A F10) against the head-end's
//	POST /api/v1/terminals/{id}/archive/push   download the head-end's archive into it (AFN 04 F10), then diff
//	GET  /api/v1/terminals/{id}/time           its clock (AFN 0C F2) against the head-end's
//	POST /api/v1/terminals/{id}/time           {"force": false}: set its clock (AFN 05 F31)

// TerminalService is what the terminal handlers serve: fieldops's Daemon
// in headend serve.
type TerminalService interface {
	TerminalStatus(ctx context.Context) ([]terminal.Status, error)
	TerminalArchivePull(ctx context.Context, id string) ([]fieldops.ArchiveEntry, error)
	TerminalArchiveDiff(ctx context.Context, id string) (*fieldops.ArchiveDiff, error)
	TerminalArchivePush(ctx context.Context, id string) (*fieldops.ArchivePush, error)
	TerminalTime(ctx context.Context, id string) (*fieldops.TerminalClock, error)
	SetTerminalTime(ctx context.Context, id string, force bool) (*fieldops.TerminalClockSet, error)
}

// TerminalRoutes are the patterns RegisterTerminals registers: Status
// needs a reader, the others the operator role.
var TerminalRoutes = struct {
	Status, Pull, Diff, Push, Time, SetTime string
}{
	Status:  "GET /api/v1/terminals",
	Pull:    "GET /api/v1/terminals/{id}/archive",
	Diff:    "GET /api/v1/terminals/{id}/archive/diff",
	Push:    "POST /api/v1/terminals/{id}/archive/push",
	Time:    "GET /api/v1/terminals/{id}/time",
	SetTime: "POST /api/v1/terminals/{id}/time",
}

// DiffReply is the answer of the archive diff route.
type DiffReply struct {
	Terminal string                 `json:"terminal"`
	Agrees   bool                   `json:"agrees"`
	Summary  string                 `json:"summary"` // the diff for a person
	Points   []fieldops.PointReport `json:"points,omitempty"`
}

// SetTimeRequest is the body of POST .../time.
type SetTimeRequest struct {
	Force bool `json:"force,omitempty"`
}

// RegisterTerminals adds the terminal routes to mux, wrapped like
// Register's.
func RegisterTerminals(mux *http.ServeMux, s TerminalService, wrap ...func(pattern string, h http.Handler) http.Handler) {
	for _, r := range []struct {
		pattern string
		fn      http.HandlerFunc
	}{
		{TerminalRoutes.Status, func(w http.ResponseWriter, r *http.Request) {
			res, err := s.TerminalStatus(r.Context())
			reply(w, res, err)
		}},
		{TerminalRoutes.Pull, func(w http.ResponseWriter, r *http.Request) {
			res, err := s.TerminalArchivePull(r.Context(), r.PathValue("id"))
			reply(w, res, err)
		}},
		{TerminalRoutes.Diff, func(w http.ResponseWriter, r *http.Request) {
			d, err := s.TerminalArchiveDiff(r.Context(), r.PathValue("id"))
			if err != nil {
				reply(w, nil, err)
				return
			}
			reply(w, DiffOf(d), nil)
		}},
		{TerminalRoutes.Push, func(w http.ResponseWriter, r *http.Request) {
			res, err := s.TerminalArchivePush(r.Context(), r.PathValue("id"))
			reply(w, res, err)
		}},
		{TerminalRoutes.Time, func(w http.ResponseWriter, r *http.Request) {
			res, err := s.TerminalTime(r.Context(), r.PathValue("id"))
			reply(w, res, err)
		}},
		{TerminalRoutes.SetTime, func(w http.ResponseWriter, r *http.Request) {
			var rq SetTimeRequest
			if !decode(w, r, &rq) {
				return
			}
			res, err := s.SetTerminalTime(r.Context(), r.PathValue("id"), rq.Force)
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

// DiffOf is d as the diff route answers it.
func DiffOf(d *fieldops.ArchiveDiff) *DiffReply {
	out := &DiffReply{Terminal: d.Terminal, Agrees: d.Agrees(), Summary: d.String()}
	for _, p := range d.Points {
		out.Points = append(out.Points, fieldops.PointReport{Point: p.Point, Fields: p.Fields})
	}
	return out
}

func terminalPath(id, rest string) string {
	return "/api/v1/terminals/" + url.PathEscape(id) + rest
}

// TerminalStatus asks the server for its terminals.
func (c *Client) TerminalStatus(ctx context.Context) ([]terminal.Status, error) {
	res, err := getJSON[[]terminal.Status](c, ctx, http.MethodGet, "/api/v1/terminals", nil)
	if err != nil {
		return nil, err
	}
	return *res, nil
}

// TerminalArchivePull asks the server for terminal id's meter archive.
func (c *Client) TerminalArchivePull(ctx context.Context, id string) ([]fieldops.ArchiveEntry, error) {
	res, err := getJSON[[]fieldops.ArchiveEntry](c, ctx, http.MethodGet, terminalPath(id, "/archive"), nil)
	if err != nil {
		return nil, err
	}
	return *res, nil
}

// TerminalArchiveDiff asks the server for terminal id's archive diff.
func (c *Client) TerminalArchiveDiff(ctx context.Context, id string) (*DiffReply, error) {
	return getJSON[DiffReply](c, ctx, http.MethodGet, terminalPath(id, "/archive/diff"), nil)
}

// TerminalArchivePush has the server push its archive into terminal id.
func (c *Client) TerminalArchivePush(ctx context.Context, id string) (*fieldops.ArchivePush, error) {
	return getJSON[fieldops.ArchivePush](c, ctx, http.MethodPost, terminalPath(id, "/archive/push"), struct{}{})
}

// TerminalTime asks the server for terminal id's clock.
func (c *Client) TerminalTime(ctx context.Context, id string) (*fieldops.TerminalClock, error) {
	return getJSON[fieldops.TerminalClock](c, ctx, http.MethodGet, terminalPath(id, "/time"), nil)
}

// SetTerminalTime has the server set terminal id's clock.
func (c *Client) SetTerminalTime(ctx context.Context, id string, force bool) (*fieldops.TerminalClockSet, error) {
	return getJSON[fieldops.TerminalClockSet](c, ctx, http.MethodPost, terminalPath(id, "/time"), SetTimeRequest{Force: force})
}
