// Package anomaly raises flags on meters and transformer areas from daily
// balances ([loss.Result]) and instantaneous reads: a stopped meter,
// reverse energy on a consumer meter, a register going back or jumping, a
// drifting clock, phase loss, voltage out of range, current imbalance, an
// opened cover, a meter that stopped answering, an area whose loss class
// changed, a meter moved in the field but not in the archive, and
// suspected theft, with a ranking of an area's customers by how well their
// drop in registered consumption explains the rise of the area's loss.
//
// Every flag names its kind, its meter or area, the day it starts, the
// reads and figures that raised it (with their keys) and a confidence in
// [0, 1]. Thresholds are configuration ([Config]) with defaults. Rules fire
// strictly beyond a threshold; counts of days and reads fire at N.
//
// The package does no I/O and knows nothing of storage or transports.
package anomaly
