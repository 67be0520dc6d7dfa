package terminal

import (
	"fmt"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
)

// reply is the answer to one AFN 0C/0D read request, kept compactly:
// the frames as sent and received (every read's FrameRef) and, by
// point, the reply's data units, which alias those frames' bytes. Reads
// are built from it when asked for ([Reader.pointReads]).
type reply struct {
	term  string // the terminal's address
	class meter.Class
	afn   gdw3761.AFN
	fns   []uint8   // the Fns asked for each point
	day   time.Time // the freeze's day or month; zero for current data
	at    time.Time // when it was read
	ref   meter.FrameRef
	units map[uint16][]unit // by point
	// collected is set when some unit of the reply holds data: the
	// terminal has collected, so a point it has nothing of is a meter it
	// could not read.
	collected bool
	late      bool  // asked after Reader.CollectBy past the freeze
	err       error // the reply as a whole failed (a denial, bad units)
}

type unit struct {
	fn   uint8
	data []byte
}

// request is what a read of class asks: its AFN and Fns.
func request(class meter.Class) (gdw3761.AFN, []uint8) {
	switch class {
	case meter.Daily:
		return gdw3761.AFNClass2, []uint8{161, 163}
	case meter.Monthly:
		return gdw3761.AFNClass2, []uint8{177, 179}
	}
	return gdw3761.AFNClass1, []uint8{25, 129, 131}
}

// replyOf parses the reply frames (wire bytes, kept by the reply) to a
// read of points.
func replyOf(term string, class meter.Class, day, at time.Time, ref meter.FrameRef, points []Point) *reply {
	afn, fns := request(class)
	rp := &reply{term: term, class: class, afn: afn, fns: fns, day: day, at: at, ref: ref, units: map[uint16][]unit{}}
	want := map[uint16]bool{}
	for _, p := range points {
		want[p.Pn] = true
	}
	var us []gdw3761.Unit
	for i, b := range ref.Reply {
		var f gdw3761.Frame
		if err := f.UnmarshalBinary(b); err != nil {
			rp.err = fmt.Errorf("concentrator %s reply frame %d: %w", term, i+1, err)
			return rp
		}
		if f.AFN == gdw3761.AFNConfirm {
			err := gdw3761.Acknowledged(&f)
			if err == nil {
				err = fmt.Errorf("concentrator %s confirmed a read without data", term)
			}
			rp.err = err
			return rp
		}
		var err error
		if us, err = f.Units(us[:0]); err != nil {
			rp.err = fmt.Errorf("concentrator %s reply frame %d: %w", term, i+1, err)
			return rp
		}
		for _, u := range us {
			if u.Unknown || !want[u.Pn] || f.AFN != afn || !asked(fns, u.Fn) {
				continue
			}
			rp.units[u.Pn] = append(rp.units[u.Pn], unit{u.Fn, u.Data})
			if holds(afn, u.Fn, u.Data) {
				rp.collected = true
			}
		}
	}
	return rp
}

func asked(fns []uint8, fn uint8) bool {
	for _, f := range fns {
		if f == fn {
			return true
		}
	}
	return false
}

// holds reports whether unit (afn, fn) holds data: not the EE filler, in
// whole (every byte after the date) or decoded (no reading time and no
// value).
func holds(afn gdw3761.AFN, fn uint8, b []byte) bool {
	h := 0
	switch {
	case afn == gdw3761.AFNClass2 && fn < 177:
		h = gdw3761.A20.Size()
	case afn == gdw3761.AFNClass2:
		h = gdw3761.A21.Size()
	}
	filler := true
	for _, c := range b[min(h, len(b)):] {
		if c != 0xEE {
			filler = false
			break
		}
	}
	if filler {
		return false
	}
	if afn == gdw3761.AFNClass1 && fn == 25 {
		var v gdw3761.Instant
		if err := v.UnmarshalUnit(b); err != nil {
			return true // not the filler: the decode says what is wrong
		}
		return !v.ReadTime.IsZero() || !v.U[0].Missing || !v.P[0].Missing
	}
	var e gdw3761.Energy
	if err := e.UnmarshalUnit(afn, fn, b); err != nil {
		return true
	}
	if !e.ReadTime.IsZero() || !e.Total.Missing {
		return true
	}
	for _, t := range e.Tariffs {
		if !t.Missing {
			return true
		}
	}
	return false
}

// fnDIs are the 645 identifiers the reads of unit fn are named after
// (F161's freeze time first).
func fnDIs(afn gdw3761.AFN, fn uint8) []dlt645.DI {
	if afn == gdw3761.AFNClass1 && fn == 25 {
		return []dlt645.DI{0x0201FF00, 0x0202FF00, 0x02030000, 0x02060000}
	}
	di, _, ok := frozenDI(afn, fn)
	switch {
	case !ok:
		return nil
	case di == 0x05060101:
		return []dlt645.DI{0x05060001, di}
	}
	return []dlt645.DI{di}
}

// pointReads builds the reads of point p from rp: every value of every
// Fn asked, or, for an Fn without data, one read per 645 identifier it
// stands for (named as its first member, "... total") with a status:
// failed when the reply failed or the terminal has collected (some
// other point holds data) or the freeze is past Reader.CollectBy, the
// terminal having then failed to read the meter; no_data when it has
// collected nothing of the request yet.
func (r *Reader) pointReads(rp *reply, p Point) []meter.Read {
	var out []meter.Read
	us := rp.units[p.Pn]
	for _, fn := range rp.fns {
		b := base(p, rp.class, rp.at, rp.ref)
		var data []byte
		found := false
		for _, u := range us {
			if u.fn == fn {
				data, found = u.data, true
				break
			}
		}
		what := fmt.Sprintf("AFN %02X F%d", byte(rp.afn), fn)
		switch {
		case rp.err != nil:
			out = appendNone(out, b, rp.afn, fn, meter.Failed, rp.err.Error())
		case !found:
			out = appendNone(out, b, rp.afn, fn, rp.none(), fmt.Sprintf("concentrator %s sent nothing for point %d (%s not in its reply)%s", rp.term, p.Pn, what, rp.why()))
		case !holds(rp.afn, fn, data):
			out = appendNone(out, b, rp.afn, fn, rp.none(), fmt.Sprintf("concentrator %s holds no data for point %d (%s, EE)%s", rp.term, p.Pn, what, rp.why()))
		case rp.afn == gdw3761.AFNClass1 && fn == 25:
			var v gdw3761.Instant
			if err := v.UnmarshalUnit(data); err != nil {
				out = appendNone(out, b, rp.afn, fn, meter.Failed, fmt.Sprintf("concentrator %s point %d %s: %v", rp.term, p.Pn, what, err))
				continue
			}
			out = append(out, instant(b, &v, r.loc())...)
		default:
			di, _, _ := frozenDI(rp.afn, fn)
			var e gdw3761.Energy
			if err := e.UnmarshalUnit(rp.afn, fn, data); err != nil {
				out = appendNone(out, b, rp.afn, fn, meter.Failed, fmt.Sprintf("concentrator %s point %d %s: %v", rp.term, p.Pn, what, err))
				continue
			}
			out = append(out, energy(b, di, &e, r.loc())...)
		}
	}
	return out
}

// none is the status of a point without data in rp.
func (rp *reply) none() meter.Status {
	if rp.collected || rp.late {
		return meter.Failed
	}
	return meter.NoData
}

func (rp *reply) why() string {
	if rp.none() == meter.NoData {
		return ": it has collected no point of the request yet"
	}
	return ""
}

// appendNone appends the reads without a value of unit fn.
func appendNone(out []meter.Read, b meter.Read, afn gdw3761.AFN, fn uint8, st meter.Status, why string) []meter.Read {
	for _, di := range fnDIs(afn, fn) {
		r := b
		r.DI, r.Status, r.Err = di, st, why
		r.Quantity, _ = names(di, 0)
		if di == 0x05060001 {
			r.Quantity = "daily freeze -1 time"
		}
		out = append(out, r)
	}
	return out
}

// empty reports whether some Fn of p has no value in rp.
func (rp *reply) empty(p Point) bool {
	if rp.err != nil {
		return true
	}
	us := rp.units[p.Pn]
	for _, fn := range rp.fns {
		found := false
		for _, u := range us {
			if u.fn == fn {
				found = holds(rp.afn, fn, u.data)
				break
			}
		}
		if !found {
			return true
		}
	}
	return false
}
