package field_test

import (
	"context"
	"testing"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/field"
)

// FuzzTerminalHandle feeds arbitrary frames to a terminal: it never
// panics, and whatever it answers is a frame it can encode, a deny when
// it cannot answer.
func FuzzTerminalHandle(f *testing.F) {
	a := gdw3761.Address{Area: 4401, Terminal: 1}
	add := func(fr gdw3761.Frame, err error) {
		if b, err2 := fr.MarshalBinary(); err == nil && err2 == nil {
			f.Add(b)
		}
	}
	add(gdw3761.ReadClock(a, 1), nil)
	add(gdw3761.ReadDaily(a, 2, gdw3761.DateTime{Year: 2025, Month: 3, Day: 2}, []uint16{1, 2, 9}, []uint8{161, 163}))
	add(gdw3761.ReadCurve(a, 3, gdw3761.DateTime{Year: 2025, Month: 3, Day: 2}, 1, 4, []uint16{1}, []uint8{101}))
	add(gdw3761.ReadEvents(a, 4, true, 0, 5), nil)
	add(gdw3761.ReadArchive(a, 5, []uint16{1, 2}))
	add(gdw3761.SetClock(a, 6, [16]byte{}, gdw3761.DateTime{Year: 2025, Month: 3, Day: 2, Hour: 1, Weekday: 7}))
	add(gdw3761.Forward(a, 7, [16]byte{}, &gdw3761.ForwardRequest{Port: 2, Data: []byte{0x68, 1, 2}}))
	add(gdw3761.WriteArchive(a, 8, [16]byte{}, &gdw3761.Archive{Meters: []gdw3761.MeterEntry{{Serial: 1, Point: 1, Port: 2, IntDigits: 6, DecDigits: 2}}}))
	term, err := field.NewTerminal("127.0.0.1:1", field.TerminalOptions{Address: a,
		Archive: []gdw3761.MeterEntry{{Serial: 1, Point: 1, Port: 2, Protocol: 30}},
		Now:     func() time.Time { return time.Date(2025, 3, 2, 0, 20, 0, 0, time.UTC) },
		Poll:    field.BusFunc(func(context.Context, []byte) []byte { return nil }), PollEvery: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr gdw3761.Frame
		if _, err := fr.Decode(b); err != nil || fr.Control.Up() {
			return
		}
		fr.Address = a
		for _, r := range term.Handle(context.Background(), &fr) {
			if _, err := r.MarshalBinary(); err != nil {
				t.Fatalf("reply %v does not encode: %v", r.AFN, err)
			}
			if !r.Control.Up() || r.Address.Terminal != 1 {
				t.Fatalf("reply control %v address %v", r.Control, r.Address)
			}
		}
	})
}
