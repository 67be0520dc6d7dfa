// Package fieldops is what metering staff do to meters by hand, beside the
// schedules: read a meter on demand (点抄), find the meters on a bus (read
// address, or a search over an address range), read a meter's clock and
// set it (broadcast time sync within the standard's ±5 minutes, or an
// authorised write), trip and close its supply relay, see the channels,
// concentrators and collection rates, and exchange the archive's meters
// as CSV.
//
// The operations are independent of HTTP and of the command line. [Direct]
// runs them over a master of its own (a serial port or serial server the
// caller opened); [Daemon] runs them through the running collector, each
// as one turn on the meter's half-duplex bus (collector.Collector.Do), so
// that they never interleave with polling. Both have the same methods,
// which api/field serves over HTTP and cmd/headend on the command line.
//
// Every control action (relay command, clock sync or write, archive
// import) is reported to [Options.Audit], with its outcome; passwords are
// never passed to the hook, logged or put in an error.
package fieldops
