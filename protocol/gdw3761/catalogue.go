package gdw3761

import "fmt"

// Energy value sizes: A.14 (5 bytes, active) or A.11 (4 bytes, reactive).
func energyFormat(afn AFN, fn uint8) Format {
	switch afn {
	case AFNClass1:
		switch fn {
		case 129, 131, 137, 139:
			return A14
		}
	case AFNClass2:
		switch fn {
		case 161, 163, 169, 171, 177, 179:
			return A14
		}
	}
	return A11
}

// EnergyDate says which date a frozen energy unit carries: 0 (none, the
// current readings of AFN 0C), 3 (td_d, A.20) or 2 (td_m, A.21).
func energyDate(afn AFN, fn uint8) (date TimeFormat, ok bool) {
	switch {
	case afn == AFNClass1 && fn >= 129 && fn <= 144:
		return TimeFormat{}, true
	case afn == AFNClass2 && fn >= 161 && fn <= 176:
		return A20, true
	case afn == AFNClass2 && fn >= 177 && fn <= 184:
		return A21, true
	}
	return TimeFormat{}, false
}

// curveFormat returns the value format of an AFN 0D curve Fn.
func curveFormat(fn uint8) (Format, bool) {
	switch {
	case fn >= 81 && fn <= 88:
		return A9, true // active / reactive power curves
	case fn >= 89 && fn <= 91:
		return A7, true // phase voltage curves
	case fn >= 92 && fn <= 95:
		return A25, true // phase and zero-sequence current curves
	case fn >= 97 && fn <= 100:
		return A13, true // energy quantity curves
	case fn >= 101 && fn <= 104:
		return A11, true // energy reading curves
	case fn >= 105 && fn <= 108:
		return A5, true // power factor curves
	}
	return Format{}, false
}

// requestDate returns the time label an AFN 0D request carries for fn:
// td_d (A.20), td_m (A.21) or td_c (A.15 start, density, count: 7 bytes).
func requestDate(fn uint8) (n int, ok bool) {
	switch {
	case fn >= 1 && fn <= 8, fn >= 25 && fn <= 32, fn >= 161 && fn <= 176, fn >= 185 && fn <= 192:
		return 3, true
	case fn >= 17 && fn <= 24, fn >= 33 && fn <= 39, fn >= 177 && fn <= 184, fn >= 193 && fn <= 196:
		return 2, true
	case fn >= 73 && fn <= 76, fn >= 81 && fn <= 95, fn >= 97 && fn <= 110:
		return 7, true
	}
	return 0, false
}

// UnitLen returns the length of the data of unit (afn, fn) at the start of
// b, sent uplink (by the terminal) or downlink. known is false for a unit
// this package does not know. Lengths that depend on a count in the data
// (archive entries, tariffs, curve points, event records, forwarded bytes)
// are read from b; a count that points past b is an error.
func UnitLen(afn AFN, fn uint8, up bool, b []byte) (n int, known bool, err error) {
	need := func(k int) error {
		if len(b) < k {
			return fmt.Errorf("needs at least %d bytes, %d left", k, len(b))
		}
		return nil
	}
	switch afn {
	case AFNConfirm:
		switch fn {
		case 1, 2:
			return 0, true, nil
		case 3:
			return len(b), true, nil // AFN, then DA DT ERR for each unit: the rest
		}
	case AFNLink:
		if fn >= 1 && fn <= 3 {
			// Login and logout carry nothing; the heartbeat carries nothing
			// or the terminal clock (A.1). The unit is the rest of the data.
			return len(b), true, nil
		}
	case AFNSet:
		if fn == 1 && !up {
			return commParamsLen, true, nil // comm.go
		}
		if fn == 10 && !up {
			if err := need(2); err != nil {
				return 0, true, err
			}
			return 2 + archiveEntryLen*int(le16(b)), true, nil
		}
	case AFNControl:
		if fn == 31 && !up {
			return 6, true, nil
		}
	case AFNQuery:
		if fn == 1 {
			if up {
				return commParamsLen, true, nil
			}
			return 0, true, nil
		}
		if fn == 10 {
			if err := need(2); err != nil {
				return 0, true, err
			}
			if up {
				return 2 + archiveEntryLen*int(le16(b)), true, nil
			}
			return 2 + 2*int(le16(b)), true, nil
		}
	case AFNClass1:
		if !up {
			return 0, true, nil // reads of current data carry nothing
		}
		switch {
		case fn == 2:
			return 6, true, nil
		case fn == 25:
			return instantLen, true, nil
		case fn >= 129 && fn <= 144:
			if err := need(6); err != nil {
				return 0, true, err
			}
			return 6 + energyFormat(afn, fn).Size*(int(b[5])+1), true, nil
		}
	case AFNClass2:
		if !up {
			n, ok := requestDate(fn)
			return n, ok, nil
		}
		if date, ok := energyDate(afn, fn); ok {
			h := date.Size() + 6
			if err := need(h); err != nil {
				return 0, true, err
			}
			return h + energyFormat(afn, fn).Size*(int(b[h-1])+1), true, nil
		}
		if f, ok := curveFormat(fn); ok {
			if err := need(7); err != nil {
				return 0, true, err
			}
			return 7 + f.Size*int(b[6]), true, nil
		}
	case AFNClass3:
		if fn != 1 && fn != 2 {
			break
		}
		if !up {
			return 2, true, nil
		}
		if err := need(4); err != nil {
			return 0, true, err
		}
		n := 4
		for range recordCount(b[2], b[3]) {
			if len(b)-n < 2 {
				return 0, true, fmt.Errorf("event record at byte %d: %d bytes left, ERC and Le need 2", n, len(b)-n)
			}
			n += 2 + int(b[n+1])
		}
		return n, true, nil
	case AFNTransfer:
		if fn != 1 {
			break
		}
		if up {
			if err := need(3); err != nil {
				return 0, true, err
			}
			return 3 + int(le16(b[1:])), true, nil
		}
		if err := need(6); err != nil {
			return 0, true, err
		}
		return 6 + int(le16(b[4:])), true, nil
	}
	return 0, false, nil
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

// recordCount is the number of event records from pointer pm up to (not
// including) pn, on the ring of 256.
func recordCount(pm, pn uint8) int { return int(pn - pm) }
