package dlt645

import (
	"fmt"
	"slices"
)

// Spec describes a data identifier: its name and the layout of its data.
// A plain DI has Fields, decoded in order. A block DI (one with an FF
// byte, or a record such as a freeze's total and tariffs) has Members:
// the data is the members one after another, as many as the meter sent.
type Spec struct {
	DI      DI
	Name    string
	Fields  []Field
	Members []*Spec
}

// Size returns the data length of one instance of s: the sum of its
// fields, or for a block the size of one member (0: variable).
func (s *Spec) Size() int {
	if len(s.Members) > 0 {
		return s.Members[0].Size()
	}
	n := 0
	for _, f := range s.Fields {
		if f.Format.Size == 0 {
			return 0
		}
		n += f.Format.Size
	}
	return n
}

// Registry is an edition's table of data identifiers.
type Registry struct {
	edition Edition
	specs   map[DI]*Spec
}

func newRegistry(ed Edition) *Registry { return &Registry{edition: ed, specs: map[DI]*Spec{}} }

func (r *Registry) add(s *Spec) *Spec {
	if _, dup := r.specs[s.DI]; dup {
		panic(fmt.Sprintf("dlt645: DI %s registered twice", s.DI.Format(r.edition)))
	}
	r.specs[s.DI] = s
	return s
}

// Registry returns the edition's data identifier table.
func (e Edition) Registry() *Registry {
	if e == DLT1997 {
		return registry1997
	}
	return registry2007
}

// Lookup returns the Spec of di.
func (r *Registry) Lookup(di DI) (*Spec, bool) {
	s, ok := r.specs[di]
	return s, ok
}

// Specs returns every Spec, by DI.
func (r *Registry) Specs() []*Spec {
	out := make([]*Spec, 0, len(r.specs))
	for _, s := range r.specs {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Spec) int { return int(int64(a.DI) - int64(b.DI)) })
	return out
}

// Decode appends the values in data, the value bytes of a read reply for
// di, to dst and returns it. An unknown DI decodes to one KindRaw value,
// not an error. Decoding into a dst with room does not allocate; the
// values' Raw fields alias data.
func (r *Registry) Decode(di DI, data []byte, dst []Value) ([]Value, error) {
	s, ok := r.specs[di]
	if !ok {
		return append(dst, Value{DI: di, Name: "unknown data identifier", Kind: KindRaw, Raw: data}), nil
	}
	return s.Decode(data, dst)
}

// Decode appends the values of data to dst.
func (s *Spec) Decode(data []byte, dst []Value) ([]Value, error) {
	if len(s.Members) > 0 {
		unit := s.Members[0].Size()
		if unit == 0 || len(data)%unit != 0 || len(data)/unit > len(s.Members) || len(data) == 0 {
			return dst, fmt.Errorf("dlt645: DI %s (%s): %d bytes is not 1 to %d members of %d bytes", s.DI, s.Name, len(data), len(s.Members), unit)
		}
		for i := 0; i*unit < len(data); i++ {
			var err error
			dst, err = s.Members[i].Decode(data[i*unit:(i+1)*unit], dst)
			if err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	if len(s.Fields) == 1 && s.Fields[0].Format.Kind == KindProfile {
		return decodeProfileValues(s.DI, data, dst)
	}
	if size := s.Size(); size > 0 && len(data) != size {
		return dst, fmt.Errorf("dlt645: DI %s (%s) wants %d bytes, have %d", s.DI, s.Name, size, len(data))
	}
	off := 0
	for i := range s.Fields {
		f := &s.Fields[i]
		n := f.Format.Size
		if n == 0 {
			n = len(data) - off
		}
		dst = append(dst, Value{})
		if err := decodeField(&dst[len(dst)-1], f, s.DI, data[off:off+n]); err != nil {
			return dst[:len(dst)-1], fmt.Errorf("dlt645: DI %s (%s) %s: %w", s.DI, s.Name, f.Name, err)
		}
		off += n
	}
	return dst, nil
}

// Encode appends the wire bytes of vals, in the order Decode returns them,
// to dst. It is how a meter (or the simulator) builds a read reply.
func (s *Spec) Encode(dst []byte, vals []Value) ([]byte, error) {
	if len(s.Members) > 0 {
		per := len(s.Members[0].Fields)
		if per == 0 || len(vals)%per != 0 || len(vals)/per > len(s.Members) {
			return dst, fmt.Errorf("dlt645: DI %s: %d values do not fill whole members", s.DI, len(vals))
		}
		for i := 0; i*per < len(vals); i++ {
			var err error
			if dst, err = s.Members[i].Encode(dst, vals[i*per:(i+1)*per]); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	if len(vals) != len(s.Fields) {
		return dst, fmt.Errorf("dlt645: DI %s (%s) has %d fields, given %d values", s.DI, s.Name, len(s.Fields), len(vals))
	}
	for i := range s.Fields {
		var err error
		if dst, err = appendField(dst, s.Fields[i].Format, &vals[i]); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// Number returns a Value holding d for a numeric field, as Encode wants.
func Number(d Decimal) Value { return Value{Kind: KindNumber, Number: d} }

// TimeValue returns a Value holding t, as Encode wants.
func TimeValue(t DateTime) Value { return Value{Kind: KindTime, Time: t} }

// RawValue returns a Value holding wire bytes, as Encode wants.
func RawValue(b []byte) Value { return Value{Kind: KindRaw, Raw: b} }

// NoDataValue is the "no data" filler, as Encode wants.
func NoDataValue() Value { return Value{NoData: true} }
