package collector

import (
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/headend/headend/meter"
)

// stampFreezes gives the energies of a daily freeze read the freeze's time
// as their meter time, and their plain quantity name ("forward active
// energy total", not "daily freeze -1 forward active energy total"), so
// that a daily read and a current read of the same register are the same
// quantity at different times.
func stampFreezes(reads []meter.Read, loc *time.Location) []meter.Read {
	var at time.Time
	for _, r := range reads {
		if r.DI>>8 == 0x050600 && r.Status == meter.OK && r.Text != "" {
			if t, err := time.ParseInLocation("2006-01-02T15:04", r.Text, loc); err == nil {
				at = t
			}
		}
	}
	for i := range reads {
		r := &reads[i]
		if r.DI>>16 != 0x0506 {
			continue
		}
		if _, rest, ok := strings.Cut(r.Quantity, " -"); ok && strings.HasPrefix(r.Quantity, "daily freeze") {
			if _, name, ok := strings.Cut(rest, " "); ok {
				r.Quantity = name
			}
		}
		if !at.IsZero() {
			// (without the freeze's time read, a concentrator's
			// freeze keeps the day its reply named)
			r.MeterTime = at
		}
	}
	return reads
}

// stampProfile gives each value of a load-profile read its record's time
// (the values come as: record time, its fields, the next record time, ...).
func stampProfile(reads []meter.Read, loc *time.Location) []meter.Read {
	var at time.Time
	for i := range reads {
		r := &reads[i]
		if r.DI>>24 != 0x06 {
			continue
		}
		if r.Quantity == "record time" {
			at = time.Time{}
			if t, err := time.ParseInLocation("2006-01-02T15:04", r.Text, loc); err == nil {
				at = t
			}
		}
		r.MeterTime = at
	}
	return reads
}

// stateLog logs a meter's reads when they start or stop failing, not on
// every cycle.
type stateLog struct {
	mu   sync.Mutex
	last map[string]meter.Status // meter/class -> status of its last task
}

func (s *stateLog) observe(log *slog.Logger, reads []meter.Read) {
	if len(reads) == 0 {
		return
	}
	st, why := meter.OK, ""
	for _, r := range reads {
		if r.Status == meter.Failed || r.Status == meter.Skipped {
			st, why = r.Status, r.Err
			break
		}
	}
	r0 := reads[0]
	k := r0.Meter + "/" + string(r0.Class)
	s.mu.Lock()
	prev, seen := s.last[k]
	s.last[k] = st
	s.mu.Unlock()
	switch {
	case st != meter.OK && prev != st:
		log.Warn("meter not read", "meter", r0.Meter, "area", r0.Area, "class", r0.Class, "status", st, "err", why)
	case st == meter.OK && seen && prev != meter.OK:
		log.Info("meter read again", "meter", r0.Meter, "area", r0.Area, "class", r0.Class)
	}
}
