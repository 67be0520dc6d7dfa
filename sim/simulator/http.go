package simulator

import (
	"encoding/json"
	"net/http"
	"time"
)

// Handler serves the run's ground truth and where its concentrators are:
//
//	GET /truth      the ground truth of the scenario (JSON)
//	GET /endpoints  how each concentrator is reached (JSON)
//	GET /healthz    the simulated time, "ok"
//	GET /counts     each meter's answered read requests (see Counts)
//	POST /endpoints/{concentrator}/down  stop a concentrator's far end (see Down)
//	POST /endpoints/{concentrator}/up    bring it back at the same address
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /truth", s.Fleet.TruthHandler())
	mux.HandleFunc("GET /endpoints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		s.epMu.Lock()
		defer s.epMu.Unlock()
		json.NewEncoder(w).Encode(s.Endpoints)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"status": "ok",
			"simulated_time": s.Clock.Sim().Format(time.RFC3339Nano), "speed": s.Clock.Speed})
	})
	s.controlRoutes(mux)
	return mux
}
