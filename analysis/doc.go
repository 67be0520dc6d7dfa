// Package analysis turns stored reads into the figures billing and loss
// analysts use, and stores them: it is where VEE, line loss and the
// anomaly flags meet the store.
//
// One Run takes a window of days (Options.History) ending today from the
// read store: the daily freezes and settlement reads, the clock errors and
// event counters, and a sample of the instantaneous voltages and currents.
// It validates them ([vee.Validator]), estimates what is missing
// ([vee.Estimate]), balances every area for each day ([loss.ComputeAll])
// from the validated values, raises the flags ([anomaly.Detect]) from the
// registers as the meters showed them, ranks suspected thieves, and puts
// the values, balances, flags and rankings of the last Options.Settle days
// into a [store.Results]. A run is idempotent: a figure that did not change
// is not stored again, and one that did (a late read, a backfill, an edit)
// becomes its next version, which the change feed shows as a revision.
//
// Every record names what it came from: a value its raw reads (meter,
// quantity, meter time and receipt time, which find the read and its
// frames in the read store), a balance the values it used, a flag its
// reads and figures.
package analysis
