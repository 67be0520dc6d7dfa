package gdw3761

import "fmt"

// AllPoints is the Pn that DA1 = FF, DA2 = 00 stands for: every valid
// measuring point of the terminal.
const AllPoints = 0xFFFF

// Unit is one (Pn, Fn) data unit of a frame: the measuring point (0 for
// p0, the terminal itself), the information class, and its data.
type Unit struct {
	Pn     uint16
	Fn     uint8
	Data   []byte // aliases Frame.Data
	Offset int    // offset of Data in Frame.Data
	// Unknown is set when the codec does not know the unit's length: Data
	// then holds the rest of the frame's data, undecoded, and no unit
	// follows it.
	Unknown bool
}

// DADT is the 4-byte data unit identifier: DA1 (a bitmap of 8 points), DA2
// (their group, 1..255; 0 with DA1 = 0 for p0), DT1 (a bitmap of 8 Fn) and
// DT2 (their group, 0..30).
type DADT [4]byte

// MakeDADT returns the identifier of the points pns and classes fns, which
// must each lie in one group.
func MakeDADT(pns []uint16, fns []uint8) (DADT, error) {
	var d DADT
	if len(pns) == 0 || len(fns) == 0 {
		return d, fmt.Errorf("%w: a data unit needs a point and an Fn", ErrRange)
	}
	for i, pn := range pns {
		var g, bit byte
		switch pn {
		case 0:
		case AllPoints:
			g, bit = 0, 0xFF
		default:
			if pn > 2040 {
				return d, fmt.Errorf("%w: point p%d, at most 2040", ErrRange, pn)
			}
			g, bit = byte((pn-1)/8+1), 1<<((pn-1)%8)
		}
		if i > 0 && g != d[1] {
			return d, fmt.Errorf("%w: points p%d and p%d are in different groups", ErrRange, pns[0], pn)
		}
		d[0] |= bit
		d[1] = g
	}
	for i, fn := range fns {
		if fn == 0 || fn > 248 {
			return d, fmt.Errorf("%w: F%d, want 1..248", ErrRange, fn)
		}
		g := (fn - 1) / 8
		if i > 0 && g != d[3] {
			return d, fmt.Errorf("%w: F%d and F%d are in different groups", ErrRange, fns[0], fn)
		}
		d[2] |= 1 << ((fn - 1) % 8)
		d[3] = g
	}
	return d, nil
}

// Points appends the points of the identifier to dst, in ascending order.
func (d DADT) Points(dst []uint16) ([]uint16, error) {
	switch {
	case d[0] == 0 && d[1] == 0:
		return append(dst, 0), nil
	case d[0] == 0xFF && d[1] == 0:
		return append(dst, AllPoints), nil
	case d[1] == 0:
		return dst, layoutErr("DA1 %02X with DA2 00 (only 00 for p0 or FF for all points)", d[0])
	case d[0] == 0:
		return dst, layoutErr("DA1 00 with DA2 %02X names no point", d[1])
	}
	for bit := range 8 {
		if d[0]&(1<<bit) != 0 {
			dst = append(dst, uint16(d[1]-1)*8+uint16(bit)+1)
		}
	}
	return dst, nil
}

// Fns appends the classes of the identifier to dst, in ascending order.
func (d DADT) Fns(dst []uint8) ([]uint8, error) {
	if d[3] > 30 {
		return dst, layoutErr("DT2 is %d, at most 30", d[3])
	}
	if d[2] == 0 {
		return dst, layoutErr("DT1 00 names no Fn")
	}
	for bit := range 8 {
		if d[2]&(1<<bit) != 0 {
			dst = append(dst, d[3]*8+uint8(bit)+1)
		}
	}
	return dst, nil
}

func (d DADT) String() string { return fmt.Sprintf("%02X %02X %02X %02X", d[0], d[1], d[2], d[3]) }

// Units expands the frame's data units into (Pn, Fn) pairs appended to
// dst, with each pair's data. Inside one identifier the data come point by
// point in ascending order and, for each point, Fn by Fn in ascending
// order (the rule of 376.1 §5.1.3.5: all Fn of p(i) before p(i+1)).
// Decoding into a reused dst does not allocate.
//
// The length of each unit's data comes from the catalogue of units this
// package knows ([UnitLen]); at the first unit it does not know, the rest
// of the data is returned raw as one Unit with Unknown set.
func (f *Frame) Units(dst []Unit) ([]Unit, error) {
	b := f.Data
	up := f.Control.Up()
	off := 0
	for off < len(b) {
		if len(b)-off < 4 {
			return dst, &UnitError{AFN: f.AFN, Offset: off, Err: ErrLayout, Detail: fmt.Sprintf("%d bytes left, a DA DT needs 4", len(b)-off)}
		}
		d := DADT(b[off : off+4])
		off += 4
		var pbuf [8]uint16
		var fbuf [8]uint8
		pns, err := d.Points(pbuf[:0])
		if err == nil {
			_, err = d.Fns(fbuf[:0])
		}
		if err != nil {
			return dst, &UnitError{AFN: f.AFN, Offset: off - 4, Err: ErrLayout, Detail: fmt.Sprintf("DA DT %s: %v", d, err)}
		}
		fns, _ := d.Fns(fbuf[:0])
		for _, pn := range pns {
			for _, fn := range fns {
				n, known, err := UnitLen(f.AFN, fn, up, b[off:])
				if err != nil {
					return dst, &UnitError{AFN: f.AFN, Pn: pn, Fn: fn, Offset: off, Err: ErrLayout, Detail: err.Error()}
				}
				if !known {
					return append(dst, Unit{Pn: pn, Fn: fn, Data: b[off:], Offset: off, Unknown: true}), nil
				}
				if n > len(b)-off {
					return dst, &UnitError{AFN: f.AFN, Pn: pn, Fn: fn, Offset: off, Err: ErrLayout, Detail: fmt.Sprintf("needs %d bytes, %d left", n, len(b)-off)}
				}
				dst = append(dst, Unit{Pn: pn, Fn: fn, Data: b[off : off+n : off+n], Offset: off})
				off += n
			}
		}
	}
	return dst, nil
}

// AppendUnits appends data units for every point of pns and every class
// of fns to b, each pair carrying the same data (nil for a plain read, a
// td_d date for a daily freeze...). Points and classes are grouped into as
// few identifiers as their groups allow, in the order of first appearance.
func AppendUnits(b []byte, pns []uint16, fns []uint8, data []byte) ([]byte, error) {
	if len(pns) == 0 || len(fns) == 0 {
		return b, fmt.Errorf("%w: no points or no Fn", ErrRange)
	}
	var pg [8]uint16
	var fg [8]uint8
	for i, p := range pns {
		if seenGroup(pns[:i], p, pnGroup) {
			continue
		}
		pgs := pg[:0]
		for _, q := range pns[i:] {
			if pnGroup(q) == pnGroup(p) && !contains(pgs, q) {
				pgs = append(pgs, q)
			}
		}
		for j, fn := range fns {
			if seenGroup(fns[:j], fn, fnGroup) {
				continue
			}
			fgs := fg[:0]
			for _, g := range fns[j:] {
				if fnGroup(g) == fnGroup(fn) && !contains(fgs, g) {
					fgs = append(fgs, g)
				}
			}
			d, err := MakeDADT(pgs, fgs)
			if err != nil {
				return b, err
			}
			b = append(b, d[:]...)
			n := popcount(d[0])
			if d[0] == 0 || d[0] == 0xFF && d[1] == 0 {
				n = 1
			}
			for range n * popcount(d[2]) {
				b = append(b, data...)
			}
		}
	}
	return b, nil
}

func pnGroup(p uint16) int {
	switch p {
	case 0:
		return -1
	case AllPoints:
		return -2
	}
	return int(p-1) / 8
}

func fnGroup(f uint8) int { return int(f-1) / 8 }

func seenGroup[T comparable](prev []T, x T, group func(T) int) bool {
	for _, p := range prev {
		if group(p) == group(x) {
			return true
		}
	}
	return false
}

func contains[T comparable](s []T, x T) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func popcount(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}
