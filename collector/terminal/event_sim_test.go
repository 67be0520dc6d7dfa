package terminal

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/field"
)

// A simulated terminal that reports its events by itself (AFN 0E F1 with
// PRM set) over TCP: the report is confirmed, becomes an event read and
// moves the pointer, and the counter it sets afterwards asks for nothing
// more.
func TestReportedEventsFromTheSimulatedTerminal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []meter.Read
	var w *Events
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	l := Listen(ctx, ln, Config{Known: func(id string) (time.Duration, bool) { return time.Minute, id == "4401 0001" }, Location: time.UTC,
		OnEC: func(_ string, ec gdw3761.EC) {
			<-ready
			w.Seen(ctx, ec)
		},
		OnUplink: func(_ string, f *gdw3761.Frame) {
			<-ready
			if err := w.Reported(ctx, f); err != nil {
				t.Errorf("report: %v", err)
			}
		}})
	defer func() { l.Close(); l.wg.Wait() }()
	s, _ := l.Terminal("4401 0001")
	w = &Events{Reader: &Reader{Session: s, Location: time.UTC}, Points: func() []Point { return nil }, Self: Point{Meter: "000000000001", Area: "A"},
		Sink: func(rs []meter.Read) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, rs...)
		}}
	close(ready)

	addr, _ := gdw3761.ParseAddress("4401 0001")
	now := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
	term, err := field.NewTerminal(ln.Addr().String(), field.TerminalOptions{Address: addr, Now: func() time.Time { return now },
		Poll: field.BusFunc(func(context.Context, []byte) []byte { return nil }), PollEvery: -1, ReportEvents: true,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { term.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the terminal logged in", term.Online)
	requests := s.Requests()

	term.FindMeters(dlt645.MustParseAddress("000009000001"))
	waitFor(t, "the reported event read", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1
	})
	mu.Lock()
	r := got[0]
	mu.Unlock()
	if r.Meter != "000009000001" || r.Quantity != "event ERC35 unknown meter found" || r.Area != "A" || len(r.Frame.Reply) != 1 {
		t.Errorf("reported read %+v", r)
	}
	if n, _ := w.next(EventLog{Important: true}); n != 1 {
		t.Errorf("pointer %d after the report, want 1", n)
	}
	if n := s.Requests() - requests; n != 0 {
		t.Errorf("%d AFN 0E requests for a reported event, want none", n)
	}
}
