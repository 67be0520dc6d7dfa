package field

import (
	"context"
	"net/http"

	"github.com/headend/headend/fieldops"
)

// The terminals' event routes:
//
//	GET  /api/v1/terminals/{id}/events       the event records (AFN 0E) read since the collector began
//	POST /api/v1/terminals/{id}/events/read  ask the terminal for its counters and read what is new, then list

// TerminalEventService is what the event routes serve: fieldops's Daemon
// in headend serve.
type TerminalEventService interface {
	TerminalEvents(ctx context.Context, id string, now bool) (*fieldops.TerminalEvents, error)
}

// TerminalEventRoutes are the patterns RegisterTerminalEvents registers.
var TerminalEventRoutes = struct{ List, Read string }{
	List: "GET /api/v1/terminals/{id}/events",
	Read: "POST /api/v1/terminals/{id}/events/read",
}

// RegisterTerminalEvents adds the event routes to mux, wrapped like
// RegisterTerminals's.
func RegisterTerminalEvents(mux *http.ServeMux, s TerminalEventService, wrap ...func(pattern string, h http.Handler) http.Handler) {
	for pattern, now := range map[string]bool{TerminalEventRoutes.List: false, TerminalEventRoutes.Read: true} {
		var hd http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := s.TerminalEvents(r.Context(), r.PathValue("id"), now)
			reply(w, res, err)
		})
		for _, w := range wrap {
			hd = w(pattern, hd)
		}
		mux.Handle(pattern, hd)
	}
}

// TerminalEvents asks the server for terminal id's event records; with
// now, it reads the new ones first.
func (c *Client) TerminalEvents(ctx context.Context, id string, now bool) (*fieldops.TerminalEvents, error) {
	if now {
		return getJSON[fieldops.TerminalEvents](c, ctx, http.MethodPost, terminalPath(id, "/events/read"), struct{}{})
	}
	return getJSON[fieldops.TerminalEvents](c, ctx, http.MethodGet, terminalPath(id, "/events"), nil)
}
