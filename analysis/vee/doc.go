// Package vee validates, estimates and edits meter reads (VEE): the layer
// between the raw reads that leave the collector ([read.Read]) and the
// values billing and loss analysis may use.
//
// A [Validator] turns reads into [Value]s, each with a [Quality] and the
// [Reason]s for it: gaps in interval and daily series, spikes, register
// decreases and rollovers, zero consumption while current flows, high and
// low daily usage, the sum check between interval energy and the register
// delta, clock errors, duplicates and conflicts, future timestamps and
// implausible instantaneous values. [Estimate] fills the gaps of a
// validated register series by linear interpolation or by the meter's own
// similar-day profile; [Edit] records a person's correction with an
// [Audit] record. Every threshold is in a [Config], dated so that a change
// of settings applies from a given time on.
//
// The raw read is never changed. Every Value names the reads it came from
// ([Value.Sources]) and carries a [Value.Version]: a store keeps every
// version it is given and treats the highest Version of a [Key] as
// current, so that estimates, edits and revisions never erase what was
// there before.
//
// Values are exact: register values, deltas and thresholds are
// [dlt645.Decimal]s, compared and added in integer arithmetic, never in
// binary floating point.
//
// The package does no I/O and keeps no clock: every time comes from the
// reads or from the caller.
package vee
