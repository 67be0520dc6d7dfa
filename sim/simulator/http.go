package simulator

import (
	"encoding/json"
	"net/http"
)

// Handler serves the run's ground truth and where its concentrators are:
//
//	GET /truth      the ground truth of the scenario (JSON)
//	GET /endpoints  how each concentrator is reached (JSON)
//	GET /healthz    the simulated time, "ok"
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /truth", s.Fleet.TruthHandler())
	mux.HandleFunc("GET /endpoints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Endpoints)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"status": "ok", "simulated_time": s.Fleet.Now().Format("2006-01-02T15:04:05Z07:00")})
	})
	return mux
}
