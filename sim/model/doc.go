// Package model is the physical model of simulated transformer areas (台区)
// for metersim: customers with daily load shapes and rooftop PV, their
// DL/T 645 meters with real registers, and each area's total meter whose
// energy is the customers' true consumption plus technical loss plus theft
// minus PV export. It is the ground truth of a simulation and is fully
// deterministic from a seed: the same [Config] advanced to the same
// simulated times gives identical registers and ground truth.
//
// Time is simulated. [Fleet.AdvanceTo] integrates all meters in fixed
// 15-minute steps (demand and load-profile interval); readers see registers
// at any instant inside the current step, interpolated so that energy is
// continuous and monotonic. [Clock] maps real time to simulated time.
//
// Everything a meter shows is an exact integer in the units of the
// DL/T 645-2007 data formats:
//
//	energy     0.01 kWh / kvarh  (XXXXXX.XX, 8-digit register, rolls over at 999999.99 → 0)
//	power      0.0001 kW         (XX.XXXX)
//	voltage    0.1 V             (XXX.X)
//	current    0.001 A           (XXX.XXX)
//	PF         0.001             (X.XXX)
//	frequency  0.01 Hz           (XX.XX)
//
// Internally energy is integrated in micro-kWh (int64); a register shows
// floor(accumulator / 10 000) modulo 10^8. The total of a register class
// (forward, reverse) is its own accumulator (the sum of the four tariff
// accumulators), so a total and its tariff registers obey
// 0 ≤ total − Σ tariffs ≤ 3 (in 0.01 kWh, modulo rollover).
//
// Registers of a meter with a CT (and PT) are secondary values: primary
// energy = register × CT × PT. Planted faults (theft, stopped meter, reverse
// wiring, register jumps, clock drift, phase loss, cover opening, a meter
// moved to another area) change what the registers show; wire behaviours
// (no answer, delay, corrupt bytes, bad checksum, FE noise, offline) are
// only stored and reported by [Meter.Behaviour] for the wire layer.
//
// The package does no I/O except writing the ground truth as JSON
// ([Fleet.WriteTruth], [Fleet.TruthHandler]).
package model
