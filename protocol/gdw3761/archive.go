package gdw3761

import "fmt"

// archiveEntryLen is the length of one AFN 04 / 0A F10 entry.
const archiveEntryLen = 27

// Meter protocol types of the archive (通信协议类型).
const (
	MeterDLT1997  = 1  // DL/T 645-1997
	MeterACSample = 2  // the terminal's own AC sampling
	MeterDLT2007  = 30 // DL/T 645-2007
	MeterPLC      = 31 // serial power-line carrier interface
)

// baudCodes are the rates the 3-bit rate fields stand for (0: the port's
// default).
var baudCodes = [8]int{0, 600, 1200, 2400, 4800, 7200, 9600, 19200}

// BaudCode returns the 3-bit code of a baud rate (0 for 0, the default).
func BaudCode(baud int) (uint8, error) {
	for i, b := range baudCodes {
		if b == baud {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("%w: baud %d, want 0, 600, 1200, 2400, 4800, 7200, 9600 or 19200", ErrRange, baud)
}

// MeterEntry is one entry of a terminal's meter archive (AFN 04 F10,
// 终端电能表/交流采样装置配置参数), the same in 376.1-2009 and 2013.
type MeterEntry struct {
	Serial    uint16       // entry number, 1..2040
	Point     uint16       // measuring point number, 1..2040 (0 deletes the entry)
	Port      uint8        // terminal port 1..31
	Baud      int          // 600 .. 19200, 0 for the port's default
	Protocol  uint8        // MeterDLT1997, MeterDLT2007 ...
	Address   MeterAddress // A.12
	Password  [6]byte
	Tariffs   uint8        // number of tariffs, 0..63
	IntDigits uint8        // integer digits of the energy reading, 4..7
	DecDigits uint8        // decimal digits, 1..4
	Collector MeterAddress // the collector's address, zero if none
	Class     uint8        // user class, 0..15
	Subclass  uint8        // user subclass, 0..15
}

// Archive is the data of AFN 04 F10 and of the AFN 0A F10 reply.
type Archive struct {
	Meters []MeterEntry // reused
}

// UnmarshalUnit decodes an archive, reusing a.Meters.
func (a *Archive) UnmarshalUnit(b []byte) error {
	if len(b) < 2 {
		return layoutErr("F10 needs its 2-byte count")
	}
	n := int(le16(b))
	if len(b) != 2+n*archiveEntryLen {
		return layoutErr("F10 with %d entries is %d bytes, have %d", n, 2+n*archiveEntryLen, len(b))
	}
	a.Meters = a.Meters[:0]
	for i := range n {
		e := b[2+i*archiveEntryLen:]
		m := MeterEntry{
			Serial:    le16(e),
			Point:     le16(e[2:]),
			Port:      e[4] & 0x1F,
			Baud:      baudCodes[e[4]>>5],
			Protocol:  e[5],
			Address:   decodeMeterAddress(e[6:]),
			Tariffs:   e[18] & 0x3F,
			IntDigits: e[19]>>2&3 + 4,
			DecDigits: e[19]&3 + 1,
			Collector: decodeMeterAddress(e[20:]),
			Class:     e[26] >> 4,
			Subclass:  e[26] & 0x0F,
		}
		copy(m.Password[:], e[12:18])
		a.Meters = append(a.Meters, m)
	}
	return nil
}

// AppendUnit appends the archive's data.
func (a *Archive) AppendUnit(b []byte) ([]byte, error) {
	if len(a.Meters) > 2040 {
		return b, fmt.Errorf("%w: %d archive entries, at most 2040", ErrRange, len(a.Meters))
	}
	b = append(b, byte(len(a.Meters)), byte(len(a.Meters)>>8))
	for i, m := range a.Meters {
		code, err := BaudCode(m.Baud)
		bad := func(what string, v any) ([]byte, error) {
			return b, fmt.Errorf("%w: archive entry %d (serial %d): %s %v", ErrRange, i, m.Serial, what, v)
		}
		switch {
		case err != nil:
			return b, fmt.Errorf("archive entry %d (serial %d): %w", i, m.Serial, err)
		case m.Port > 31:
			return bad("port", m.Port)
		case m.Tariffs > 63:
			return bad("tariff count", m.Tariffs)
		case m.IntDigits < 4 || m.IntDigits > 7:
			return bad("integer digits", m.IntDigits)
		case m.DecDigits < 1 || m.DecDigits > 4:
			return bad("decimal digits", m.DecDigits)
		case m.Class > 15 || m.Subclass > 15:
			return bad("user class", fmt.Sprintf("%d/%d", m.Class, m.Subclass))
		}
		b = append(b, byte(m.Serial), byte(m.Serial>>8), byte(m.Point), byte(m.Point>>8), code<<5|m.Port, m.Protocol)
		b = appendMeterAddress(b, m.Address)
		b = append(b, m.Password[:]...)
		b = append(b, m.Tariffs, (m.IntDigits-4)<<2|(m.DecDigits-1))
		b = appendMeterAddress(b, m.Collector)
		b = append(b, m.Class<<4|m.Subclass)
	}
	return b, nil
}

// ArchiveQuery is the data of the AFN 0A F10 request: the entry numbers
// wanted.
type ArchiveQuery struct {
	Serials []uint16
}

// UnmarshalUnit decodes the query, reusing q.Serials.
func (q *ArchiveQuery) UnmarshalUnit(b []byte) error {
	if len(b) < 2 || len(b) != 2+2*int(le16(b)) {
		return layoutErr("AFN 0A F10 query of %d bytes does not match its count", len(b))
	}
	q.Serials = q.Serials[:0]
	for i := range int(le16(b)) {
		q.Serials = append(q.Serials, le16(b[2+2*i:]))
	}
	return nil
}

// AppendUnit appends the query's data.
func (q *ArchiveQuery) AppendUnit(b []byte) ([]byte, error) {
	if len(q.Serials) > 2040 {
		return b, fmt.Errorf("%w: %d entries asked, at most 2040", ErrRange, len(q.Serials))
	}
	b = append(b, byte(len(q.Serials)), byte(len(q.Serials)>>8))
	for _, s := range q.Serials {
		b = append(b, byte(s), byte(s>>8))
	}
	return b, nil
}
