package gdw3761

import "fmt"

// Event record codes (ERC) the head-end acts on. Q/GDW 1376.1-2013 lists
// ERC1..ERC41 (2009: ERC1..ERC35; ERC36..ERC41 are new in 2013).
const (
	ERCInit           = 1  // data initialisation and version change
	ERCParamChange    = 3  // parameter change (e.g. the meter archive F10 rewritten)
	ERCMeterParam     = 8  // meter parameter change (tariff periods, programming, ratio ...)
	ERCCurrentLoop    = 9  // current loop anomaly (short, open, reverse)
	ERCVoltageLoop    = 10 // voltage loop anomaly (phase break, voltage loss)
	ERCMeterClock     = 12 // meter time out of tolerance
	ERCMeterFault     = 13 // meter fault information
	ERCPowerOnOff     = 14 // terminal power off / on
	ERCEnergyDown     = 27 // meter reading went backwards
	ERCUnknownMeter   = 35 // unknown meter found: a meter replaced in the field shows here
	ERCMeterCoverOpen = 37 // meter cover opened (2013)
)

// Event is one event record: ERC, length Le and Le bytes. The fields past
// Data are decoded for the ERCs listed above (Decoded set); for any other
// ERC only ERC and Data are set.
type Event struct {
	ERC  uint8
	Data []byte // the Le bytes, aliasing the frame

	Decoded bool
	Time    DateTime // when it happened (A.15); ERC14: power off
	Pn      uint16   // the measuring point
	// Start is bit D15 of the point field: the event began (true) or
	// ended (false). ERC 9, 10, 12, 13, 27 carry it.
	Start bool
	// Flags is the ERC's flag byte: ERC1 D0 init, D1 version change; ERC3
	// the master address; ERC8 change flags; ERC9/10 anomaly (D7..D6 type,
	// D2..D0 phases C, B, A); ERC13 fault flags.
	Flags      uint8
	End        DateTime // ERC14: power on
	U          [3]Num   // ERC9/10: phase voltages at the event
	I          [3]Num   // ERC9/10: phase currents at the event
	Energy     Num      // ERC9/10: forward active reading at the event
	Before     Num      // ERC27: reading before
	After      Num      // ERC27: reading after
	OldVersion [4]byte  // ERC1
	NewVersion [4]byte  // ERC1
	// Port and Found are ERC35's: the terminal port the search ran on and
	// how many unknown meters it found ([Event.UnknownMeter] reads them).
	Port, Found uint8
}

// unknownBlock is the size of one found meter in ERC35: address A.12,
// phase byte, signal quality byte.
const unknownBlock = 8

// UnknownMeter returns the i-th meter of an ERC35 record (i < Found): its
// address, the phases it was found on (D2..D0: C, B, A) and the signal
// quality byte.
func (e *Event) UnknownMeter(i int) (addr MeterAddress, phases, quality uint8, ok bool) {
	off := 7 + unknownBlock*i
	if e.ERC != ERCUnknownMeter || i < 0 || i >= int(e.Found) || off+unknownBlock > len(e.Data) {
		return addr, 0, 0, false
	}
	b := e.Data[off:]
	return decodeMeterAddress(b), b[6] & 7, b[7], true
}

// VoltageLoss reports an ERC10 voltage loss (失压); PhaseBreak an ERC10
// phase break (断相).
func (e *Event) VoltageLoss() bool { return e.ERC == ERCVoltageLoop && e.Flags>>6 == 2 }
func (e *Event) PhaseBreak() bool  { return e.ERC == ERCVoltageLoop && e.Flags>>6 == 1 }

// ercLen is the smallest Le this package decodes for an ERC.
var ercLen = map[uint8]int{
	ERCInit: 14, ERCParamChange: 6, ERCMeterParam: 8, ERCCurrentLoop: 28, ERCVoltageLoop: 28,
	ERCMeterClock: 7, ERCMeterFault: 8, ERCPowerOnOff: 10, ERCEnergyDown: 17,
	ERCUnknownMeter: 5, ERCMeterCoverOpen: 7,
}

// Decode fills the ERC-specific fields from e.ERC and e.Data (as
// [Events.UnmarshalUnit] does for each record).
func (e *Event) Decode() error {
	min, ok := ercLen[e.ERC]
	if !ok {
		return nil
	}
	b := e.Data
	if len(b) < min {
		return layoutErr("ERC%d is at least %d bytes, Le is %d", e.ERC, min, len(b))
	}
	var err error
	if e.Time, err = A15.Decode(b); err != nil {
		return fmt.Errorf("ERC%d time: %w", e.ERC, err)
	}
	pn := func() {
		v := le16(b[5:])
		e.Pn, e.Start = v&0x0FFF, v&0x8000 != 0
	}
	num := func(f Format, off int, dst *Num) {
		if err == nil {
			*dst, err = f.Decode(b[off:])
		}
	}
	switch e.ERC {
	case ERCInit:
		e.Flags = b[5]
		copy(e.OldVersion[:], b[6:10])
		copy(e.NewVersion[:], b[10:14])
	case ERCParamChange:
		e.Flags = b[5]
	case ERCMeterParam, ERCMeterFault:
		pn()
		e.Flags = b[7]
	case ERCCurrentLoop, ERCVoltageLoop:
		pn()
		e.Flags = b[7]
		for i := range 3 {
			num(A7, 8+2*i, &e.U[i])
			num(A25, 14+3*i, &e.I[i])
		}
		num(A14, 23, &e.Energy)
	case ERCMeterClock, ERCMeterCoverOpen:
		pn()
	case ERCPowerOnOff:
		if e.End, err = A15.Decode(b[5:]); err != nil {
			return fmt.Errorf("ERC14 power-on time: %w", err)
		}
	case ERCEnergyDown:
		pn()
		num(A14, 7, &e.Before)
		num(A14, 12, &e.After)
	case ERCUnknownMeter:
		// the time alone (the C source), or with port, count and blocks
		// (the 2013 text); a count the length does not hold is an error
		if len(b) > 5 {
			if len(b) < 7 || len(b) != 7+unknownBlock*int(b[6]) {
				return layoutErr("ERC35 with %d bytes: want 5, or 7 + 8 per found meter", len(b))
			}
			e.Port, e.Found = b[5], b[6]
		}
	}
	if err != nil {
		return fmt.Errorf("ERC%d: %w", e.ERC, err)
	}
	e.Decoded = true
	return nil
}

// Events is the data of the AFN 0E F1 (important events) and F2 (normal
// events) reply: the terminal's current counters EC1 and EC2, the pointers
// Pm and Pn of the records sent (Pm up to, not including, Pn on a ring of
// 256), and the records.
type Events struct {
	EC1, EC2 uint8
	Pm, Pn   uint8
	Records  []Event // reused
}

// UnmarshalUnit decodes the reply, reusing ev.Records. Records alias b.
func (ev *Events) UnmarshalUnit(b []byte) error {
	if len(b) < 4 {
		return layoutErr("AFN 0E reply needs 4 bytes of counters and pointers, have %d", len(b))
	}
	ev.EC1, ev.EC2, ev.Pm, ev.Pn = b[0], b[1], b[2], b[3]
	ev.Records = ev.Records[:0]
	off := 4
	for i := range recordCount(ev.Pm, ev.Pn) {
		if len(b)-off < 2 || len(b)-off < 2+int(b[off+1]) {
			return layoutErr("event record %d at byte %d runs past the unit", i, off)
		}
		e := Event{ERC: b[off], Data: b[off+2 : off+2+int(b[off+1])]}
		if err := e.Decode(); err != nil {
			return fmt.Errorf("event record %d: %w", i, err)
		}
		ev.Records = append(ev.Records, e)
		off += 2 + len(e.Data)
	}
	if off != len(b) {
		return layoutErr("%d bytes after the last event record", len(b)-off)
	}
	return nil
}

// AppendUnit appends the reply's data; each record's Data is sent as is.
func (ev *Events) AppendUnit(b []byte) ([]byte, error) {
	if len(ev.Records) != recordCount(ev.Pm, ev.Pn) {
		return b, fmt.Errorf("%w: %d records between pointers %d and %d", ErrRange, len(ev.Records), ev.Pm, ev.Pn)
	}
	b = append(b, ev.EC1, ev.EC2, ev.Pm, ev.Pn)
	for _, e := range ev.Records {
		if len(e.Data) > 255 {
			return b, fmt.Errorf("%w: ERC%d record of %d bytes", ErrRange, e.ERC, len(e.Data))
		}
		b = append(b, e.ERC, byte(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b, nil
}

// EventRange is the data of the AFN 0E F1/F2 request: records from
// pointer Pm up to (not including) Pn.
type EventRange struct{ Pm, Pn uint8 }

// UnmarshalUnit decodes the request's 2 bytes.
func (r *EventRange) UnmarshalUnit(b []byte) error {
	if len(b) != 2 {
		return layoutErr("AFN 0E request is 2 bytes (Pm, Pn), have %d", len(b))
	}
	r.Pm, r.Pn = b[0], b[1]
	return nil
}

// AppendUnit appends the request's data.
func (r *EventRange) AppendUnit(b []byte) ([]byte, error) { return append(b, r.Pm, r.Pn), nil }

// Count is how many records the range asks for (0..255, on the ring of 256).
func (r EventRange) Count() int { return recordCount(r.Pm, r.Pn) }
