package dlt645

// Op is what a function code does, the same operation in either edition.
// Each edition has its own code table mapping its codes to Ops and saying
// how its data field is laid out; the tables are separate data, not one
// table with patches.
type Op uint8

// The operations of DL/T 645.
const (
	OpUnknown        Op = iota
	OpBroadcastTime     // set the clock of every meter on the bus, no reply
	OpRead              // read data
	OpReadFollowUp      // read the next part of a long answer
	OpReadAddress       // read the address of the one meter on the line
	OpWrite             // write a parameter (needs authority)
	OpWriteAddress      // set the address of the one meter on the line
	OpFreeze            // freeze registers now or at a time
	OpChangeBaud        // change the communication speed
	OpChangePassword    // change a password
	OpDemandReset       // clear max demand (needs authority)
	OpMeterReset        // clear energy registers (needs authority)
	OpEventReset        // clear event records (needs authority)
	OpRelay             // trip, allow close, close, alarm, keep power (needs authority)
	OpTerminalOutput    // choose what the multi-function output terminal puts out
)

var opNames = [...]string{
	OpUnknown:        "unknown",
	OpBroadcastTime:  "broadcast time",
	OpRead:           "read data",
	OpReadFollowUp:   "read follow-up data",
	OpReadAddress:    "read address",
	OpWrite:          "write data",
	OpWriteAddress:   "write address",
	OpFreeze:         "freeze",
	OpChangeBaud:     "change baud rate",
	OpChangePassword: "change password",
	OpDemandReset:    "max demand reset",
	OpMeterReset:     "meter reset",
	OpEventReset:     "event reset",
	OpRelay:          "relay control",
	OpTerminalOutput: "multi-function terminal output control",
}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return opNames[OpUnknown]
}

// funcSpec is one row of an edition's code table.
type funcSpec struct {
	code byte
	op   Op
	// Request layout: DI (diLen bytes), then SEQ if reqSeq, then the
	// authority (authLen bytes: 4 = PA P0 P1 P2, 8 = that and C0..C3),
	// then a DI after the authority if diAfterAuth (event reset), then
	// the body of fixed size bodyLen (-1: any).
	diLen       int
	reqSeq      bool
	authLen     int
	diAfterAuth bool
	bodyLen     int
	// Reply layout: a normal reply starts with the DI if replyDI and
	// ends with SEQ if replySeq; replyBody is its fixed size beyond those
	// (-1: any).
	replyDI   bool
	replySeq  bool
	replyBody int
	noReply   bool // broadcast: meters do not answer
	abnormal  bool // the meter may refuse it with an abnormal reply
}

type codeTable struct {
	edition Edition
	byCode  map[byte]*funcSpec
	byOp    map[Op]*funcSpec
}

func newCodeTable(ed Edition, rows []funcSpec) *codeTable {
	t := &codeTable{edition: ed, byCode: map[byte]*funcSpec{}, byOp: map[Op]*funcSpec{}}
	for i := range rows {
		r := &rows[i]
		t.byCode[r.code] = r
		t.byOp[r.op] = r
	}
	return t
}

// table2007 is the DL/T 645-2007 code table (standard section 7).
var table2007 = newCodeTable(DLT2007, []funcSpec{
	{code: 0x08, op: OpBroadcastTime, bodyLen: 6, noReply: true},
	// read: DI [+ N blocks [+ mm hh DD MM YY]] (load-profile reads)
	{code: 0x11, op: OpRead, diLen: 4, bodyLen: -1, replyDI: true, replyBody: -1, abnormal: true},
	{code: 0x12, op: OpReadFollowUp, diLen: 4, reqSeq: true, replyDI: true, replySeq: true, replyBody: -1, abnormal: true},
	{code: 0x13, op: OpReadAddress, replyBody: 6},
	{code: 0x14, op: OpWrite, diLen: 4, authLen: 8, bodyLen: -1, abnormal: true},
	{code: 0x15, op: OpWriteAddress, bodyLen: 6},
	{code: 0x16, op: OpFreeze, bodyLen: 4, abnormal: true},
	{code: 0x17, op: OpChangeBaud, bodyLen: 1, replyBody: 1, abnormal: true},
	// change password: DI (04000C01..0A, the level) + old PA P0 P1 P2 + new PA P0 P1 P2
	{code: 0x18, op: OpChangePassword, diLen: 4, authLen: 4, bodyLen: 4, replyBody: 4, abnormal: true},
	{code: 0x19, op: OpDemandReset, authLen: 8, abnormal: true},
	{code: 0x1A, op: OpMeterReset, authLen: 8, abnormal: true},
	{code: 0x1B, op: OpEventReset, authLen: 8, diAfterAuth: true, diLen: 4, abnormal: true},
	// relay: authority + N1 (command) + N2 (reserved) + ss mm hh DD MM YY (valid until)
	{code: 0x1C, op: OpRelay, authLen: 8, bodyLen: 8, abnormal: true},
	// multi-function terminal output control: N, the signal the terminal
	// puts out (00 clock second pulse, 01 demand period, 02 time-period
	// switch); the normal reply 9D carries N back, the abnormal one DD
	// the ERR byte.
	{code: 0x1D, op: OpTerminalOutput, bodyLen: 1, replyBody: 1, abnormal: true},
})

// table1997 is the DL/T 645-1997 code table.
var table1997 = newCodeTable(DLT1997, []funcSpec{
	{code: 0x01, op: OpRead, diLen: 2, replyDI: true, replyBody: -1, abnormal: true},
	{code: 0x02, op: OpReadFollowUp, diLen: 2, replyDI: true, replyBody: -1, abnormal: true},
	{code: 0x04, op: OpWrite, diLen: 2, authLen: 4, bodyLen: -1, abnormal: true},
	{code: 0x08, op: OpBroadcastTime, bodyLen: 6, noReply: true},
	{code: 0x0A, op: OpWriteAddress, bodyLen: 6},
	{code: 0x0C, op: OpChangeBaud, bodyLen: 1, replyBody: 1, abnormal: true},
	// change password: old PA P0 P1 P2 + new PA P0 P1 P2
	{code: 0x0F, op: OpChangePassword, authLen: 4, bodyLen: 4, replyBody: 4, abnormal: true},
	{code: 0x10, op: OpDemandReset, authLen: 4, abnormal: true},
})

func (e Edition) table() *codeTable {
	if e == DLT1997 {
		return table1997
	}
	return table2007
}

// Code returns the edition's function code for op, and false if the
// edition has no such function (1997 meters cannot freeze or trip).
func (e Edition) Code(op Op) (byte, bool) {
	s, ok := e.table().byOp[op]
	if !ok {
		return 0, false
	}
	return s.code, true
}

// Function returns the operation a function code means in this edition.
func (e Edition) Function(code byte) (Op, bool) {
	s, ok := e.table().byCode[code&0x1F]
	if !ok {
		return OpUnknown, false
	}
	return s.op, true
}

// Functions lists the edition's function codes in ascending order.
func (e Edition) Functions() []byte {
	var out []byte
	for c := range byte(0x20) {
		if _, ok := e.table().byCode[c]; ok {
			out = append(out, c)
		}
	}
	return out
}

// diSize is the size of a data identifier on the wire: 4 bytes in 2007,
// 2 in 1997.
func (e Edition) diSize() int {
	if e == DLT1997 {
		return 2
	}
	return 4
}
