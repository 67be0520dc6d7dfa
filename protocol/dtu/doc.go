// Package dtu is the registration and heartbeat packets of a dial-in
// concentrator (GPRS DTU style): a concentrator that connects to the
// head-end as a TCP client says who it is, keeps the connection alive, and
// then carries DL/T 645 frames on the same connection.
//
// # Format
//
// A packet is one line of ASCII:
//
//	REG <id>\r\n   registration, sent once, first, on every new connection
//	HB <id>\r\n    heartbeat, sent every interval while connected
//
// The keyword is upper case and followed by exactly one space (20H). The id
// is 1 to [MaxIDLen] characters from [0-9A-Z_-]. The line ends with CR LF
// (0D 0A); nothing else may come between the id and CR LF. The longest
// packet is [MaxPacketLen] bytes.
//
// No byte of a packet is 68H (the DL/T 645 frame start; lower-case h is not
// allowed in an id), so a packet can never be taken for the start of a
// frame, and a frame receiver that meets one skips it as line noise.
//
// # Receiving
//
// [Parse] looks at the bytes at the current position of a stream and says
// whether a packet is there, whether it needs more bytes to tell, or what is
// wrong with it. [Scanner] uses Parse and the DL/T 645 framing to split a
// concentrator's stream into packets and frames, skipping noise; a packet
// is only looked for outside frames, so data bytes that happen to spell
// "HB " inside a frame are never taken for one.
package dtu
