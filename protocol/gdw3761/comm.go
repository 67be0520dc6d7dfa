package gdw3761

import (
	"fmt"
	"time"
)

// commParamsLen is the length of the AFN 04 / 0A F1 unit.
const commParamsLen = 6

// CommParams are a terminal's uplink communication parameters (终端上行
// 通信口通信参数), p0 F1: set by AFN 04 F1, read back by AFN 0A F1. The
// layout followed is Q/GDW 1376.1-2013 5.5.1.3.1 as recalled (no second
// source was found to check it against, nor the 2009 edition): RTS, BIN in 20 ms; the delay the terminal allows
// itself as initiating station, BIN in minutes; the response timeout,
// D11..D0 BIN seconds, with the retries in D13..D12; the CON flags (D0
// class 1 data reports, D1 class 2, D2 class 3 need the master's
// confirmation); the heartbeat period, BIN minutes.
type CommParams struct {
	RTS       time.Duration // data-set (modem) delay: 0..5.1 s in steps of 20 ms
	SendDelay time.Duration // allowed transmission delay as initiating station: whole minutes, 0..255
	Timeout   time.Duration // waiting for the responding station: whole seconds, 0..4095
	Retries   uint8         // 0..3
	Confirm   uint8         // D0..D2: the report classes that need a confirmation
	Heartbeat time.Duration // whole minutes, 1..255
}

// UnmarshalUnit decodes the 6 bytes of the unit.
func (p *CommParams) UnmarshalUnit(b []byte) error {
	if len(b) != commParamsLen {
		return layoutErr("F1 communication parameters are %d bytes, have %d", commParamsLen, len(b))
	}
	to := le16(b[2:])
	*p = CommParams{RTS: time.Duration(b[0]) * 20 * time.Millisecond, SendDelay: time.Duration(b[1]) * time.Minute,
		Timeout: time.Duration(to&0x0FFF) * time.Second, Retries: uint8(to>>12) & 0x03, Confirm: b[4],
		Heartbeat: time.Duration(b[5]) * time.Minute}
	return nil
}

// AppendUnit appends the 6 bytes of the unit; a value out of range or
// not a whole number of its steps is an error naming it.
func (p *CommParams) AppendUnit(b []byte) ([]byte, error) {
	step := func(name string, d, unit time.Duration, lo, hi int64) (int64, error) {
		n := int64(d / unit)
		if d%unit != 0 || n < lo || n > hi {
			return 0, fmt.Errorf("%w: F1 %s %v: want %d..%d × %v", ErrRange, name, d, lo, hi, unit)
		}
		return n, nil
	}
	rts, err := step("RTS", p.RTS, 20*time.Millisecond, 0, 255)
	if err != nil {
		return b, err
	}
	delay, err := step("send delay", p.SendDelay, time.Minute, 0, 255)
	if err != nil {
		return b, err
	}
	to, err := step("response timeout", p.Timeout, time.Second, 0, 4095)
	if err != nil {
		return b, err
	}
	hb, err := step("heartbeat", p.Heartbeat, time.Minute, 1, 255)
	if err != nil {
		return b, err
	}
	if p.Retries > 3 {
		return b, fmt.Errorf("%w: F1 retries %d: want 0..3", ErrRange, p.Retries)
	}
	if p.Confirm&^0x07 != 0 {
		return b, fmt.Errorf("%w: F1 confirmation flags %02X: only D0..D2 are defined", ErrRange, p.Confirm)
	}
	w := uint16(to) | uint16(p.Retries)<<12
	return append(b, byte(rts), byte(delay), byte(w), byte(w>>8), p.Confirm, byte(hb)), nil
}

// WriteCommParams returns the AFN 04 F1 setting of p, with the PW pw.
// The terminal answers AFN 00.
func WriteCommParams(a Address, pseq uint8, pw [16]byte, p *CommParams) (Frame, error) {
	f := request(a, AFNSet, FuncClass1, pseq, true)
	f.PW = pw
	f.Data = append(f.Data, 0, 0, 0x01, 0) // p0 F1
	var err error
	f.Data, err = p.AppendUnit(f.Data)
	return f, err
}

// ReadCommParams returns the AFN 0A F1 query of the communication
// parameters; the reply's p0 F1 unit is a CommParams.
func ReadCommParams(a Address, pseq uint8) Frame {
	f := request(a, AFNQuery, FuncClass2, pseq, false)
	f.Data = append(f.Data, 0, 0, 0x01, 0)
	return f
}
