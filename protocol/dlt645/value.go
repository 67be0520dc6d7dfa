package dlt645

import (
	"fmt"
	"strings"
)

// Kind says how a field's bytes are to be read.
type Kind uint8

// Field kinds.
const (
	KindRaw     Kind = iota // bytes as sent: unknown DIs, passwords, event details
	KindNumber              // packed BCD with an implied decimal point
	KindTime                // a date or time in one of the TimeLayouts
	KindAddress             // a 12-digit meter address
	KindBits                // a status word: bits, shown as hex
	KindASCII               // text, low byte first
	KindProfile             // load-profile record blocks (see DecodeProfile)
)

var kindNames = [...]string{"raw", "number", "time", "address", "bits", "ascii", "profile"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Format is a field's byte layout.
type Format struct {
	Kind     Kind
	Size     int        // bytes on the wire (0 for KindRaw/KindProfile: any)
	Decimals uint8      // digits after the implied point (KindNumber)
	Signed   bool       // top bit of the most significant byte is the sign (KindNumber)
	Time     TimeLayout // KindTime
}

// String writes the format as the standard's tables do: XXXXXX.XX,
// YYMMDDhhmm, NNNNNNNNNNNN, ...
func (f Format) String() string {
	switch f.Kind {
	case KindNumber:
		digits := 2 * f.Size
		s := strings.Repeat("X", digits-int(f.Decimals))
		if f.Decimals > 0 {
			s += "." + strings.Repeat("X", int(f.Decimals))
		}
		if f.Signed {
			s = "±" + s
		}
		return s
	case KindTime:
		return f.Time.String()
	case KindAddress:
		return "NNNNNNNNNNNN"
	case KindBits:
		return strings.Repeat("HH", f.Size) + " (bits)"
	case KindASCII:
		return fmt.Sprintf("ASCII(%d)", f.Size)
	case KindProfile:
		return "load-profile records"
	}
	if f.Size > 0 {
		return fmt.Sprintf("raw(%d)", f.Size)
	}
	return "raw"
}

// Field is one named quantity inside a data identifier's data.
type Field struct {
	Name   string
	Unit   string
	Format Format
}

// Value is one decoded quantity. Only the member its Kind names is set;
// Raw aliases the decoded data. A Value can be reused: decoders overwrite
// every member.
type Value struct {
	DI     DI
	Name   string
	Unit   string
	Kind   Kind
	Number Decimal  // KindNumber
	Time   DateTime // KindTime
	Raw    []byte   // KindRaw, KindBits, KindASCII, KindAddress (wire order)
	// NoData is set when the meter sent the "no data" filler (all EE or
	// all FF) instead of a value; Number and Time are then zero and mean
	// nothing.
	NoData bool
}

// String returns the value as text: a decimal with its scale, an ISO
// date, a 12-digit address, hex bits, the text, or hex bytes; "no data"
// for the filler.
func (v *Value) String() string {
	return string(v.AppendText(nil))
}

// AppendText appends the text form of v to b.
func (v *Value) AppendText(b []byte) []byte {
	if v.NoData {
		return append(b, "no data"...)
	}
	const hex = "0123456789ABCDEF"
	switch v.Kind {
	case KindNumber:
		return v.Number.AppendText(b)
	case KindTime:
		return v.Time.AppendText(b)
	case KindAddress, KindBits:
		for i := len(v.Raw) - 1; i >= 0; i-- {
			b = append(b, hex[v.Raw[i]>>4], hex[v.Raw[i]&0x0F])
		}
		return b
	case KindASCII:
		for i := len(v.Raw) - 1; i >= 0; i-- {
			c := v.Raw[i]
			if c >= 0x20 && c < 0x7F {
				b = append(b, c)
			}
		}
		return b
	}
	for _, x := range v.Raw {
		b = append(b, hex[x>>4], hex[x&0x0F])
	}
	return b
}

// decodeField reads one field of format f from b (exactly f.Size bytes,
// or all of b for KindRaw) into v.
func decodeField(v *Value, fld *Field, di DI, b []byte) error {
	*v = Value{DI: di, Name: fld.Name, Unit: fld.Unit, Kind: fld.Format.Kind}
	f := fld.Format
	switch f.Kind {
	case KindNumber:
		if noData(b) {
			v.NoData = true
			return nil
		}
		u, err := decodeBCD(b, f.Signed)
		if err != nil {
			return err
		}
		v.Number = Decimal{Units: u, Scale: f.Decimals}
	case KindTime:
		if noData(b) {
			v.NoData = true
			return nil
		}
		t, err := decodeDateTime(b, f.Time)
		if err != nil {
			return err
		}
		v.Time = t
	case KindAddress:
		if noData(b) {
			v.NoData = true
			return nil
		}
		for i, x := range b {
			if !isBCDByte(x) && x != 0xAA {
				return fmt.Errorf("%w: address byte %d is %02X", ErrBCD, i, x)
			}
		}
		v.Raw = b
	default:
		v.Raw = b
	}
	return nil
}

// appendField encodes v in format f.
func appendField(dst []byte, f Format, v *Value) ([]byte, error) {
	if v.NoData {
		for range f.Size {
			dst = append(dst, 0xEE)
		}
		return dst, nil
	}
	switch f.Kind {
	case KindNumber:
		d, ok := v.Number.Rescale(f.Decimals)
		if !ok {
			return dst, fmt.Errorf("dlt645: %s %s does not fit %s", v.Name, v.Number, f)
		}
		return appendBCD(dst, d.Units, f.Size, f.Signed)
	case KindTime:
		return appendDateTime(dst, v.Time, f.Time), nil
	}
	if f.Size > 0 && len(v.Raw) != f.Size {
		return dst, fmt.Errorf("dlt645: %s needs %d bytes, have %d", v.Name, f.Size, len(v.Raw))
	}
	return append(dst, v.Raw...), nil
}
