// Package meter is the head-end's shared vocabulary of meter data: one
// Read per value a meter gave (or failed to give), with where it came
// from, its Class and Status, and the one exact decimal kit (Decimal, Add,
// Sub, Cmp, Percent, Round...). The store, VEE and analytics consume Reads;
// none of them knows how a meter was reached.
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
	Event         Class = "event"         // an event a terminal recorded (Q/GDW 1376.1 ERC)
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
	// Earlier are the tries of the transaction that gave no answer,
	// oldest first: those before the one of Request and Reply, or, for a
	// Failed read, every try. At most MaxEarlier are kept; Dropped
	// counts the others (the latest ones).
	Earlier []Exchange
	Dropped int
}

// MaxEarlier is how many earlier exchanges a FrameRef keeps.
const MaxEarlier = 8

// Exchange is one try that gave no answer: what was sent, what came back
// and what was wrong with it.
type Exchange struct {
	Request  []byte   // the request's wire bytes; nil if it was not sent
	Received [][]byte // frames received that were not the answer (malformed, stray); a malformed one may be empty when the link kept no bytes
	Err      string   // why the try failed, e.g. "link: no reply before the deadline"
}

// AddEarlier appends x to f.Earlier, or counts it in f.Dropped when
// MaxEarlier are kept.
func (f *FrameRef) AddEarlier(x Exchange) {
	if len(f.Earlier) >= MaxEarlier {
		f.Dropped++
		return
	}
	f.Earlier = append(f.Earlier, x)
}
