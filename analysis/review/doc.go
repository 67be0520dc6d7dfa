// Package review holds the review rules that sit beside VEE and the
// archive checks: what a utility's data review (数据审核) and archive
// inspection look for before anything is billed or assessed.
//
// Review rules ([Review], over a range of days):
//   - a meter exchange whose removal reading is below the old meter's
//     last billed reading;
//   - reads that look estimated rather than taken: a daily consumption
//     repeating exactly for days running, or a week repeating the week
//     before to the 0.01 kWh, and OK reads that carry no reply frame;
//   - per concentrator and per area and day, the actual-read rate and the
//     longest gap between a meter's reads ([Rate]);
//   - customers with zero, fixed or sharply changed consumption, listed
//     per period (day, week or month);
//   - an area whose demand does not fit its transformer: over its
//     capacity, or far under it;
//   - a transformer suspended for longer than allowed.
//
// Archive checks ([CheckArchive], as of a day): a stored multiplier that is not
// CT × PT; meters that answer on a bus (a scan) but are not in the
// archive, or are archived on another bus, and archived meters that do
// not answer; verification, CT verification and rotation due dates with
// alarms 6, 3 and 1 months ahead, overdue and out-of-tolerance devices;
// and every meter exchange on record, as the review rule judges it.
//
// Every rule can be switched off and has a From date ([Config], like
// analysis/vee's), and every [Finding] explains itself: a summary in
// words and the reads, values and archive fields it was decided on, as
// exact decimal strings. The package is pure: it does no I/O and keeps no
// clock; the archive, values, balances, raw reads and scans come from the
// caller (api/review reads them from the stores).
package review
