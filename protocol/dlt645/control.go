package dlt645

import "fmt"

// Control is the control byte C: bit 7 direction (1 = meter to master),
// bit 6 abnormal reply, bit 5 follow-up frames exist, bits 4..0 function.
type Control byte

// Control bits.
const (
	DirReply Control = 0x80
	Abnormal Control = 0x40
	MoreData Control = 0x20
)

// Reply reports whether the frame goes from meter to master.
func (c Control) Reply() bool { return c&DirReply != 0 }

// Abnormal reports an abnormal (error) reply.
func (c Control) Abnormal() bool { return c&Abnormal != 0 }

// More reports that follow-up frames hold the rest of the answer.
func (c Control) More() bool { return c&MoreData != 0 }

// Function returns the function code, bits 4..0.
func (c Control) Function() byte { return byte(c) & 0x1F }

func (c Control) String() string { return fmt.Sprintf("%02X", byte(c)) }

// Edition is the protocol edition a meter speaks. The zero Edition is
// DL/T 645-2007.
type Edition uint8

// The two editions.
const (
	DLT2007 Edition = 0
	DLT1997 Edition = 1
)

func (e Edition) String() string {
	if e == DLT1997 {
		return "DL/T645-1997"
	}
	return "DL/T645-2007"
}

// ParseEdition accepts "2007", "1997" and the full names.
func ParseEdition(s string) (Edition, error) {
	switch s {
	case "2007", "DL/T645-2007", "dlt645-2007", "":
		return DLT2007, nil
	case "1997", "DL/T645-1997", "dlt645-1997":
		return DLT1997, nil
	}
	return DLT2007, fmt.Errorf("dlt645: unknown edition %q (want 2007 or 1997)", s)
}

// MarshalText implements encoding.TextMarshaler ("2007" or "1997").
func (e Edition) MarshalText() ([]byte, error) {
	if e == DLT1997 {
		return []byte("1997"), nil
	}
	return []byte("2007"), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *Edition) UnmarshalText(b []byte) error {
	v, err := ParseEdition(string(b))
	if err == nil {
		*e = v
	}
	return err
}

// DetectEdition guesses the edition of a frame from its function code: the
// two code tables overlap only in 08 (broadcast time), whose layout is the
// same in both, so the guess is right whenever it matters.
func DetectEdition(c Control) (Edition, bool) {
	fn := c.Function()
	if _, ok := table1997.byCode[fn]; ok && fn != 0x08 {
		return DLT1997, true
	}
	if _, ok := table2007.byCode[fn]; ok {
		return DLT2007, true
	}
	return DLT2007, false
}
