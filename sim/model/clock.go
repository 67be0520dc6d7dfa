package model

import "time"

// Clock maps real time to simulated time: Sim = SimStart + (Now() −
// RealStart) × Speed. The zero Speed means 1 (real time); Now defaults to
// time.Now, so tests inject a fake source.
type Clock struct {
	SimStart  time.Time        // simulated instant at RealStart
	RealStart time.Time        // real instant the simulation started
	Speed     float64          // simulated seconds per real second, e.g. 1440 = a day per minute
	Now       func() time.Time // real-time source; nil = time.Now
}

// NewClock returns a clock that starts at simStart now (per now, nil =
// time.Now) and runs speed times faster than real time.
func NewClock(simStart time.Time, speed float64, now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{SimStart: simStart, RealStart: now(), Speed: speed, Now: now}
}

func (c *Clock) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Clock) speed() float64 {
	if c.Speed <= 0 {
		return 1
	}
	return c.Speed
}

// Sim returns the current simulated time.
func (c *Clock) Sim() time.Time { return c.SimAt(c.now()) }

// SimAt maps a real instant to simulated time.
func (c *Clock) SimAt(real time.Time) time.Time {
	d := float64(real.Sub(c.RealStart)) * c.speed()
	return c.SimStart.Add(time.Duration(d))
}

// RealAt maps a simulated instant to the real instant it happens at.
func (c *Clock) RealAt(sim time.Time) time.Time {
	d := float64(sim.Sub(c.SimStart)) / c.speed()
	return c.RealStart.Add(time.Duration(d))
}

// SimDuration converts a real duration to a simulated one.
func (c *Clock) SimDuration(real time.Duration) time.Duration {
	return time.Duration(float64(real) * c.speed())
}
