// Package loss computes line loss per transformer area (台区线损): supply,
// sales, loss and loss rate of an area over a day or a month from the
// register reads of its area meter and its customer meters at the period's
// boundaries, the class of the result (not computable, negative, low,
// qualified, high) with its reasons, and roll-ups ([Summarise]) per
// voltage level, feeder line, area, season and responsible person.
//
// Arithmetic is exact ([dlt645.Decimal]); a result names every read it
// used by its key. The package does no I/O and knows nothing of storage or
// transports.
//
// The balance follows DOMAIN.md section 5:
//
//	supply = Δforward(area meter)×M + Σ Δreverse(customer and PV meters)×M
//	sales  = Σ Δforward(customer and PV meters)×M + Δreverse(area meter)×M
//	loss   = supply − sales
//	rate   = loss / supply × 100 %
//
// where Δ is the register difference between the period's end and start
// (a rollover undone) and M the meter's multiplier CT × PT.
package loss
