// Package gdw3761 is a codec for the master-station protocol of Chinese
// concentrators and terminals, Q/GDW 1376.1-2013 (376.1), with the frames
// of Q/GDW 376.1-2009 and of its predecessor Q/GDW 130-2005 (protocol
// identifier 1) decoded too. Like protocol/dlt645 it does no I/O of its
// own except [Reader], which frames a byte stream.
//
// A frame on the wire is
//
//	68 L L 68 C A1 A1 A2 A2 A3 AFN SEQ {DA1 DA2 DT1 DT2 data}… [EC] [PW] [Tp] CS 16
//
// with L = length << 2 | protocol (twice, low byte first), the length
// counting C through the last auxiliary byte, and CS their sum modulo 256.
// [Frame] is that envelope (control field [Control], address [Address],
// [Seq], auxiliary fields [EC], PW and [Tp]); [Frame.Units] expands its
// data units into (Pn, Fn) pairs with their data; the types [Instant],
// [Energy], [Curve], [Archive], [ArchiveQuery], [Events], [Acks],
// [ForwardRequest] and [ForwardReply] decode (UnmarshalUnit) and encode (AppendUnit) the
// units the head-end uses; the request builders ([ReadDaily], [Forward],
// [Confirm] ...) make the frames a master station sends. Numbers are exact
// [Decimal]s (shared with protocol/dlt645), never binary floating point;
// the EE filler is a [Num] with Missing set, never 0.
//
// # Sources and editions
//
// The layouts follow the text of Q/GDW 1376.1-2013 as the field knows it,
// checked against a public C implementation of the 2013 edition written at
// the State Grid research institute (github.com/xiangruipuzhao/3761,
// qgdw_3761_api.h/.c), which this package does not copy. From that source:
// the PW set (downlink AFN 01, 04, 05, 0F, 10 and AFN 06 both ways; see
// [HasPW]); the order of the data inside one DA/DT (all Fn of p(i), in
// ascending order, before p(i+1)); AFN 0C F25 (67 bytes: A.15, 8 × A.9, 4 ×
// A.5, 3 × A.7, 4 × A.25, 4 × A.9); the curves' td_c (A.15 start, density,
// count) with F89..F91 voltage curves in A.7 and F101..F104 energy reading
// curves in A.11 (F97..F100, the energy quantity curves, in A.13); the ERC
// layouts of ERC 1, 8, 9, 10, 12, 13, 14 and 27. The archive entry of F10
// (27 bytes) is the same in both sources.
//
// Where 2009, 2013 and 130-2005 differ, the codec accepts all of them:
//   - the heartbeat (AFN 02 F3) has no data in the C source and in 2009;
//     terminals to the 2013 text (and several provincial variants) send the
//     terminal clock in A.1. Both decode; [Link] sends the clock when given.
//   - PW is 16 bytes in 376.1 (2009 and 2013) and 2 bytes in 130-2005
//     ([PWLen]; the 130-2005 length is from the text as remembered, not
//     checked against a source here); AFN 0F and 06 carry it only in 2013.
//   - ERC36..ERC41 exist only in 2013. ERC37 (meter cover opened) is
//     decoded up to its point number only: the C source stops at ERC35 and
//     the rest of its layout is not confirmed here; Event.Data keeps it.
//   - No ERC of either edition says "meter replaced". A meter swapped in
//     the field shows first as ERC35 (unknown meter found: the terminal's
//     meter search finds an address its archive does not hold), later, once
//     the archive follows, as ERC3 (parameter change, F10). The head-end
//     takes ERC35 as the replacement event. The C source decodes ERC35's
//     time only (Le 5, which decodes); the port, the count n and n blocks
//     of 8 bytes (address A.12, phases D2..D0, signal quality) follow the
//     2013 text as remembered, not checked against a source here.
//   - 130-2005 frames decode at the link layer (header, C, A, SEQ, DA/DT,
//     auxiliary fields); its data units differ from 376.1 in places and
//     are decoded with the 376.1 catalogue, which is right for the units
//     above except the archive (F10), whose 130-2005 layout is not read.
//
// Multi-frame replies number their frames from the request's PSEQ up by
// one modulo 16 ([Assembler]); that rule is from the standard's text.
//
// The function codes of requests (0x4A for settings and control, 0x4B for
// reads) follow common master-station practice; decoders accept any.
package gdw3761
