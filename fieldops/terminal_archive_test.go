package fieldops

import (
	"context"
	"testing"

	"github.com/headend/headend/protocol/gdw3761"
)

// fakeTerminal keeps a meter archive, as a concentrator does: AFN 04 F10
// writes it, AFN 0A F10 reads it. It goes through the codec both ways.
type fakeTerminal struct {
	archive  map[uint16]gdw3761.MeterEntry
	requests int
}

func (f *fakeTerminal) Exchange(_ context.Context, req *gdw3761.Frame) ([]gdw3761.Frame, error) {
	f.requests++
	wire, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var in gdw3761.Frame
	if _, err := in.Decode(wire); err != nil {
		return nil, err
	}
	units, err := in.Units(nil)
	if err != nil {
		return nil, err
	}
	switch in.AFN {
	case gdw3761.AFNSet:
		for _, u := range units {
			var ar gdw3761.Archive
			if err := ar.UnmarshalUnit(u.Data); err != nil {
				return []gdw3761.Frame{gdw3761.Deny(&in)}, nil
			}
			for _, m := range ar.Meters {
				f.archive[m.Serial] = m
			}
		}
		return []gdw3761.Frame{gdw3761.Confirm(&in)}, nil
	case gdw3761.AFNQuery:
		var q gdw3761.ArchiveQuery
		if err := q.UnmarshalUnit(units[0].Data); err != nil {
			return nil, err
		}
		var ar gdw3761.Archive
		for _, s := range q.Serials {
			if m, ok := f.archive[s]; ok {
				ar.Meters = append(ar.Meters, m)
			}
		}
		data, err := ar.AppendUnit(nil)
		if err != nil {
			return nil, err
		}
		r := gdw3761.Response(&in, 0, true, true)
		r.Data, err = gdw3761.AppendUnits(r.Data, []uint16{0}, []uint8{10}, data)
		return []gdw3761.Frame{r}, err
	}
	return []gdw3761.Frame{gdw3761.Deny(&in)}, nil
}

func TestPushPullArchive(t *testing.T) {
	var want []gdw3761.MeterEntry
	var serials []uint16
	for pn := uint16(1); pn <= 45; pn++ {
		want = append(want, gdw3761.MeterEntry{Serial: pn, Point: pn, Port: 2, Baud: 2400, Protocol: 30,
			Address: gdw3761.MeterAddress{byte(pn), 0, 0, 1, 0, 0}, Tariffs: 4, IntDigits: 6, DecDigits: 2})
		serials = append(serials, pn)
	}
	term := &fakeTerminal{archive: map[uint16]gdw3761.MeterEntry{}}
	a := gdw3761.Address{}
	n, err := PushArchive(t.Context(), term, a, [16]byte{}, want, 0)
	if err != nil || n != 45 {
		t.Fatalf("PushArchive = %d, %v", n, err)
	}
	if term.requests != 3 {
		t.Errorf("%d requests for 45 entries, want 3 chunks of at most %d", term.requests, DefaultArchiveChunk)
	}
	got, err := PullArchive(t.Context(), term, a, serials, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := DiffArchive("4401 0001", want, got); !d.Agrees() {
		t.Fatalf("after push: %v", d)
	}
	delete(term.archive, 7)
	got, _ = PullArchive(t.Context(), term, a, serials, 0)
	if d := DiffArchive("4401 0001", want, got); len(d.Points) != 1 || d.Points[0].Point != 7 {
		t.Fatalf("after losing point 7: %v", d)
	}
}
