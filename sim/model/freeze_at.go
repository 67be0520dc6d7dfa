package model

import "time"

// DailyFreezesAt returns the daily freezes as the meter holds them at
// simulated instant t inside the current step, newest first: those of
// [Meter.DailyFreezes], and the freeze of a midnight the meter's clock
// passed in the current step before t. (The step's freezes are taken when
// the step is committed; a meter whose clock is a few seconds slow
// freezes at 00:00:05, and one read at 00:10 holds that freeze already.)
func (m *Meter) DailyFreezesAt(t time.Time) []Freeze {
	f := m.f
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]Freeze, 0, m.daily.len()+1)
	e := f.elapsed(t)
	c0, ct := m.clockAt(f.t0, 0), m.clockAt(f.t0, e)
	lt := ct.In(f.zone)
	midnight := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, f.zone)
	if midnight.After(c0) && !midnight.After(ct) && (m.daily.len() == 0 || m.daily.at(0).at < toStamp(midnight)) {
		span := m.clockAt(f.t0, Step).Sub(c0)
		at := Step
		if span > 0 {
			at = time.Duration(float64(midnight.Sub(c0)) / float64(span) * float64(Step))
		}
		r := m.freezeAt(midnight, at)
		out = append(out, r.freeze(f.zone))
	}
	for i := range m.daily.len() {
		out = append(out, m.daily.at(i).freeze(f.zone))
	}
	return out
}
