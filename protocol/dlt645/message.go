package dlt645

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrFunction reports a function code the edition does not have, or an
// operation it cannot do.
var ErrFunction = errors.New("dlt645: no such function")

// DI is a data identifier. A 2007 DI is DI3 DI2 DI1 DI0 (0x00010000 is
// forward active energy, total); a 1997 DI is two bytes (0x9010). On the
// wire the low byte comes first.
type DI uint32

// String returns 8 hex digits; use Format for the edition's width.
func (d DI) String() string { return d.Format(DLT2007) }

// Format returns the DI in hex as the edition writes it: 8 digits for
// 2007, 4 for 1997.
func (d DI) Format(ed Edition) string {
	w := 2 * ed.diSize()
	s := strconv.FormatUint(uint64(d), 16)
	for len(s) < w {
		s = "0" + s
	}
	return upper(s)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// ParseDI parses a DI of 8 hex digits (2007) or 4 (1997); spaces and a
// 0x prefix are allowed.
func ParseDI(s string) (DI, error) {
	clean := make([]byte, 0, 8)
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			clean = append(clean, s[i])
		}
	}
	if len(clean) != 8 && len(clean) != 4 {
		return 0, fmt.Errorf("dlt645: bad DI %q: want 8 hex digits (2007) or 4 (1997)", s)
	}
	v, err := strconv.ParseUint(string(clean), 16, 32)
	if err != nil {
		return 0, fmt.Errorf("dlt645: bad DI %q: not hexadecimal", s)
	}
	return DI(v), nil
}

// ParseDI parses a DI of the edition's width: 8 hex digits for 2007, 4
// for 1997.
func (e Edition) ParseDI(s string) (DI, error) {
	d, err := ParseDI(s)
	if err != nil {
		return 0, err
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			digits++
		}
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		digits -= 2
	}
	if digits != 2*e.diSize() {
		return 0, fmt.Errorf("dlt645: bad DI %q: %s DIs have %d hex digits", s, e, 2*e.diSize())
	}
	return d, nil
}

func (e Edition) appendDI(b []byte, d DI) []byte {
	for i := range e.diSize() {
		b = append(b, byte(d>>(8*i)))
	}
	return b
}

func (e Edition) readDI(b []byte) DI {
	var d DI
	for i := range e.diSize() {
		d |= DI(b[i]) << (8 * i)
	}
	return d
}

// Auth is the authority a write, reset or relay command carries: the
// password level PA, the password P0 P1 P2 and, in 2007, the operator
// code C0..C3. The 1997 edition sends no operator code.
type Auth struct {
	Level    byte
	Password [3]byte // wire order: P0 P1 P2
	Operator [4]byte // wire order: C0 C1 C2 C3
}

// ParseAuth builds an Auth from a password level (0..9), a password of 6
// digits and an operator code of 8 hex digits (empty for 0).
func ParseAuth(level int, password, operator string) (Auth, error) {
	var a Auth
	if level < 0 || level > 9 {
		return a, fmt.Errorf("dlt645: password level %d: want 0 to 9", level)
	}
	a.Level = byte(level)
	if len(password) != 6 {
		return a, fmt.Errorf("dlt645: password must be 6 digits, have %d characters", len(password))
	}
	for i := range 3 {
		hi, lo := password[4-2*i], password[5-2*i]
		if !isDigit(hi) || !isDigit(lo) {
			return a, errors.New("dlt645: password must be 6 decimal digits")
		}
		a.Password[i] = (hi-'0')<<4 | (lo - '0')
	}
	if operator == "" {
		return a, nil
	}
	if len(operator) != 8 {
		return a, fmt.Errorf("dlt645: operator code must be 8 hex digits, have %d characters", len(operator))
	}
	v, err := strconv.ParseUint(operator, 16, 32)
	if err != nil {
		return a, errors.New("dlt645: operator code must be 8 hex digits")
	}
	for i := range 4 {
		a.Operator[i] = byte(v >> (8 * i))
	}
	return a, nil
}

// OperatorCode returns the operator code as 8 hex digits.
func (a Auth) OperatorCode() string {
	v := uint32(a.Operator[0]) | uint32(a.Operator[1])<<8 | uint32(a.Operator[2])<<16 | uint32(a.Operator[3])<<24
	return fmt.Sprintf("%08X", v)
}

func (a Auth) appendTo(b []byte, n int) []byte {
	b = append(b, a.Level, a.Password[0], a.Password[1], a.Password[2])
	if n == 8 {
		b = append(b, a.Operator[:]...)
	}
	return b
}

func readAuth(b []byte, n int) Auth {
	a := Auth{Level: b[0], Password: [3]byte{b[1], b[2], b[3]}}
	if n == 8 {
		copy(a.Operator[:], b[4:8])
	}
	return a
}

// RelayCommand is N1 of a 2007 relay control frame.
type RelayCommand byte

// Relay commands (DL/T 645-2007 with its 2013 amendment).
const (
	RelayTrip             RelayCommand = 0x1A // open the supply relay
	RelayAllowClose       RelayCommand = 0x1B // let the customer close it
	RelayClose            RelayCommand = 0x1C // close it directly
	RelayAlarm            RelayCommand = 0x2A
	RelayAlarmRelease     RelayCommand = 0x2B
	RelayKeepPower        RelayCommand = 0x3A // never trip (hospital, ...)
	RelayKeepPowerRelease RelayCommand = 0x3B
)

var relayNames = map[RelayCommand]string{
	RelayTrip: "trip", RelayAllowClose: "allow close", RelayClose: "close",
	RelayAlarm: "alarm", RelayAlarmRelease: "alarm release",
	RelayKeepPower: "keep power", RelayKeepPowerRelease: "keep power release",
}

func (c RelayCommand) String() string {
	if s, ok := relayNames[c]; ok {
		return s
	}
	return fmt.Sprintf("relay command %02X", byte(c))
}

// ParseRelayCommand accepts the names String returns, with - or _ for spaces.
func ParseRelayCommand(s string) (RelayCommand, error) {
	norm := []byte(s)
	for i, c := range norm {
		if c == '-' || c == '_' {
			norm[i] = ' '
		}
	}
	for c, name := range relayNames {
		if name == string(norm) {
			return c, nil
		}
	}
	return 0, fmt.Errorf("dlt645: unknown relay command %q (want trip, allow-close, close, alarm, alarm-release, keep-power, keep-power-release)", s)
}

// Message is a frame's content as the edition's code table reads it:
// what was asked, or what was answered.
type Message struct {
	Edition Edition
	Address Address
	Control Control
	Op      Op

	DI      DI   // the data identifier, when HasDI
	HasDI   bool // requests and replies that carry a DI
	Seq     int  // follow-up sequence number, or -1
	Auth    Auth // authority of writes, resets, relay commands, when HasAuth
	HasAuth bool
	Time    DateTime     // broadcast time, freeze time, load-profile start, relay deadline (Layout 0: none)
	Blocks  int          // number of load-profile blocks asked for, or -1
	Relay   RelayCommand // relay commands
	// Payload is the rest of the data field: the value bytes of a read
	// reply or a write, a new address, a baud feature byte, a new password.
	Payload []byte
}

// Name returns the function's name, e.g. "read data".
func (m *Message) Name() string { return m.Op.String() }

// Decode reads a frame's data field by the edition's code table. An
// abnormal reply returns the Message and a *MeterError; a data field that
// does not fit the function's layout returns a *FrameError wrapping
// ErrLayout. The Message's Payload aliases f.Data.
func (e Edition) Decode(f *Frame) (Message, error) {
	m := Message{Edition: e, Address: f.Address, Control: f.Control, Seq: -1, Blocks: -1}
	spec, ok := e.table().byCode[f.Control.Function()]
	if !ok {
		m.Payload = f.Data
		return m, fmt.Errorf("%w: function %02X is not in the %s code table", ErrFunction, f.Control.Function(), e)
	}
	m.Op = spec.op
	d := f.Data
	bad := func(what string) (Message, error) {
		return m, &FrameError{Err: ErrLayout, Detail: fmt.Sprintf("%s %s: %s (%d data bytes)", e, spec.op, what, len(f.Data))}
	}
	if f.Control.Reply() {
		if f.Control.Abnormal() {
			if len(d) < 1 {
				return bad("abnormal reply without an ERR byte")
			}
			return m, &MeterError{Edition: e, Address: f.Address, Function: spec.code, Name: spec.op.String(), Err: ErrBits(d[0])}
		}
		if spec.replyDI {
			if len(d) < e.diSize() {
				return bad("reply shorter than its DI")
			}
			m.DI, m.HasDI = e.readDI(d), true
			d = d[e.diSize():]
		}
		if spec.replySeq {
			if len(d) < 1 {
				return bad("follow-up reply without SEQ")
			}
			m.Seq = int(d[len(d)-1])
			d = d[:len(d)-1]
		}
		if spec.replyBody >= 0 && len(d) != spec.replyBody {
			return bad(fmt.Sprintf("reply wants %d bytes after the DI", spec.replyBody))
		}
		m.Payload = d
		return m, nil
	}
	if f.Control.Abnormal() || f.Control.More() {
		return bad("a request cannot be abnormal or have follow-up frames")
	}
	if spec.diLen > 0 && !spec.diAfterAuth {
		if len(d) < spec.diLen {
			return bad("request shorter than its DI")
		}
		m.DI, m.HasDI = e.readDI(d), true
		d = d[spec.diLen:]
	}
	if spec.reqSeq {
		if len(d) < 1 {
			return bad("follow-up request without SEQ")
		}
		m.Seq = int(d[0])
		d = d[1:]
	}
	if spec.authLen > 0 {
		if len(d) < spec.authLen {
			return bad("request shorter than its password and operator code")
		}
		m.Auth, m.HasAuth = readAuth(d, spec.authLen), true
		d = d[spec.authLen:]
	}
	if spec.diAfterAuth {
		if len(d) < spec.diLen {
			return bad("request shorter than its DI")
		}
		m.DI, m.HasDI = e.readDI(d), true
		d = d[spec.diLen:]
	}
	if spec.bodyLen >= 0 && len(d) != spec.bodyLen {
		return bad(fmt.Sprintf("wants %d bytes after the DI and authority", spec.bodyLen))
	}
	var err error
	switch spec.op {
	case OpBroadcastTime:
		m.Time, err = decodeDateTime(d, YYMMDDhhmmss)
		d = nil
	case OpFreeze:
		m.Time, err = decodeDateTime(d, MMDDhhmm)
		d = nil
	case OpRelay:
		m.Relay = RelayCommand(d[0])
		m.Time, err = decodeDateTime(d[2:], YYMMDDhhmmss)
		d = nil
	case OpRead:
		switch len(d) {
		case 0:
		case 1:
			m.Blocks, d = int(d[0]), nil
		case 6:
			m.Blocks = int(d[0])
			m.Time, err = decodeDateTime(d[1:], YYMMDDhhmm)
			d = nil
		default:
			return bad("a read carries a DI, then optionally N, then optionally mm hh DD MM YY")
		}
	}
	if err != nil {
		return m, &FrameError{Err: ErrBCD, Detail: fmt.Sprintf("%s %s: %v", e, spec.op, err)}
	}
	m.Payload = d
	return m, nil
}

// frame builds a frame for op with the given control bits and data.
func (e Edition) frame(addr Address, op Op, ctl Control, data []byte) (Frame, error) {
	code, ok := e.Code(op)
	if !ok {
		return Frame{}, fmt.Errorf("%w: %s has no %s function", ErrFunction, e, op)
	}
	if len(data) > MaxDataLen {
		return Frame{}, fmt.Errorf("%w: %s of %d data bytes, at most %d", ErrOversize, op, len(data), MaxDataLen)
	}
	return Frame{Address: addr, Control: ctl | Control(code), Data: data}, nil
}

// ReadRequest asks a meter for the data of di.
func (e Edition) ReadRequest(addr Address, di DI) (Frame, error) {
	return e.frame(addr, OpRead, 0, e.appendDI(nil, di))
}

// ReadProfileRequest asks a 2007 meter for n load-profile blocks (DI
// 06xx0001) from the given time (YYMMDDhhmm).
func (e Edition) ReadProfileRequest(addr Address, di DI, n int, from DateTime) (Frame, error) {
	if n < 1 || n > 255 {
		return Frame{}, fmt.Errorf("dlt645: load-profile block count %d: want 1 to 255", n)
	}
	b := append(e.appendDI(nil, di), byte(n))
	return e.frame(addr, OpRead, 0, appendDateTime(b, from, YYMMDDhhmm))
}

// ReadFollowUpRequest asks for part seq of a long answer (2007); a 1997
// follow-up request carries no sequence number and seq is ignored.
func (e Edition) ReadFollowUpRequest(addr Address, di DI, seq byte) (Frame, error) {
	b := e.appendDI(nil, di)
	if e == DLT2007 {
		b = append(b, seq)
	}
	return e.frame(addr, OpReadFollowUp, 0, b)
}

// ReadAddressRequest asks the one meter on a point-to-point line for its
// address. The 1997 edition has no such function; it reads DI C032 at the
// wildcard address instead.
func (e Edition) ReadAddressRequest() (Frame, error) {
	if e == DLT1997 {
		return e.ReadRequest(Wildcard, 0xC032)
	}
	return e.frame(Wildcard, OpReadAddress, 0, nil)
}

// WriteRequest writes data (already in the DI's wire format) to di.
func (e Edition) WriteRequest(addr Address, di DI, auth Auth, data []byte) (Frame, error) {
	spec := e.table().byOp[OpWrite]
	b := e.appendDI(nil, di)
	b = auth.appendTo(b, spec.authLen)
	return e.frame(addr, OpWrite, 0, append(b, data...))
}

// WriteAddressRequest gives the meter reached at target a new address.
func (e Edition) WriteAddressRequest(target, newAddr Address) (Frame, error) {
	return e.frame(target, OpWriteAddress, 0, wireAddress(newAddr))
}

func wireAddress(a Address) []byte {
	b := make([]byte, 6)
	for i := range 6 {
		b[i] = a[5-i]
	}
	return b
}

// BroadcastTimeRequest sets every meter's clock to t (YYMMDDhhmmss); it
// goes to the broadcast address and nobody answers.
func (e Edition) BroadcastTimeRequest(t DateTime) (Frame, error) {
	return e.frame(Broadcast, OpBroadcastTime, 0, appendDateTime(nil, t, YYMMDDhhmmss))
}

// FreezeNow is the freeze time that means "now" (99 99 99 99).
var FreezeNow = DateTime{Layout: MMDDhhmm, Month: 99, Day: 99, Hour: 99, Minute: 99}

// FreezeRequest asks a meter (or, at Broadcast, all) to freeze at t
// (MMDDhhmm; 99 in a field repeats: DD=99 is daily at hh:mm), or now.
func (e Edition) FreezeRequest(addr Address, t DateTime) (Frame, error) {
	return e.frame(addr, OpFreeze, 0, appendDateTime(nil, t, MMDDhhmm))
}

var baudBits = map[int]byte{600: 0x02, 1200: 0x04, 2400: 0x08, 4800: 0x10, 9600: 0x20, 19200: 0x40}

// BaudFeature returns the feature byte for a bit rate.
func BaudFeature(baud int) (byte, error) {
	z, ok := baudBits[baud]
	if !ok {
		return 0, fmt.Errorf("dlt645: %d bit/s is not a DL/T 645 rate (600, 1200, 2400, 4800, 9600, 19200)", baud)
	}
	return z, nil
}

// BaudFromFeature returns the bit rate a feature byte names.
func BaudFromFeature(z byte) (int, bool) {
	for b, bit := range baudBits {
		if bit == z {
			return b, true
		}
	}
	return 0, false
}

// ChangeBaudRequest asks a meter to talk at baud from now on.
func (e Edition) ChangeBaudRequest(addr Address, baud int) (Frame, error) {
	z, err := BaudFeature(baud)
	if err != nil {
		return Frame{}, err
	}
	return e.frame(addr, OpChangeBaud, 0, []byte{z})
}

// ChangePasswordRequest replaces the password of level newLevel, with
// authority old (which must be of that level or higher).
func (e Edition) ChangePasswordRequest(addr Address, old Auth, newLevel byte, newPassword string) (Frame, error) {
	nw, err := ParseAuth(int(newLevel), newPassword, "")
	if err != nil {
		return Frame{}, err
	}
	var b []byte
	if e == DLT2007 {
		b = e.appendDI(nil, DI(0x04000C01+uint32(newLevel)))
	}
	b = old.appendTo(b, 4)
	b = nw.appendTo(b, 4)
	return e.frame(addr, OpChangePassword, 0, b)
}

// DemandResetRequest clears a meter's max demand.
func (e Edition) DemandResetRequest(addr Address, auth Auth) (Frame, error) {
	return e.authOnly(addr, OpDemandReset, auth)
}

// MeterResetRequest clears a meter's energy registers (2007).
func (e Edition) MeterResetRequest(addr Address, auth Auth) (Frame, error) {
	return e.authOnly(addr, OpMeterReset, auth)
}

func (e Edition) authOnly(addr Address, op Op, auth Auth) (Frame, error) {
	spec, ok := e.table().byOp[op]
	if !ok {
		return Frame{}, fmt.Errorf("%w: %s has no %s function", ErrFunction, e, op)
	}
	return e.frame(addr, op, 0, auth.appendTo(nil, spec.authLen))
}

// EventResetRequest clears the event records of di (FFFFFFFF: all) (2007).
func (e Edition) EventResetRequest(addr Address, auth Auth, di DI) (Frame, error) {
	if e != DLT2007 {
		return Frame{}, fmt.Errorf("%w: %s has no %s function", ErrFunction, e, OpEventReset)
	}
	return e.frame(addr, OpEventReset, 0, e.appendDI(auth.appendTo(nil, 8), di))
}

// RelayRequest sends a relay command valid until the given time (2007).
func (e Edition) RelayRequest(addr Address, auth Auth, cmd RelayCommand, until DateTime) (Frame, error) {
	if e != DLT2007 {
		return Frame{}, fmt.Errorf("%w: %s has no %s function", ErrFunction, e, OpRelay)
	}
	b := append(auth.appendTo(nil, 8), byte(cmd), 0)
	return e.frame(addr, OpRelay, 0, appendDateTime(b, until, YYMMDDhhmmss))
}

// ReadReply is a meter's answer to a read: di and its value bytes, with
// more set when follow-up frames hold the rest.
func (e Edition) ReadReply(addr Address, di DI, data []byte, more bool) (Frame, error) {
	ctl := DirReply
	if more {
		ctl |= MoreData
	}
	return e.frame(addr, OpRead, ctl, append(e.appendDI(nil, di), data...))
}

// ReadFollowUpReply is part seq of a long answer (the 1997 edition sends
// no sequence number).
func (e Edition) ReadFollowUpReply(addr Address, di DI, data []byte, seq byte, more bool) (Frame, error) {
	ctl := DirReply
	if more {
		ctl |= MoreData
	}
	b := append(e.appendDI(nil, di), data...)
	if e == DLT2007 {
		b = append(b, seq)
	}
	return e.frame(addr, OpReadFollowUp, ctl, b)
}

// ReadAddressReply is a meter's answer to a read-address request.
func (e Edition) ReadAddressReply(addr Address) (Frame, error) {
	if e == DLT1997 {
		return e.ReadReply(addr, 0xC032, wireAddress(addr), false)
	}
	return e.frame(addr, OpReadAddress, DirReply, wireAddress(addr))
}

// Ack is the normal reply to op (write, write address, freeze, resets,
// relay), with body for those that echo something (the baud feature byte,
// the new password).
func (e Edition) Ack(addr Address, op Op, body []byte) (Frame, error) {
	return e.frame(addr, op, DirReply, body)
}

// AbnormalReply is a meter refusing op with the given ERR bits.
func (e Edition) AbnormalReply(addr Address, op Op, bits ErrBits) (Frame, error) {
	return e.frame(addr, op, DirReply|Abnormal, []byte{byte(bits)})
}
