package gdw3761

import "fmt"

// instantLen is the length of AFN 0C F25: A.15, 8 × A.9, 4 × A.5,
// 3 × A.7, 4 × A.25, 4 × A.9.
const instantLen = 5 + 8*3 + 4*2 + 3*2 + 4*3 + 4*3

// Instant is AFN 0C F25, a point's current three-phase and total active
// and reactive power, power factor, voltage, current, zero-sequence
// current and apparent power. Index 0 of the 4-arrays is the total, 1..3
// phases A, B, C; of the 3-arrays 0..2 are phases A, B, C.
type Instant struct {
	ReadTime DateTime // A.15: when the terminal read the meter
	P        [4]Num   // active power, kW, A.9
	Q        [4]Num   // reactive power, kvar, A.9
	PF       [4]Num   // power factor, %, A.5
	U        [3]Num   // voltage, V, A.7
	I        [3]Num   // current, A, A.25
	I0       Num      // zero-sequence current, A, A.25
	S        [4]Num   // apparent power, kVA, A.9
}

type numField struct {
	f Format
	v *Num
}

func (v *Instant) fields(buf *[23]numField) []numField {
	s := buf[:0]
	for i := range v.P {
		s = append(s, numField{A9, &v.P[i]})
	}
	for i := range v.Q {
		s = append(s, numField{A9, &v.Q[i]})
	}
	for i := range v.PF {
		s = append(s, numField{A5, &v.PF[i]})
	}
	for i := range v.U {
		s = append(s, numField{A7, &v.U[i]})
	}
	for i := range v.I {
		s = append(s, numField{A25, &v.I[i]})
	}
	s = append(s, numField{A25, &v.I0})
	for i := range v.S {
		s = append(s, numField{A9, &v.S[i]})
	}
	return s
}

// UnmarshalUnit decodes the data of AFN 0C F25.
func (v *Instant) UnmarshalUnit(b []byte) error {
	if len(b) != instantLen {
		return layoutErr("AFN 0C F25 is %d bytes, have %d", instantLen, len(b))
	}
	t, err := A15.Decode(b)
	if err != nil {
		return fmt.Errorf("F25 reading time: %w", err)
	}
	v.ReadTime = t
	off := 5
	var buf [23]numField
	for _, fl := range v.fields(&buf) {
		n, err := fl.f.Decode(b[off:])
		if err != nil {
			return fmt.Errorf("F25 byte %d: %w", off, err)
		}
		*fl.v = n
		off += fl.f.Size
	}
	return nil
}

// AppendUnit appends the data of AFN 0C F25.
func (v *Instant) AppendUnit(b []byte) ([]byte, error) {
	b, err := A15.Append(b, v.ReadTime)
	if err != nil {
		return b, err
	}
	var buf [23]numField
	for _, fl := range v.fields(&buf) {
		if b, err = fl.f.Append(b, *fl.v); err != nil {
			return b, err
		}
	}
	return b, nil
}

// Energy is an energy reading with tariffs: the current readings of AFN
// 0C F129..F144 (forward active F129, reverse active F131, reactive and
// quadrant readings in A.11) and the frozen readings of AFN 0D F161..F176
// (daily, td_d) and F177..F184 (monthly, td_m).
type Energy struct {
	Date     DateTime // td_d (A.20) or td_m (A.21); zero for AFN 0C
	ReadTime DateTime // A.15: when the terminal read the meter
	Total    Num      // kWh (A.14) or kvarh (A.11)
	Tariffs  []Num    // tariffs 1..M; reused
}

// UnmarshalUnit decodes the data of an energy unit of afn and fn, reusing
// e.Tariffs.
func (e *Energy) UnmarshalUnit(afn AFN, fn uint8, b []byte) error {
	date, ok := energyDate(afn, fn)
	if !ok {
		return fmt.Errorf("%w: %v F%d is not an energy reading", ErrUnknown, afn, fn)
	}
	f := energyFormat(afn, fn)
	h := date.Size()
	if len(b) < h+6 {
		return layoutErr("F%d needs %d bytes before the values, have %d", fn, h+6, len(b))
	}
	var err error
	e.Date = DateTime{}
	if h > 0 {
		if e.Date, err = date.Decode(b); err != nil {
			return fmt.Errorf("F%d date: %w", fn, err)
		}
	}
	if e.ReadTime, err = A15.Decode(b[h:]); err != nil {
		return fmt.Errorf("F%d reading time: %w", fn, err)
	}
	m := int(b[h+5])
	if len(b) != h+6+f.Size*(m+1) {
		return layoutErr("F%d with %d tariffs is %d bytes, have %d", fn, m, h+6+f.Size*(m+1), len(b))
	}
	off := h + 6
	if e.Total, err = f.Decode(b[off:]); err != nil {
		return fmt.Errorf("F%d total: %w", fn, err)
	}
	e.Tariffs = e.Tariffs[:0]
	for i := range m {
		off += f.Size
		n, err := f.Decode(b[off:])
		if err != nil {
			return fmt.Errorf("F%d tariff %d: %w", fn, i+1, err)
		}
		e.Tariffs = append(e.Tariffs, n)
	}
	return nil
}

// AppendUnit appends the data of energy unit (afn, fn).
func (e *Energy) AppendUnit(b []byte, afn AFN, fn uint8) ([]byte, error) {
	date, ok := energyDate(afn, fn)
	if !ok {
		return b, fmt.Errorf("%w: %v F%d is not an energy reading", ErrUnknown, afn, fn)
	}
	if len(e.Tariffs) > 255 {
		return b, fmt.Errorf("%w: %d tariffs", ErrRange, len(e.Tariffs))
	}
	var err error
	if date.Size() > 0 {
		if b, err = date.Append(b, e.Date); err != nil {
			return b, err
		}
	}
	if b, err = A15.Append(b, e.ReadTime); err != nil {
		return b, err
	}
	b = append(b, byte(len(e.Tariffs)))
	f := energyFormat(afn, fn)
	if b, err = f.Append(b, e.Total); err != nil {
		return b, err
	}
	for _, t := range e.Tariffs {
		if b, err = f.Append(b, t); err != nil {
			return b, err
		}
	}
	return b, nil
}

// Density is the freeze density m of a curve's td_c.
type Density uint8

// Minutes returns the interval between curve points; 0 for "no freeze"
// or an unknown density.
func (d Density) Minutes() int {
	switch d {
	case 1:
		return 15
	case 2:
		return 30
	case 3:
		return 60
	case 254:
		return 5
	case 255:
		return 1
	}
	return 0
}

// Curve is an AFN 0D curve (F81..F108): the td_c time label (start time,
// density, point count) and the points. F101 is the forward active energy
// reading curve (A.11), F89..F91 the phase A, B, C voltage curves (A.7).
type Curve struct {
	Start   DateTime // A.15
	Density Density
	Values  []Num // reused
}

// UnmarshalUnit decodes the data of AFN 0D curve fn, reusing c.Values.
func (c *Curve) UnmarshalUnit(fn uint8, b []byte) error {
	f, ok := curveFormat(fn)
	if !ok {
		return fmt.Errorf("%w: AFN 0D F%d is not a curve", ErrUnknown, fn)
	}
	if len(b) < 7 {
		return layoutErr("curve td_c needs 7 bytes, have %d", len(b))
	}
	var err error
	if c.Start, err = A15.Decode(b); err != nil {
		return fmt.Errorf("F%d start time: %w", fn, err)
	}
	c.Density = Density(b[5])
	n := int(b[6])
	if len(b) != 7+n*f.Size {
		return layoutErr("F%d with %d points is %d bytes, have %d", fn, n, 7+n*f.Size, len(b))
	}
	c.Values = c.Values[:0]
	for i := range n {
		v, err := f.Decode(b[7+i*f.Size:])
		if err != nil {
			return fmt.Errorf("F%d point %d: %w", fn, i, err)
		}
		c.Values = append(c.Values, v)
	}
	return nil
}

// AppendUnit appends the data of AFN 0D curve fn.
func (c *Curve) AppendUnit(b []byte, fn uint8) ([]byte, error) {
	f, ok := curveFormat(fn)
	if !ok {
		return b, fmt.Errorf("%w: AFN 0D F%d is not a curve", ErrUnknown, fn)
	}
	if len(c.Values) > 255 {
		return b, fmt.Errorf("%w: %d curve points, at most 255", ErrRange, len(c.Values))
	}
	b, err := appendTdc(b, c.Start, c.Density, len(c.Values))
	if err != nil {
		return b, err
	}
	for _, v := range c.Values {
		if b, err = f.Append(b, v); err != nil {
			return b, err
		}
	}
	return b, nil
}

func appendTdc(b []byte, start DateTime, d Density, n int) ([]byte, error) {
	b, err := A15.Append(b, start)
	return append(b, byte(d), byte(n)), err
}
