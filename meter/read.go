// Package meter defines what leaves the collector: one Read per value a
// meter gave (or failed to give), with where it came from. The store, VEE
// and analytics consume Reads; none of them knows how a meter was reached.
package meter

import (
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// Class is the schedule a read belongs to.
type Class string

// Reading classes.
const (
	Instantaneous Class = "instantaneous" // voltage, current, power, PF, registers now
	Interval      Class = "interval"      // load-profile records
	Daily         Class = "daily"         // the 00:00 daily freeze
	Monthly       Class = "monthly"       // settlement-day records
	Clock         Class = "clock"         // the meter's clock against ours
	OnDemand      Class = "ondemand"      // asked for by a person
)

// Status says how a read went.
type Status string

// Read statuses.
const (
	OK      Status = "ok"      // a value
	NoData  Status = "no_data" // the meter has no such value (EE filler, or ERR "no requested data")
	Refused Status = "refused" // an abnormal reply other than no data
	Failed  Status = "failed"  // no valid reply: timeout, garbage, link down
	Skipped Status = "skipped" // not attempted: the meter's circuit breaker is open
)

// Read is one value from one meter, or the failure to get it.
type Read struct {
	Meter     string    // 12-digit address
	Area      string    // archive area
	Channel   string    // the channel it was read through
	Class     Class     // which schedule asked
	DI        dlt645.DI // data identifier (block members get their own)
	Edition   dlt645.Edition
	Quantity  string         // what it is, e.g. "forward active energy total"
	Value     dlt645.Decimal // exact, when Kind is number
	Text      string         // the value as text for times, addresses, status words
	Unit      string
	MeterTime time.Time // the meter's stamp on the value (freeze or record time, or its clock); zero if none
	ReadAt    time.Time // head-end time the reply arrived
	Status    Status
	Err       string // why, when not OK
	Frame     FrameRef
}

// FrameRef traces a read to the bytes on the wire.
type FrameRef struct {
	Request []byte   // the request's wire bytes
	Reply   [][]byte // the reply frames, follow-ups included
	Tries   int      // transactions it took (1 = first time)
}
