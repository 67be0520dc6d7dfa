package terminal

import (
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// Status is one terminal's connection and counters. Since,
// LastHeartbeat and LastHeard are on the listener's clock; Clock is the
// terminal's own clock as its last heartbeat stated it (zero if its
// heartbeats carry none).
type Status struct {
	ID            string     `json:"id"`
	Online        bool       `json:"online"`
	Since         time.Time  `json:"since,omitzero"` // when Online last changed
	Remote        string     `json:"remote,omitempty"`
	LastHeartbeat time.Time  `json:"last_heartbeat,omitzero"`
	LastHeard     time.Time  `json:"last_heard,omitzero"`
	Clock         time.Time  `json:"clock,omitzero"` // the terminal's clock at LastHeartbeat
	EC            gdw3761.EC `json:"-"`
	FramesIn      int64      `json:"frames_in"`
	FramesOut     int64      `json:"frames_out"`
	BadFrames     int64      `json:"bad_frames"`
	Stray         int64      `json:"stray_frames"`
	Requests      int64      `json:"requests"`
	Err           string     `json:"error,omitempty"`
}

// Status returns the terminal's status now.
func (s *Session) Status() Status {
	s.mu.Lock()
	st := s.st
	c := s.c
	s.mu.Unlock()
	st.ID = s.id
	if c != nil {
		st.LastHeard = c.lastHeard()
	}
	st.FramesIn, st.FramesOut, st.BadFrames = s.framesIn.Load(), s.out.Load(), s.bad.Load()
	st.Stray, st.Requests = s.stray.Load(), s.requests.Load()
	return st
}
