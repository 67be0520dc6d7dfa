package gdw3761

import (
	"fmt"
	"strconv"
)

// Control is the control field C.
//
//	D7 DIR   0 downlink (master → terminal), 1 uplink
//	D6 PRM   1 from the initiating station, 0 from the responding one
//	D5 FCB   downlink: frame count bit; uplink: ACD, events waiting (EC follows)
//	D4 FCV   downlink: FCB valid; uplink: reserved
//	D3..D0   function code
type Control byte

// Function codes with PRM = 1 (requests) and PRM = 0 (responses).
const (
	FuncReset    = 1  // PRM 1: reset
	FuncUserData = 4  // PRM 1: user data, no reply
	FuncLinkTest = 9  // PRM 1: link test (login, logout, heartbeat)
	FuncClass1   = 10 // PRM 1: request class 1 data (settings and control)
	FuncClass2   = 11 // PRM 1: request class 2 data (reads)

	FuncConfirm    = 0  // PRM 0: confirm
	FuncResponse   = 8  // PRM 0: user data (a reply)
	FuncNoData     = 9  // PRM 0: deny, no data asked for
	FuncLinkStatus = 11 // PRM 0: link status (the reply to a link test)
)

// MakeControl builds a control field.
func MakeControl(up, prm, fcbOrACD, fcv bool, fn uint8) Control {
	c := Control(fn & 0x0F)
	if up {
		c |= 0x80
	}
	if prm {
		c |= 0x40
	}
	if fcbOrACD {
		c |= 0x20
	}
	if fcv {
		c |= 0x10
	}
	return c
}

func (c Control) Up() bool       { return c&0x80 != 0 } // DIR: sent by the terminal
func (c Control) PRM() bool      { return c&0x40 != 0 } // sent by the initiating station
func (c Control) ACD() bool      { return c.Up() && c&0x20 != 0 }
func (c Control) FCB() bool      { return !c.Up() && c&0x20 != 0 }
func (c Control) FCV() bool      { return !c.Up() && c&0x10 != 0 }
func (c Control) Func() uint8    { return uint8(c & 0x0F) }
func (c Control) String() string { return fmt.Sprintf("%02X", byte(c)) }

// Address is the address field A: the administrative area code A1 (four
// BCD digits, e.g. 4401), the terminal address A2 (binary 1..65535; 0 is
// invalid, FFFF with Group set is broadcast), and A3: the master station
// address (0..127) and the group-address flag.
type Address struct {
	Area     uint16 // A1 as the decimal number its BCD digits spell
	Terminal uint16 // A2
	Master   uint8  // A3 D7..D1
	Group    bool   // A3 D0: A2 is a group address
}

// String formats the terminal as the field writes it: "4401 0001", the
// area code in decimal and the terminal address in hex.
func (a Address) String() string {
	return fmt.Sprintf("%04d %04X", a.Area, a.Terminal)
}

// ParseAddress parses "4401 0001" or "4401-0001" or "44010001": the area
// code's four digits and the terminal address in four hex digits.
func ParseAddress(s string) (Address, error) {
	var a Address
	t := make([]byte, 0, 8)
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '-' && s[i] != ':' {
			t = append(t, s[i])
		}
	}
	if len(t) != 8 {
		return a, fmt.Errorf("%w: terminal address %q: want 4 area digits and 4 hex digits", ErrRange, s)
	}
	area, err := strconv.ParseUint(string(t[:4]), 10, 16)
	if err != nil {
		return a, fmt.Errorf("%w: terminal address %q: area code is not 4 decimal digits", ErrRange, s)
	}
	term, err := strconv.ParseUint(string(t[4:]), 16, 16)
	if err != nil {
		return a, fmt.Errorf("%w: terminal address %q: terminal part is not 4 hex digits", ErrRange, s)
	}
	a.Area, a.Terminal = uint16(area), uint16(term)
	return a, nil
}

func (a Address) appendTo(b []byte) ([]byte, error) {
	if a.Area > 9999 {
		return b, fmt.Errorf("%w: area code %d has more than 4 digits", ErrRange, a.Area)
	}
	if a.Master > 127 {
		return b, fmt.Errorf("%w: master address %d, at most 127", ErrRange, a.Master)
	}
	a3 := a.Master << 1
	if a.Group {
		a3 |= 1
	}
	return append(b, toBCD(int(a.Area%100)), toBCD(int(a.Area/100)),
		byte(a.Terminal), byte(a.Terminal>>8), a3), nil
}

func decodeAddress(b []byte) (Address, error) {
	if !isBCD(b[0]) || !isBCD(b[1]) {
		return Address{}, fmt.Errorf("%w: area code A1 is %02X%02X", ErrBCD, b[1], b[0])
	}
	return Address{
		Area:     uint16(b[1]>>4)*1000 + uint16(b[1]&0x0F)*100 + uint16(b[0]>>4)*10 + uint16(b[0]&0x0F),
		Terminal: uint16(b[2]) | uint16(b[3])<<8,
		Master:   b[4] >> 1,
		Group:    b[4]&1 != 0,
	}, nil
}

// AFN is the application function code.
type AFN byte

// The application functions.
const (
	AFNConfirm  AFN = 0x00 // confirm / deny
	AFNReset    AFN = 0x01
	AFNLink     AFN = 0x02 // login, logout, heartbeat
	AFNRelay    AFN = 0x03
	AFNSet      AFN = 0x04 // set parameters
	AFNControl  AFN = 0x05
	AFNAuth     AFN = 0x06 // identity authentication and key negotiation
	AFNConfig   AFN = 0x09 // terminal configuration
	AFNQuery    AFN = 0x0A // query parameters
	AFNTask     AFN = 0x0B
	AFNClass1   AFN = 0x0C // current data
	AFNClass2   AFN = 0x0D // historical (frozen) data
	AFNClass3   AFN = 0x0E // events
	AFNFile     AFN = 0x0F // file transfer
	AFNTransfer AFN = 0x10 // data forwarding
)

var afnNames = map[AFN]string{
	AFNConfirm: "confirm/deny", AFNReset: "reset", AFNLink: "link test", AFNRelay: "relay",
	AFNSet: "set parameters", AFNControl: "control", AFNAuth: "authentication", AFNConfig: "terminal configuration",
	AFNQuery: "query parameters", AFNTask: "task data", AFNClass1: "current data", AFNClass2: "frozen data",
	AFNClass3: "events", AFNFile: "file transfer", AFNTransfer: "data forwarding",
}

func (a AFN) String() string {
	if n, ok := afnNames[a]; ok {
		return fmt.Sprintf("AFN %02X (%s)", byte(a), n)
	}
	return fmt.Sprintf("AFN %02X", byte(a))
}

// Seq is the frame sequence field SEQ.
//
//	D7 TpV  the Tp time label follows the data
//	D6 FIR  first frame of a message
//	D5 FIN  last frame of a message (FIR and FIN: a single frame)
//	D4 CON  the receiver is to confirm
//	D3..D0  PSEQ (request) or RSEQ (response)
type Seq byte

// MakeSeq builds a SEQ field.
func MakeSeq(tpv, fir, fin, con bool, n uint8) Seq {
	s := Seq(n & 0x0F)
	if tpv {
		s |= 0x80
	}
	if fir {
		s |= 0x40
	}
	if fin {
		s |= 0x20
	}
	if con {
		s |= 0x10
	}
	return s
}

// Single returns the SEQ of a one-frame message numbered n.
func Single(n uint8, con bool) Seq { return MakeSeq(false, true, true, con, n) }

func (s Seq) TpV() bool      { return s&0x80 != 0 }
func (s Seq) FIR() bool      { return s&0x40 != 0 }
func (s Seq) FIN() bool      { return s&0x20 != 0 }
func (s Seq) CON() bool      { return s&0x10 != 0 }
func (s Seq) Num() uint8     { return uint8(s & 0x0F) }
func (s Seq) String() string { return fmt.Sprintf("%02X", byte(s)) }

// Tp is the time label of a request: the terminal drops a frame that
// arrives later than Sent + Delay minutes.
type Tp struct {
	PFC   uint8    // the initiator's frame counter
	Sent  DateTime // format A.16: second, minute, hour, day
	Delay uint8    // allowed transmission delay in minutes (0: no check)
	ff    bool     // the send time came as FF filler (re-encoded as such)
}

// EC is the event counter pair an uplink frame carries when ACD is set.
type EC struct {
	Important, Normal uint8 // EC1, EC2
}
