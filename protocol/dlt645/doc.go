// Package dlt645 is a codec for the DL/T 645 meter protocol, editions 2007
// and 1997: frames, addresses, function codes, data identifiers and the
// values they carry. It does no I/O of its own: transports hand it bytes
// (or an io.Reader) and get frames back, and hand it frames to get bytes.
//
// A frame on the wire is
//
//	[FE..] 68 A0..A5 68 C L D0..D(L-1) CS 16
//
// with the address least significant byte first, the data field offset by
// 33H, and CS the sum modulo 256 of the bytes from the first 68 to the last
// data byte. [Frame] is that envelope; [Edition.Decode] turns a frame into a
// [Message] (what was asked or answered); a [Registry] turns the data bytes
// of a read reply into [Value]s with names, units and exact decimals.
//
// Values never pass through binary floating point: a number is a [Decimal]
// (a scaled integer), so 999999.99 kWh stays 999999.99 kWh. The "no data"
// filler (all EE or all FF) decodes to a Value with NoData set, never to 0.
package dlt645
