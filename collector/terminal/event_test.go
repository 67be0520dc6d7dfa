package terminal

import (
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/collector/ledger"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/gdw3761"
)

// eventRing is a fake terminal's important-event log: record k is an
// ERC37 of point k%3+1 at minute k%60; records before oldest are
// overwritten.
type eventRing struct {
	mu     sync.Mutex
	count  uint8 // EC1
	oldest uint8
}

func (r *eventRing) record(k uint8) []byte {
	b, _ := gdw3761.A15.Append(nil, gdw3761.DateTime{Year: 2026, Month: 12, Day: 7, Hour: 9, Minute: int8(k % 60)})
	pn := uint16(k%3 + 1)
	return append(b, byte(pn), byte(pn>>8)|0x80)
}

func (r *eventRing) answer(t testing.TB) func(req *gdw3761.Frame) [][]byte {
	return func(req *gdw3761.Frame) [][]byte {
		units, err := req.Units(nil)
		if err != nil || len(units) != 1 || req.AFN != gdw3761.AFNClass3 {
			t.Errorf("want one AFN 0E unit, got %v %v", req.AFN, err)
			return nil
		}
		var rg gdw3761.EventRange
		if err := rg.UnmarshalUnit(units[0].Data); err != nil {
			t.Error(err)
			return nil
		}
		if rg.Count() > MaxEvents {
			t.Errorf("asked for %d records, more than MaxEvents", rg.Count())
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		ev := gdw3761.Events{EC1: r.count, Pm: rg.Pm, Pn: rg.Pm}
		held := func(k uint8) bool { return uint8(k-r.oldest) < uint8(r.count-r.oldest) }
		for k := rg.Pm; k != rg.Pn && held(k); k++ {
			ev.Records = append(ev.Records, gdw3761.Event{ERC: gdw3761.ERCMeterCoverOpen, Data: r.record(k)})
			ev.Pn = k + 1
		}
		f := gdw3761.Response(req, req.Seq.Num(), true, true)
		d, _ := gdw3761.MakeDADT([]uint16{0}, []uint8{units[0].Fn})
		f.Data = append(f.Data, d[:]...)
		f.Data, _ = ev.AppendUnit(f.Data)
		b, err := f.MarshalBinary()
		if err != nil {
			t.Error(err)
		}
		return [][]byte{b}
	}
}

var eventPoints = []Point{{Pn: 1, Meter: "000000000001", Area: "A"}, {Pn: 2, Meter: "000000000002", Area: "A"}, {Pn: 3, Meter: "000000000003", Area: "A"}}

func watcher(t *testing.T, s *Session, p *ledger.Pointers, got *[]meter.Read, mu *sync.Mutex) *Events {
	return &Events{Reader: &Reader{Session: s}, Pointers: p, Points: func() []Point { return eventPoints },
		Self: Point{Meter: "000000000001", Area: "A"}, Sink: func(rs []meter.Read) {
			mu.Lock()
			defer mu.Unlock()
			*got = append(*got, rs...)
		}}
}

// The counter runs past 255: the records from the kept pointer 250 up to
// EC1 4 are read in requests of at most MaxEvents, each once, named by
// its point's meter and keeping its frames; a watcher on the same state
// file after a restart reads nothing again.
func TestEventsReadFromThePointerAcrossTheWrap(t *testing.T) {
	_, ft, s := online(t, "4401 0001")
	ring := &eventRing{count: 4, oldest: 200}
	reqs := ft.serve(ring.answer(t))
	path := filepath.Join(t.TempDir(), "state.db")
	p, err := ledger.OpenPointers(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Set("4401 0001", ledger.Important, 250); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []meter.Read
	w := watcher(t, s, p, &got, &mu)
	w.Seen(t.Context(), gdw3761.EC{Important: 4})
	w.Wait()
	mu.Lock()
	if len(got) != 10 {
		t.Fatalf("%d reads, want records 250..3 (10)", len(got))
	}
	for i, r := range got {
		k := uint8(250 + i)
		want := eventPoints[k%3].Meter
		if r.Meter != want || r.Class != meter.Event || r.Quantity != "event ERC37 meter cover opened" || r.MeterTime.Minute() != int(k%60) ||
			!strings.HasPrefix(r.Text, "important #"+strconv.Itoa(int(k))) || len(r.Frame.Request) == 0 || len(r.Frame.Reply) != 1 {
			t.Errorf("read %d: %+v", i, r)
		}
	}
	mu.Unlock()
	if n, _ := p.Next("4401 0001", ledger.Important); n != 4 {
		t.Errorf("pointer %d, want 4", n)
	}
	p.Close()
	p, err = ledger.OpenPointers(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var again []meter.Read
	w2 := watcher(t, s, p, &again, &mu)
	w2.Seen(t.Context(), gdw3761.EC{Important: 4})
	w2.Wait()
	if len(again) != 0 {
		t.Errorf("read %d records again after the restart", len(again))
	}
	if n := len(reqs); n != 1 {
		t.Errorf("%d requests for 10 records, want 1 (MaxEvents %d)", n, MaxEvents)
	}
}

// Records the terminal no longer holds are skipped to its counter; a
// report that follows on from the pointer is taken and moves it.
func TestEventsOverwrittenAndReported(t *testing.T) {
	_, ft, s := online(t, "4401 0001")
	ring := &eventRing{count: 20, oldest: 10}
	ft.serve(ring.answer(t))
	var mu sync.Mutex
	var got []meter.Read
	w := watcher(t, s, nil, &got, &mu)
	// records 0..9 are gone: the read asks from 0, gets none, skips to 20
	// and reads nothing of 10..19 it was not sent
	if _, err := w.ReadUpTo(t.Context(), gdw3761.EC{Important: 20}); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.next(EventLog{Important: true}); n != 20 {
		t.Fatalf("pointer %d after the overwritten records, want 20", n)
	}
	// a report of record 20 (PRM set, AFN 0E F1)
	ev := gdw3761.Events{EC1: 21, Pm: 20, Pn: 21, Records: []gdw3761.Event{{ERC: gdw3761.ERCMeterCoverOpen, Data: ring.record(20)}}}
	f := gdw3761.Frame{Control: 0xC4, Address: s.Address(), AFN: gdw3761.AFNClass3, Seq: gdw3761.MakeSeq(false, true, true, false, 0)}
	d, _ := gdw3761.MakeDADT([]uint16{0}, []uint8{1})
	f.Data = append(f.Data, d[:]...)
	f.Data, _ = ev.AppendUnit(f.Data)
	if err := w.Reported(t.Context(), &f); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Meter != eventPoints[20%3].Meter || len(got[0].Frame.Reply) != 1 || len(got[0].Frame.Request) != 0 {
		t.Fatalf("reported: %+v", got)
	}
	if n, _ := w.next(EventLog{Important: true}); n != 21 {
		t.Errorf("pointer %d after the report, want 21", n)
	}
}

func TestEventQuantity(t *testing.T) {
	for _, erc := range []uint8{37, 14, 99} {
		q := EventQuantity(erc)
		if got, ok := EventERC(q); !ok || got != erc {
			t.Errorf("%q: ERC %d %v", q, got, ok)
		}
	}
	if _, ok := EventERC("forward active energy total"); ok {
		t.Error("a register is no event")
	}
}

// FuzzEventFrames feeds arbitrary frames to what turns an AFN 0E reply or
// report into event reads: no panic, every read of class event with an
// ERC in its quantity, and Pn..Pm holding as many records as it says.
func FuzzEventFrames(f *testing.F) {
	ring := &eventRing{count: 3}
	req := gdw3761.ReadEvents(gdw3761.Address{Area: 4401, Terminal: 1}, 0, true, 0, 3)
	req.Control = 0x4B
	for _, b := range ring.answer(f)(&req) {
		f.Add(b)
	}
	s := &Session{id: "4401 0001"}
	r := &Reader{Session: s, Location: time.UTC}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr gdw3761.Frame
		if _, err := fr.Decode(b); err != nil {
			return
		}
		for _, log := range []EventLog{{Important: true}, {Important: false}} {
			batch, err := r.eventsOf([]gdw3761.Frame{fr}, log, meter.FrameRef{}, eventPoints, Point{Meter: "000000000001"})
			if err != nil {
				continue
			}
			for _, rd := range batch.Reads {
				if _, ok := EventERC(rd.Quantity); !ok || rd.Class != meter.Event {
					t.Fatalf("read %+v", rd)
				}
			}
		}
	})
}
