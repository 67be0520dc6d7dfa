// Package terminal is the master-station side of Q/GDW 1376.1 for
// concentrators and terminals (集中器, 专变终端) that dial in over TCP.
//
// A [Listener] accepts their connections: the first frame must be a login
// (AFN 02 F1) from a terminal the archive knows, else the connection is
// refused (AFN 00 F2) and counted. Login, heartbeat (F3) and logout (F2)
// are confirmed with AFN 00 F1; a second login of the same terminal
// replaces the first connection; a terminal silent for more than
// Config.Missed heartbeat intervals is offline and its connection closed.
//
// Each terminal has one [Session], found by [Listener.Terminal] under the
// codec's address string ("4401 0001"), which outlives its connections.
// [Session.Exchange] sends one request at a time, numbering it (PSEQ), and
// returns the reply's frames (RSEQ from PSEQ up, FIR..FIN reassembled);
// uplink frames that are not replies (heartbeats, events the terminal
// reports itself) are handled beside it. Corrupt frames are counted and
// skipped by the codec's Reader, never costing the good one behind.
//
// [Link] carries DL/T 645 frames through a session by AFN 10 F1, so that
// the collector's 645 master polls meters behind a terminal unchanged;
// [ReadDaily], [ReadMonthly] and [ReadCurrent] read the terminal's own
// data (AFN 0D, 0C) for many points per request, as meter.Reads named as
// the 645 reads of the same registers.
//
// [Events] reads a terminal's event logs (AFN 0E F1/F2) when the
// counters EC of its frames move past the pointer kept in the
// collector's state file, and takes the records it reports by itself;
// each record becomes a meter.Read of class event that keeps its frames.
package terminal
