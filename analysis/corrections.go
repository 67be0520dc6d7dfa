package analysis

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// KindCorrection is the record kind of corrections: Body is a Correction.
const KindCorrection = "correction"

// Correction kinds.
const (
	CorrectEdit        = "edit"         // a register value replaced
	CorrectFaultEnergy = "fault_energy" // energy a faulty meter failed to register, added back
	CorrectBackBilling = "back_billing" // energy to bill a customer for a past period
	CorrectRefund      = "refund"       // energy to refund
)

// Correction statuses.
const (
	Proposed = "proposed"
	Approved = "approved"
	Rejected = "rejected"
)

// Correction is a numbered change to billing data: proposed by one person
// with a reason, approved (or rejected) by another; only an approved one
// reaches billing. Its record's versions are its history.
type Correction struct {
	No       int64          `json:"no"`
	Kind     string         `json:"kind"`
	Meter    string         `json:"meter"`
	Area     string         `json:"area"`
	Class    meter.Class    `json:"class,omitempty"`    // edit: the value's class
	Quantity string         `json:"quantity,omitempty"` // edit: the value's quantity
	Time     time.Time      `json:"time"`               // edit: the value's time; otherwise the period's start
	End      time.Time      `json:"end,omitzero"`       // fault energy, back-billing, refund: the period's end
	Value    dlt645.Decimal `json:"value"`              // edit: the new value; otherwise the energy (kWh)
	Before   string         `json:"before,omitempty"`   // edit: the value when proposed, and its quality
	Reason   string         `json:"reason"`

	Status     string    `json:"status"`
	ProposedBy string    `json:"proposed_by"`
	ProposedAt time.Time `json:"proposed_at"`
	DecidedBy  string    `json:"decided_by,omitempty"`
	DecidedAt  time.Time `json:"decided_at,omitzero"`
	Decision   string    `json:"decision,omitempty"` // the approver's or rejecter's words
}

// CorrectionKey is the record key of correction no.
func CorrectionKey(no int64) string { return fmt.Sprintf("C%07d", no) }

// Record is the correction's record.
func (c *Correction) Record() store.Record {
	b, _ := json.Marshal(c)
	return store.Record{Kind: KindCorrection, Key: CorrectionKey(c.No), Area: c.Area, Meter: c.Meter, Time: c.Time, Body: b}
}

// EditsOf returns the approved edits among correction records.
func EditsOf(recs []store.Record) []Edit {
	var out []Edit
	for _, r := range recs {
		var c Correction
		if r.Kind != KindCorrection || json.Unmarshal(r.Body, &c) != nil || c.Kind != CorrectEdit || c.Status != Approved {
			continue
		}
		out = append(out, Edit{Key: vee.Key{Meter: c.Meter, Class: c.Class, Quantity: c.Quantity, Time: c.Time},
			Value: c.Value, Who: c.ProposedBy + ", approved by " + c.DecidedBy, Reason: c.Reason, At: c.DecidedAt, Ref: CorrectionKey(c.No)})
	}
	return out
}

// FaultsOf returns the approved fault-energy corrections among correction
// records, as energy to add back to the balances they cover.
func FaultsOf(recs []store.Record) []loss.Fault {
	var out []loss.Fault
	for _, r := range recs {
		var c Correction
		if r.Kind != KindCorrection || json.Unmarshal(r.Body, &c) != nil || c.Kind != CorrectFaultEnergy || c.Status != Approved {
			continue
		}
		out = append(out, loss.Fault{Area: c.Area, Meter: c.Meter, From: c.Time, To: c.End, Energy: c.Value,
			Why: "correction " + CorrectionKey(c.No) + " by " + c.ProposedBy + ", approved by " + c.DecidedBy + ": " + c.Reason})
	}
	return out
}
