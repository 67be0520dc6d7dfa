// Package poll reads meters on one bus: a queue of tasks with one
// transaction in flight, on-demand reads first, a configurable gap between
// transactions, a timeout and retries with back-off per request, and a
// circuit breaker per meter so that a dead meter costs one timeout per
// cycle instead of stalling the bus. Reads leave as read.Read records.
package poll

import (
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// Target is a meter as the poller needs it.
type Target struct {
	Address string
	Edition dlt645.Edition
	Area    string
	Unit    byte // Modbus unit id, for meters read over Modbus
	Modbus  bool // read over Modbus: registers only, no freezes or clock
}

// Request is one read: a data identifier, and for load-profile reads the
// number of records and the time to start from.
type Request struct {
	DI     dlt645.DI
	Blocks int             // load profile: records wanted (0: a plain read)
	From   dlt645.DateTime // load profile: first record time
	// TimeSync, instead of a read, broadcasts the head-end's time to
	// every meter on the bus (no reply; meters apply it within ±5 min).
	TimeSync bool
}

// Task is the reads one schedule wants from one meter.
type Task struct {
	Target   Target
	Class    meter.Class
	Requests []Request
	// Urgent tasks (a person waiting: on-demand reads, relay commands)
	// go before every scheduled one.
	Urgent bool
	Due    time.Time
	// Done, when set, receives the task's reads once it is finished.
	Done chan<- []meter.Read
}

// Sink receives the reads of each finished task. It must not block for
// long: the bus waits for it.
type Sink func([]meter.Read)
