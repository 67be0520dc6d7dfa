// Package simulator runs a metersim scenario: it builds the physical model
// of the fleet, advances it on a clock (real time or accelerated), and puts
// every concentrator on the wire the way the scenario says it is reached
// (TCP, dial-in, serial pseudo-terminal, MQTT, Modbus), with the ground
// truth served over HTTP. cmd/metersim is a thin command around it, and
// the head-end's integration tests run it in-process.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

// Options adjust a run.
type Options struct {
	// Speed overrides the scenario's speed (simulated seconds per real
	// second) when > 0.
	Speed float64
	// Warmup runs the fleet this much simulated time past the scenario's
	// start before serving, so that its meters hold that much history
	// (daily freezes, load profile) for a head-end to backfill.
	Warmup time.Duration
	// Now is the real-time source; nil is time.Now.
	Now func() time.Time
	// Tick is how often the model is advanced to the clock; 0 means
	// 100 ms, a negative Tick means never (tests advance the fleet
	// themselves).
	Tick time.Duration
	// ZeroDelay ignores line delays and baud rates (load tests).
	ZeroDelay bool
	// Baud, when > 0, sets every line's speed (and drops the scenario's
	// extra line delays): the realistic timing of a whole fleet.
	Baud int
	// Sleep waits out line and meter delays; nil is field.Sleep.
	Sleep field.Sleeper
	// Broker overrides every MQTT concentrator's broker URL; "embedded"
	// (or a concentrator without a broker) starts an in-process broker on
	// a free port, "embedded://host:port" on that address.
	Broker string
	// HeadEnd overrides the address dial-in concentrators call.
	HeadEnd string
	// Heartbeat is the 376.1 terminals' heartbeat interval (real time);
	// 0 is 60 s.
	Heartbeat time.Duration
	// Backoff is the dial-in back-off of the 376.1 terminals; nil is
	// field.ExpBackoff(1 s, 5 min).
	Backoff func(attempt int) time.Duration
	// AnyPort listens on a free port instead of the scenario's (tests
	// and load runs beside a real one); Endpoints say which.
	AnyPort bool
	// Logger gets the run's events; nil discards them.
	Logger *slog.Logger
}

// Endpoint says where a concentrator can be reached.
type Endpoint struct {
	Concentrator string   `json:"concentrator"`
	Area         string   `json:"area"`
	Kind         string   `json:"kind"`
	Address      string   `json:"address"`              // listen address, pty path, dialled address or broker URL
	Link         string   `json:"link,omitempty"`       // serial: the stable path linked to the pty
	Terminal     string   `json:"terminal,omitempty"`   // a 376.1 concentrator's address, "4401 0001"
	TopicDown    string   `json:"topic_down,omitempty"` // MQTT
	TopicUp      string   `json:"topic_up,omitempty"`
	Meters       []string `json:"meters"` // addresses on the line, in Modbus unit order
}

// Simulator is a running scenario.
type Simulator struct {
	Scenario  *scenario.Scenario
	Fleet     *model.Fleet
	Clock     *model.Clock
	Endpoints []Endpoint

	log     *slog.Logger
	opts    Options
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closers []func() error
	modbus  []modbusUnits
	ctx     context.Context

	epMu          sync.Mutex // Endpoints' addresses, as Down and Up change them
	access        []*access
	brokerOwned   bool
	buses         []*meterbus.Bus
	terminals     []*field.Terminal
	countMu       sync.Mutex
	modbusAnswers map[string][]meterbus.Answer
}

// Start builds the fleet of sc and starts its concentrators. It returns
// once every listener is listening, every pty is open and every MQTT
// gateway is subscribed.
func Start(ctx context.Context, sc *scenario.Scenario, opts Options) (*Simulator, error) {
	fleet, err := model.New(sc.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sc.File, err)
	}
	speed := sc.Speed
	if opts.Speed > 0 {
		speed = opts.Speed
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sleep == nil {
		opts.Sleep = field.Sleep
	}
	begin := fleet.Start()
	if opts.Warmup > 0 {
		begin = begin.Add(opts.Warmup)
		fleet.AdvanceTo(begin)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Simulator{Scenario: sc, Fleet: fleet, Clock: model.NewClock(begin, speed, opts.Now),
		log: opts.Logger, opts: opts, cancel: cancel, ctx: ctx}
	if err := s.startConcentrators(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if opts.Tick >= 0 {
		tick := opts.Tick
		if tick == 0 {
			tick = 100 * time.Millisecond
		}
		s.wg.Go(func() { s.advance(ctx, tick) })
	}
	return s, nil
}

// advance keeps the model at the clock's simulated time.
func (s *Simulator) advance(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	s.Step()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Step()
		}
	}
}

// Step advances the model to the clock's simulated time now and refreshes
// the Modbus meters' readings.
func (s *Simulator) Step() {
	now := s.Clock.Sim()
	if now.After(s.Fleet.Now()) {
		s.Fleet.AdvanceTo(now)
	}
	s.refreshModbus()
}

// Close stops every concentrator and the clock.
func (s *Simulator) Close() error {
	s.cancel()
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	s.wg.Wait()
	return errors.Join(errs...)
}

// Endpoint returns the endpoint of a concentrator by id.
func (s *Simulator) Endpoint(concentrator string) (Endpoint, bool) {
	s.epMu.Lock()
	defer s.epMu.Unlock()
	for _, e := range s.Endpoints {
		if e.Concentrator == concentrator {
			return e, true
		}
	}
	return Endpoint{}, false
}
