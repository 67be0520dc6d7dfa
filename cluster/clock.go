package cluster

import "time"

// Clock is the time a Node keeps its fencing deadline and its renewals by;
// tests inject one they advance by hand.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
