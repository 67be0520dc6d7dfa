package analysis

import (
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
)

// EditsOf returns the approved edits among correction records
// (results.KindCorrection).
func EditsOf(recs []store.Record) []Edit {
	var out []Edit
	for _, c := range results.ApprovedCorrections(recs, results.CorrectEdit) {
		out = append(out, Edit{Key: vee.Key{Meter: c.Meter, Class: c.Class, Quantity: c.Quantity, Time: c.Time},
			Value: c.Value, Who: c.ProposedBy + ", approved by " + c.DecidedBy, Reason: c.Reason, At: c.DecidedAt, Ref: results.CorrectionKey(c.No)})
	}
	return out
}

// FaultsOf returns the approved fault-energy corrections among correction
// records, as energy to add back to the balances they cover.
func FaultsOf(recs []store.Record) []loss.Fault {
	var out []loss.Fault
	for _, c := range results.ApprovedCorrections(recs, results.CorrectFaultEnergy) {
		out = append(out, loss.Fault{Area: c.Area, Meter: c.Meter, From: c.Time, To: c.End, Energy: c.Value,
			Why: "correction " + results.CorrectionKey(c.No) + " by " + c.ProposedBy + ", approved by " + c.DecidedBy + ": " + c.Reason})
	}
	return out
}
