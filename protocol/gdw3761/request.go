package gdw3761

import "fmt"

// The requests a master station sends. Each returns a downlink frame of
// protocol 2 from master address 0 to terminal a, numbered pseq (0..15),
// a single frame; set Address.Master, Seq (TpV, CON), Tp or PW on the
// result as needed before encoding. The function codes follow common
// practice (the terminal does not check them against the AFN): 0x4A
// "class 1" for settings and control, 0x4B "class 2" for reads, and for
// confirms PRM 0 with function 11 (link status) to a link test, 0 else.

func request(a Address, afn AFN, fn uint8, pseq uint8, con bool) Frame {
	return Frame{Protocol: GDW3761, Control: MakeControl(false, true, false, false, fn), Address: a, AFN: afn, Seq: Single(pseq, con)}
}

// Confirm returns the AFN 00 F1 "confirm all" answer to the uplink frame
// f: to a login, logout or heartbeat (AFN 02) it is the link-status
// answer the terminal waits for. The answer carries f's sequence number.
func Confirm(f *Frame) Frame {
	fn := uint8(FuncConfirm)
	if f.AFN == AFNLink {
		fn = FuncLinkStatus
	}
	r := Frame{Protocol: f.Protocol, Control: MakeControl(false, false, false, false, fn), Address: f.Address, AFN: AFNConfirm, Seq: Single(f.Seq.Num(), false)}
	r.Data = append(r.Data, 0, 0, 0x01, 0) // p0 F1
	return r
}

// Deny returns the AFN 00 F2 "deny all" answer to f.
func Deny(f *Frame) Frame {
	r := Confirm(f)
	r.Data[2] = 0x02 // F2
	return r
}

// ReadCurrent returns an AFN 0C read of classes fns (F2 terminal clock,
// F25 instantaneous values, F129 forward active energy, F131 reverse ...)
// for the points pns (p0 for the terminal's own data).
func ReadCurrent(a Address, pseq uint8, pns []uint16, fns []uint8) (Frame, error) {
	f := request(a, AFNClass1, FuncClass2, pseq, false)
	var err error
	f.Data, err = AppendUnits(f.Data, pns, fns, nil)
	return f, err
}

// ReadClock returns the AFN 0C F2 read of the terminal clock.
func ReadClock(a Address, pseq uint8) Frame {
	f, _ := ReadCurrent(a, pseq, []uint16{0}, []uint8{2})
	return f
}

// ReadDaily returns an AFN 0D read of daily frozen classes fns (F161
// forward active, F163 reverse active ...) of the day d for points pns.
func ReadDaily(a Address, pseq uint8, d DateTime, pns []uint16, fns []uint8) (Frame, error) {
	return readFrozen(a, pseq, A20, d, pns, fns, 3)
}

// ReadMonthly returns an AFN 0D read of monthly frozen classes fns (F177
// forward active ...) of the month of m for points pns.
func ReadMonthly(a Address, pseq uint8, m DateTime, pns []uint16, fns []uint8) (Frame, error) {
	m.Day = 0
	return readFrozen(a, pseq, A21, m, pns, fns, 2)
}

func readFrozen(a Address, pseq uint8, tf TimeFormat, d DateTime, pns []uint16, fns []uint8, want int) (Frame, error) {
	for _, fn := range fns {
		if n, _ := requestDate(fn); n != want {
			return Frame{}, fmt.Errorf("%w: AFN 0D F%d does not take a %s time label", ErrRange, fn, tf.Name)
		}
	}
	td, err := tf.Append(make([]byte, 0, 3), d)
	if err != nil {
		return Frame{}, err
	}
	f := request(a, AFNClass2, FuncClass2, pseq, false)
	f.Data, err = AppendUnits(f.Data, pns, fns, td)
	return f, err
}

// ReadCurve returns an AFN 0D curve read (F101 forward active energy
// readings, F89 phase A voltage ...) of n points from start at density
// den for points pns.
func ReadCurve(a Address, pseq uint8, start DateTime, den Density, n int, pns []uint16, fns []uint8) (Frame, error) {
	for _, fn := range fns {
		if _, ok := curveFormat(fn); !ok {
			return Frame{}, fmt.Errorf("%w: AFN 0D F%d is not a curve", ErrRange, fn)
		}
	}
	if n < 1 || n > 255 {
		return Frame{}, fmt.Errorf("%w: %d curve points, want 1..255", ErrRange, n)
	}
	td, err := appendTdc(nil, start, den, n)
	if err != nil {
		return Frame{}, err
	}
	f := request(a, AFNClass2, FuncClass2, pseq, false)
	f.Data, err = AppendUnits(f.Data, pns, fns, td)
	return f, err
}

// ReadEvents returns the AFN 0E read of the event records from pointer pm
// up to pn: F1 the important events (EC1), F2 the normal ones (EC2).
func ReadEvents(a Address, pseq uint8, important bool, pm, pn uint8) Frame {
	fn := uint8(2)
	if important {
		fn = 1
	}
	f := request(a, AFNClass3, FuncClass2, pseq, false)
	f.Data, _ = AppendUnits(f.Data, []uint16{0}, []uint8{fn}, []byte{pm, pn})
	return f
}

// WriteArchive returns the AFN 04 F10 download of meter archive entries,
// with the PW pw. The terminal answers AFN 00.
func WriteArchive(a Address, pseq uint8, pw [16]byte, ar *Archive) (Frame, error) {
	f := request(a, AFNSet, FuncClass1, pseq, true)
	f.PW = pw
	f.Data = append(f.Data, 0, 0, 0x02, 0x01) // p0 F10
	var err error
	f.Data, err = ar.AppendUnit(f.Data)
	return f, err
}

// ReadArchive returns the AFN 0A F10 query of the archive entries serials.
func ReadArchive(a Address, pseq uint8, serials []uint16) (Frame, error) {
	f := request(a, AFNQuery, FuncClass2, pseq, false)
	f.Data = append(f.Data, 0, 0, 0x02, 0x01)
	var err error
	q := ArchiveQuery{Serials: serials}
	f.Data, err = q.AppendUnit(f.Data)
	return f, err
}

// SetClock returns the AFN 05 F31 clock set to t (format A.1, weekday
// included), with the PW pw.
func SetClock(a Address, pseq uint8, pw [16]byte, t DateTime) (Frame, error) {
	f := request(a, AFNControl, FuncClass1, pseq, true)
	f.PW = pw
	f.Data = append(f.Data, 0, 0, 0x40, 0x03) // p0 F31
	var err error
	f.Data, err = A1.Append(f.Data, t)
	return f, err
}

// Forward returns the AFN 10 F1 transparent forwarding of r.Data on r.Port,
// with the PW pw.
func Forward(a Address, pseq uint8, pw [16]byte, r *ForwardRequest) (Frame, error) {
	f := request(a, AFNTransfer, FuncClass2, pseq, false)
	f.PW = pw
	f.Data = append(f.Data, 0, 0, 0x01, 0)
	var err error
	f.Data, err = r.AppendUnit(f.Data)
	return f, err
}

// Link returns an uplink AFN 02 frame as a terminal sends it: F1 login, F2
// logout, F3 heartbeat (with the terminal clock when clock is not zero).
func Link(a Address, pseq uint8, fn uint8, clock DateTime) (Frame, error) {
	f := Frame{Protocol: GDW3761, Control: MakeControl(true, true, false, false, FuncLinkTest), Address: a, AFN: AFNLink, Seq: Single(pseq, true)}
	var err error
	if f.Data, err = AppendUnits(f.Data, []uint16{0}, []uint8{fn}, nil); err != nil {
		return f, err
	}
	if fn == 3 && !clock.IsZero() {
		f.Data, err = A1.Append(f.Data, clock)
	}
	return f, err
}

// Response returns an empty uplink response to the request req (PRM 0,
// function 8, RSEQ = PSEQ), for a terminal or simulator to fill.
func Response(req *Frame, rseq uint8, fir, fin bool) Frame {
	return Frame{Protocol: req.Protocol, Control: MakeControl(true, false, false, false, FuncResponse), Address: req.Address,
		AFN: req.AFN, Seq: MakeSeq(false, fir, fin, false, rseq)}
}
