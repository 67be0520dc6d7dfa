package review

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/fieldops"
	"github.com/headend/headend/meter"
)

// Scan is what answered on one bus: the addresses found, and what was
// asked. A range search (From, To) says which archived meters should
// have answered; Missing are those the scanner itself reported silent.
type Scan struct {
	Channel string    `json:"channel"`
	At      time.Time `json:"at"`
	Found   []string  `json:"found"`
	From    string    `json:"from,omitempty"` // the address range searched, both included; empty: no range search
	To      string    `json:"to,omitempty"`
	Missing []string  `json:"missing,omitempty"`
}

// ScanOf is the Scan of a field scan (fieldops) made at at with
// request rq on channel (the result's own channel wins when it has one).
func ScanOf(channel string, rq fieldops.ScanRequest, res *fieldops.ScanResult, at time.Time) Scan {
	s := Scan{Channel: channel, At: at, Found: []string{}, Missing: res.Missing}
	if res.Channel != "" {
		s.Channel = res.Channel
	}
	if rq.From != "" && rq.To != "" {
		if lo, hi, err := fieldops.ParseRange(rq.From, rq.To); err == nil {
			s.From, s.To = fmt.Sprintf("%012d", lo), fmt.Sprintf("%012d", hi)
		}
	}
	for _, f := range res.Found {
		s.Found = append(s.Found, f.Address)
	}
	return s
}

// covers reports whether an address is in the scan's range.
func (s *Scan) covers(addr string) bool {
	if s.From == "" || s.To == "" {
		return false
	}
	lo, err1 := strconv.ParseUint(s.From, 10, 64)
	hi, err2 := strconv.ParseUint(s.To, 10, 64)
	n, err3 := strconv.ParseUint(addr, 10, 64)
	return err1 == nil && err2 == nil && err3 == nil && lo <= n && n <= hi
}

// scans compares what answered on the buses with the archive: a meter
// not in the archive, one archived on another bus, and an archived meter
// in the range searched that did not answer. A later scan's finding on
// the same meter and bus replaces an earlier one's.
func (x *run) scans() {
	if !x.cfg.Scan.applies(x.to) {
		return
	}
	ix := x.in.Archive
	scans := slices.Clone(x.in.Scans)
	slices.SortStableFunc(scans, func(a, b Scan) int { return a.At.Compare(b.At) })
	found := map[string]Finding{}
	for _, s := range scans {
		conc, area := "", ""
		if k, ok := ix.ConcentratorOf(s.Channel); ok {
			conc, area = k.ID, k.Area
		}
		scanEv := Evidence{What: "scan of bus " + s.Channel, Time: stamp(s.At, x.loc), Value: fmt.Sprintf("%d answered", len(s.Found))}
		if s.From != "" {
			scanEv.Value += fmt.Sprintf(", addresses %s to %s searched", s.From, s.To)
		}
		answered := map[string]bool{}
		for _, a := range s.Found {
			n, err := archive.NormalizeAddress(a)
			if err != nil {
				continue
			}
			answered[n] = true
			m, ok := ix.Meter(n)
			switch {
			case !ok:
				found[string(Unarchived)+"|"+n] = Finding{Rule: Unarchived, Severity: High, Area: area, Concentrator: conc, Meter: n,
					Day: day(midnight(s.At, x.loc)),
					Summary: fmt.Sprintf("meter %s answers on bus %s (concentrator %s) but is not in the archive: an unregistered customer, billed by nobody",
						n, s.Channel, conc),
					Evidence: []Evidence{scanEv, {What: "answered", Meter: n, Time: stamp(s.At, x.loc), Value: "yes"},
						{What: "in the archive", Meter: n, Value: "no"}}}
			case m.Channel != s.Channel:
				found[string(OtherBus)+"|"+n] = Finding{Rule: OtherBus, Severity: Medium, Area: m.Area, Concentrator: conc, Meter: n,
					Day: day(midnight(s.At, x.loc)),
					Summary: fmt.Sprintf("meter %s answers on bus %s (area %s) but the archive has it on %s (area %s): a wrong line → area relation, or a moved meter",
						n, s.Channel, area, m.Channel, m.Area),
					Evidence: []Evidence{scanEv, {What: "answered", Meter: n, Time: stamp(s.At, x.loc), Value: "yes"},
						{What: "archive channel", Meter: n, Value: m.Channel}, {What: "archive area", Meter: n, Value: m.Area}}}
			}
		}
		silent := map[string]bool{}
		for _, a := range s.Missing {
			if n, err := archive.NormalizeAddress(a); err == nil {
				silent[n] = true
			}
		}
		for _, m := range ix.MetersOnChannel(s.Channel) {
			if s.covers(m.Address) && !answered[m.Address] {
				silent[m.Address] = true
			}
		}
		for _, n := range sortedKeys(silent) {
			m, ok := ix.Meter(n)
			if !ok || answered[n] {
				continue
			}
			found[string(NotFound)+"|"+n] = Finding{Rule: NotFound, Severity: Medium, Area: m.Area, Concentrator: conc, Meter: n,
				Day:      day(midnight(s.At, x.loc)),
				Summary:  fmt.Sprintf("archived meter %s did not answer a scan of its bus %s", n, s.Channel),
				Evidence: []Evidence{scanEv, {What: "answered", Meter: n, Time: stamp(s.At, x.loc), Value: "no"}}}
		}
		// a meter that answers now is no longer missing
		for n := range answered {
			delete(found, string(NotFound)+"|"+n)
		}
	}
	for _, k := range sortedKeys(found) {
		x.add(found[k])
	}
}

// answers flags archived meters without an OK read in the Days days up
// to today (meters of suspended areas left out). It judges only when
// there are reads in that window at all.
func (x *run) answers(today time.Time) {
	r := x.cfg.Answers
	if !r.applies(today) {
		return
	}
	start, end := today.AddDate(0, 0, -r.Days+1), today.AddDate(0, 0, 1)
	type tally struct {
		ok, failed int
		lastTry    time.Time
	}
	per := map[string]*tally{}
	any := false
	for i := range x.in.Reads {
		rd := &x.in.Reads[i]
		if rd.ReadAt.Before(start) || !rd.ReadAt.Before(end) {
			continue
		}
		any = true
		t := per[rd.Meter]
		if t == nil {
			t = &tally{}
			per[rd.Meter] = t
		}
		if rd.Status == meter.OK {
			t.ok++
		} else {
			t.failed++
			if rd.ReadAt.After(t.lastTry) {
				t.lastTry = rd.ReadAt
			}
		}
	}
	if !any {
		return
	}
	for _, m := range x.in.Archive.Archive().Meters {
		if ar, ok := x.in.Archive.Area(m.Area); ok && !ar.SuspendedSince.IsZero() {
			continue
		}
		t := per[m.Address]
		if t != nil && t.ok > 0 {
			continue
		}
		ev := []Evidence{{What: "OK reads", Meter: m.Address, Time: day(start) + "/" + day(today), Value: "0"}}
		how := "no read was even tried"
		if t != nil {
			how = fmt.Sprintf("%d reads failed, the last at %s", t.failed, stamp(t.lastTry, x.loc))
			ev = append(ev, Evidence{What: "failed reads", Meter: m.Address, Time: stamp(t.lastTry, x.loc), Value: fmt.Sprint(t.failed)})
		}
		x.add(Finding{Rule: NeverAnswers, Severity: Medium, Area: m.Area, Concentrator: concentratorOf(x.in.Archive, &m), Meter: m.Address,
			Day: day(today), Summary: fmt.Sprintf("archived meter %s gave no OK read from %s to %s (%s)", m.Address, day(start), day(today), how),
			Evidence: ev})
	}
}
