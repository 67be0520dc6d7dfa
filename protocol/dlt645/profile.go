package dlt645

import (
	"fmt"
)

// Load-profile record framing (DL/T 645-2007 A.7): A0 A0 (E0 E0 marks a
// bad block), a length byte, the record time YYMMDDhhmm, six data groups
// each ended by AA (an empty group is the AA alone), a checksum over
// everything from the first A0 to the last AA, and E5.
const (
	profileStart    = 0xA0
	profileBadStart = 0xE0
	profileSep      = 0xAA
	profileEnd      = 0xE5
)

// ProfileGroup selects a group of a load-profile record.
type ProfileGroup uint8

// The six load-profile groups, as bits of ProfileRecord.Groups.
const (
	GroupVoltageCurrent ProfileGroup = 1 << iota // Ua Ub Uc, Ia Ib Ic, frequency: 17 bytes
	GroupPower                                   // P total, A, B, C; Q total, A, B, C: 24 bytes
	GroupPowerFactor                             // PF total, A, B, C: 8 bytes
	GroupEnergy                                  // forward active, reverse active, combined reactive 1, 2: 16 bytes
	GroupQuadrant                                // reactive quadrant I..IV: 16 bytes
	GroupDemand                                  // current active and reactive demand: 6 bytes
)

var profileGroupSizes = [6]int{17, 24, 8, 16, 16, 6}

// ProfileRecord is one load-profile record. Only the groups whose bit is
// set in Groups were recorded by the meter.
type ProfileRecord struct {
	Time          DateTime // YYMMDDhhmm
	Bad           bool     // the meter marked the block incorrect (E0 E0)
	Groups        ProfileGroup
	Voltage       [3]Decimal // V, phases A..C
	Current       [3]Decimal // A
	Frequency     Decimal    // Hz
	ActivePower   [4]Decimal // kW: total, A, B, C
	ReactivePower [4]Decimal // kvar
	PowerFactor   [4]Decimal
	Energy        [4]Decimal // kWh/kvarh: forward active, reverse active, combined reactive 1, 2
	Quadrant      [4]Decimal // kvarh: quadrants I..IV
	Demand        [2]Decimal // kW, kvar
	// Absent has bit i set when field i (counting through the groups in
	// order, 0..28) was the "no data" filler rather than a value.
	Absent uint32
}

// groupBase is the flat index of each group's first field.
var groupBase = [6]int{0, 7, 15, 19, 23, 27}

// DecodeProfile reads the load-profile records in the value bytes of a
// 06xxxxxx read reply (one or more records back to back).
func DecodeProfile(data []byte) ([]ProfileRecord, error) {
	var out []ProfileRecord
	for off := 0; off < len(data); {
		rec, n, err := decodeProfileRecord(data[off:])
		if err != nil {
			return out, fmt.Errorf("dlt645: load-profile record %d at data byte %d: %w", len(out)+1, off, err)
		}
		out = append(out, rec)
		off += n
	}
	return out, nil
}

func decodeProfileRecord(b []byte) (ProfileRecord, int, error) {
	var r ProfileRecord
	if len(b) < 3+5+6+2 {
		return r, 0, fmt.Errorf("%w: %d bytes, a record needs at least 16", ErrTruncated, len(b))
	}
	switch {
	case b[0] == profileStart && b[1] == profileStart:
	case b[0] == profileBadStart && b[1] == profileBadStart:
		r.Bad = true
	default:
		return r, 0, fmt.Errorf("%w: record starts %02X %02X, want A0 A0", ErrLayout, b[0], b[1])
	}
	n := int(b[2])
	if n < 5+6 {
		return r, 0, fmt.Errorf("%w: record length %d, at least 11 (time and six separators)", ErrLayout, n)
	}
	total := 3 + n + 2
	if len(b) < total {
		return r, 0, fmt.Errorf("%w: record says %d bytes, have %d", ErrTruncated, n, len(b)-5)
	}
	if b[total-1] != profileEnd {
		return r, 0, fmt.Errorf("%w: record ends %02X, want E5", ErrLayout, b[total-1])
	}
	var cs byte
	for _, x := range b[:total-2] {
		cs += x
	}
	if cs != b[total-2] {
		return r, 0, fmt.Errorf("%w: record sum is %02X, it says %02X", ErrChecksum, cs, b[total-2])
	}
	t, err := decodeDateTime(b[3:8], YYMMDDhhmm)
	if err != nil {
		return r, 0, err
	}
	r.Time = t
	body := b[8 : total-2]
	for g := range 6 {
		size := profileGroupSizes[g]
		if len(body) >= 1 && body[0] == profileSep {
			body = body[1:]
			continue
		}
		if len(body) < size+1 || body[size] != profileSep {
			return r, 0, fmt.Errorf("%w: group %d is neither empty nor %d bytes and AA", ErrLayout, g+1, size)
		}
		if err := r.decodeGroup(g, body[:size]); err != nil {
			return r, 0, fmt.Errorf("group %d: %w", g+1, err)
		}
		r.Groups |= 1 << g
		body = body[size+1:]
	}
	if len(body) != 0 {
		return r, 0, fmt.Errorf("%w: %d bytes after the sixth group", ErrLayout, len(body))
	}
	return r, total, nil
}

// profileLayout lists each group's fields: (target, format).
func (r *ProfileRecord) groupFields(g int) ([]*Decimal, []Format) {
	switch g {
	case 0:
		return []*Decimal{&r.Voltage[0], &r.Voltage[1], &r.Voltage[2], &r.Current[0], &r.Current[1], &r.Current[2], &r.Frequency},
			[]Format{fVoltage, fVoltage, fVoltage, fCurrent, fCurrent, fCurrent, fFrequency}
	case 1:
		return []*Decimal{&r.ActivePower[0], &r.ActivePower[1], &r.ActivePower[2], &r.ActivePower[3], &r.ReactivePower[0], &r.ReactivePower[1], &r.ReactivePower[2], &r.ReactivePower[3]},
			[]Format{fPower, fPower, fPower, fPower, fPower, fPower, fPower, fPower}
	case 2:
		return []*Decimal{&r.PowerFactor[0], &r.PowerFactor[1], &r.PowerFactor[2], &r.PowerFactor[3]}, []Format{fPF, fPF, fPF, fPF}
	case 3:
		return []*Decimal{&r.Energy[0], &r.Energy[1], &r.Energy[2], &r.Energy[3]}, []Format{fEnergy, fEnergy, fEnergySigned, fEnergySigned}
	case 4:
		return []*Decimal{&r.Quadrant[0], &r.Quadrant[1], &r.Quadrant[2], &r.Quadrant[3]}, []Format{fEnergy, fEnergy, fEnergy, fEnergy}
	default:
		return []*Decimal{&r.Demand[0], &r.Demand[1]}, []Format{fPower, fPower}
	}
}

var profileFieldNames = [6][]string{
	{"phase A voltage", "phase B voltage", "phase C voltage", "phase A current", "phase B current", "phase C current", "grid frequency"},
	{"active power total", "phase A active power", "phase B active power", "phase C active power", "reactive power total", "phase A reactive power", "phase B reactive power", "phase C reactive power"},
	{"power factor total", "phase A power factor", "phase B power factor", "phase C power factor"},
	{"forward active energy total", "reverse active energy total", "combined reactive energy 1 total", "combined reactive energy 2 total"},
	{"reactive energy quadrant I total", "reactive energy quadrant II total", "reactive energy quadrant III total", "reactive energy quadrant IV total"},
	{"current active demand", "current reactive demand"},
}

var profileFieldUnits = [6][]string{
	{"V", "V", "V", "A", "A", "A", "Hz"},
	{"kW", "kW", "kW", "kW", "kvar", "kvar", "kvar", "kvar"},
	{"", "", "", ""},
	{"kWh", "kWh", "kvarh", "kvarh"},
	{"kvarh", "kvarh", "kvarh", "kvarh"},
	{"kW", "kvar"},
}

func (r *ProfileRecord) decodeGroup(g int, b []byte) error {
	ptrs, fmts := r.groupFields(g)
	off := 0
	for i, p := range ptrs {
		f := fmts[i]
		chunk := b[off : off+f.Size]
		off += f.Size
		if noData(chunk) {
			*p = Decimal{Scale: f.Decimals}
			r.Absent |= 1 << (groupBase[g] + i)
			continue
		}
		u, err := decodeBCD(chunk, f.Signed)
		if err != nil {
			return err
		}
		*p = Decimal{Units: u, Scale: f.Decimals}
	}
	return nil
}

// AppendProfileRecord appends r's wire form (A0 A0 .. E5) to dst.
func AppendProfileRecord(dst []byte, r *ProfileRecord) ([]byte, error) {
	start := len(dst)
	if r.Bad {
		dst = append(dst, profileBadStart, profileBadStart, 0)
	} else {
		dst = append(dst, profileStart, profileStart, 0)
	}
	dst = appendDateTime(dst, r.Time, YYMMDDhhmm)
	for g := range 6 {
		if r.Groups&(1<<g) != 0 {
			ptrs, fmts := r.groupFields(g)
			for i, p := range ptrs {
				if r.Absent&(1<<(groupBase[g]+i)) != 0 {
					for range fmts[i].Size {
						dst = append(dst, 0xEE)
					}
					continue
				}
				d, ok := p.Rescale(fmts[i].Decimals)
				if !ok {
					return dst[:start], fmt.Errorf("dlt645: load-profile %s %s does not fit %s", profileFieldNames[g][i], p, fmts[i])
				}
				var err error
				if dst, err = appendBCD(dst, d.Units, fmts[i].Size, fmts[i].Signed); err != nil {
					return dst[:start], err
				}
			}
		}
		dst = append(dst, profileSep)
	}
	dst[start+2] = byte(len(dst) - start - 3)
	var cs byte
	for _, x := range dst[start:] {
		cs += x
	}
	return append(dst, cs, profileEnd), nil
}

// decodeProfileValues flattens load-profile records into Values: each
// record's time, then the fields of the groups it has.
func decodeProfileValues(di DI, data []byte, dst []Value) ([]Value, error) {
	recs, err := DecodeProfile(data)
	if err != nil {
		return dst, fmt.Errorf("dlt645: DI %s: %w", di, err)
	}
	for i := range recs {
		r := &recs[i]
		dst = append(dst, Value{DI: di, Name: "record time", Kind: KindTime, Time: r.Time, NoData: r.Bad})
		for g := range 6 {
			if r.Groups&(1<<g) == 0 {
				continue
			}
			ptrs, _ := r.groupFields(g)
			for j, p := range ptrs {
				dst = append(dst, Value{DI: di, Name: profileFieldNames[g][j], Unit: profileFieldUnits[g][j], Kind: KindNumber, Number: *p,
					NoData: r.Absent&(1<<(groupBase[g]+j)) != 0})
			}
		}
	}
	return dst, nil
}
