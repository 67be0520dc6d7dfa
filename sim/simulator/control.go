package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/headend/headend/sim/meterbus"
)

// access is one concentrator's way onto the wire (listener, dial-in
// loop, pty, MQTT gateway, Modbus server), which can be stopped and
// started again at the same address: a far end that goes away and comes
// back.
type access struct {
	id    string
	start func(ctx context.Context) (stop func(), err error)

	mu   sync.Mutex
	stop func() // nil while down
}

func (a *access) up(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stop != nil {
		return nil
	}
	stop, err := a.start(ctx)
	if err != nil {
		return err
	}
	a.stop = stop
	return nil
}

func (a *access) down() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stop != nil {
		a.stop()
		a.stop = nil
	}
}

// serve runs fn (if any) on a context of its own and returns how to stop
// it: cancel that context, run closer (if any), wait for fn to return.
func (s *Simulator) serve(ctx context.Context, fn func(ctx context.Context), closer func() error) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if fn != nil {
			fn(ctx)
		}
	}()
	return func() {
		cancel()
		if closer != nil {
			closer()
		}
		<-done
	}
}

func (s *Simulator) setAddress(i int, addr string) {
	s.setEndpoint(i, func(e *Endpoint) { e.Address = addr })
}

func (s *Simulator) setEndpoint(i int, f func(e *Endpoint)) {
	s.epMu.Lock()
	defer s.epMu.Unlock()
	f(&s.Endpoints[i])
}

// Down stops the far end of a concentrator's link: a TCP concentrator
// closes its listener and connections, a dial-in one hangs up and stops
// dialling, an MQTT gateway disconnects (with metersim's embedded broker,
// the broker stops too), a Modbus server stops, a serial line closes its
// pty. Up brings it back at the same address (a serial line on a new pty
// behind the same link).
func (s *Simulator) Down(concentrator string) error {
	a := s.accessOf(concentrator)
	if a == nil {
		return fmt.Errorf("no concentrator %q", concentrator)
	}
	a.down()
	s.log.Info("concentrator down", "concentrator", concentrator)
	return nil
}

// Up starts the far end Down stopped again; it does nothing when it is up.
func (s *Simulator) Up(concentrator string) error {
	a := s.accessOf(concentrator)
	if a == nil {
		return fmt.Errorf("no concentrator %q", concentrator)
	}
	if err := a.up(s.ctx); err != nil {
		return fmt.Errorf("concentrator %s: up: %w", concentrator, err)
	}
	s.log.Info("concentrator up again", "concentrator", concentrator)
	return nil
}

func (s *Simulator) accessOf(id string) *access {
	for _, a := range s.access {
		if a.id == id {
			return a
		}
	}
	return nil
}

// countModbus records an answered Modbus read of a meter; data are the
// register bytes of the response.
func (s *Simulator) countModbus(meter string, data []byte) {
	a := meterbus.Answer{At: time.Now(), Sim: s.Clock.Sim(), Hash: meterbus.ReplyHash(data)}
	s.countMu.Lock()
	defer s.countMu.Unlock()
	if s.modbusAnswers == nil {
		s.modbusAnswers = map[string][]meterbus.Answer{}
	}
	s.modbusAnswers[meter] = append(s.modbusAnswers[meter], a)
}

// MeterCount is what GET /counts reports of one meter: the read requests
// it answered with a normal, undamaged reply, and when.
type MeterCount struct {
	Meter    string         `json:"meter"`
	Answered int            `json:"answered"`
	Answers  []AnswerRecord `json:"answers"`
}

// AnswerRecord is one answered request: the real time the reply left
// (Unix nanoseconds), the simulated time, and the hash of the reply
// (meterbus.ReplyHash of a DL/T 645 frame, or of the register bytes of a
// Modbus response) as a hexadecimal string.
type AnswerRecord struct {
	At   int64  `json:"at"`
	Sim  string `json:"sim"`
	Hash string `json:"hash"`
	DI   string `json:"di,omitempty"` // DL/T 645 data identifier read
	// Unit is the 376.1 data unit a concentrator answered from its own
	// collection ("AFN 0D F161"); Hash is then the hash of the 376.1
	// reply frame (FNV-64a of its bytes) that carried it.
	Unit string `json:"unit,omitempty"`
}

// Counts returns every meter's answered requests so far, by address.
func (s *Simulator) Counts() []MeterCount {
	all := map[string][]meterbus.Answer{}
	for _, b := range s.buses {
		for m, v := range b.Answers() {
			all[m] = append(all[m], v...)
		}
	}
	s.countMu.Lock()
	for m, v := range s.modbusAnswers {
		all[m] = append(all[m], v...)
	}
	s.countMu.Unlock()
	terms := s.terminalRecords()
	for m := range terms {
		if _, ok := all[m]; !ok {
			all[m] = nil
		}
	}
	out := make([]MeterCount, 0, len(all))
	for m, v := range all {
		c := MeterCount{Meter: m, Answered: len(v), Answers: make([]AnswerRecord, len(v))}
		for i, a := range v {
			c.Answers[i] = AnswerRecord{At: a.At.UnixNano(), Sim: a.Sim.Format(time.RFC3339Nano), Hash: fmt.Sprintf("%016x", a.Hash)}
			if a.DI != 0 {
				c.Answers[i].DI = a.DI.String()
			}
		}
		c.Answers = append(c.Answers, terms[m]...)
		c.Answered = len(c.Answers)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Meter < out[j].Meter })
	return out
}

func (s *Simulator) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /counts", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Counts())
	})
	updown := func(f func(string) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := f(r.PathValue("concentrator")); err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}
	mux.HandleFunc("POST /endpoints/{concentrator}/down", updown(s.Down))
	mux.HandleFunc("POST /endpoints/{concentrator}/up", updown(s.Up))
}
