package fieldops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// RelayRequest is a relay command as a person gives it.
type RelayRequest struct {
	Action string `json:"action"` // trip, close or allow-close
	// Password is the meter's password: 6 digits, or 8 with the
	// password level first (02123456 is level 02, password 123456).
	Password string `json:"password"`
	// Level is the password level when Password has 6 digits; 0 is 2.
	Level int `json:"level,omitempty"`
	// Operator is the operator code of the person acting, up to 8 hex
	// digits (DL/T 645-2007 C0..C3).
	Operator string `json:"operator"`
	// Until is the command's deadline; zero is now + Options.RelayValidity.
	Until time.Time `json:"until,omitzero"`
}

// RelayResult is what a relay command did.
type RelayResult struct {
	Meter    string    `json:"meter"`
	Action   string    `json:"action"`
	Operator string    `json:"operator"`
	At       time.Time `json:"at"`
	// State is the relay as the meter reports it afterwards (status word
	// 3): open or closed; empty when it could not be read.
	State string `json:"state,omitempty"`
	Note  string `json:"note,omitempty"`
}

// relayCommands are the actions a person may give.
var relayCommands = map[string]dlt645.RelayCommand{
	"trip": dlt645.RelayTrip, "close": dlt645.RelayClose, "allow-close": dlt645.RelayAllowClose,
}

func parseAction(s string) (string, dlt645.RelayCommand, error) {
	a := strings.ReplaceAll(normalName(s), " ", "-")
	if c, ok := relayCommands[a]; ok {
		return a, c, nil
	}
	if s == "" {
		return "", 0, badParam("action", "required: trip, close or allow-close")
	}
	return "", 0, badParam("action", "%q: want trip, close or allow-close", s)
}

// ParseAuthority checks the authority a control command carries: a
// password of 6 digits (level, default 2) or 8 (level first), and an
// operator code of 1 to 8 hex digits (padded with leading zeros). Both
// are required. Errors never repeat the password.
func ParseAuthority(password string, level int, operator string) (dlt645.Auth, error) {
	var a dlt645.Auth
	if password == "" {
		return a, badParam("password", "required: the meter's password (6 digits, or 8 with the level first)")
	}
	if !allDigits(password) || (len(password) != 6 && len(password) != 8) {
		return a, badParam("password", "want 6 digits, or 8 with the level first (got %d characters)", len(password))
	}
	if len(password) == 8 {
		l := int(password[0]-'0')*10 + int(password[1]-'0')
		if level != 0 && level != l {
			return a, badParam("level", "%d, but the password says level %02d", level, l)
		}
		level, password = l, password[2:]
	}
	if level == 0 {
		level = 2
	}
	if level < 0 || level > 9 {
		return a, badParam("level", "%d: want 0 to 9", level)
	}
	op := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(operator), "0x"), "0X")
	if op == "" {
		return a, badParam("operator", "required: the operator code of the person acting (up to 8 hex digits)")
	}
	if len(op) > 8 || strings.Trim(op, "0123456789abcdefABCDEF") != "" {
		return a, badParam("operator", "%q: want up to 8 hex digits", operator)
	}
	a, err := dlt645.ParseAuth(level, password, strings.Repeat("0", 8-len(op))+strings.ToUpper(op))
	if err != nil {
		return dlt645.Auth{}, badParam("password", "not accepted") // never reached with the checks above
	}
	return a, nil
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// relayPlan is a checked relay request.
type relayPlan struct {
	action string
	cmd    dlt645.RelayCommand
	auth   dlt645.Auth
	until  time.Time
}

func (o *Options) checkRelay(ed dlt645.Edition, rq RelayRequest) (relayPlan, error) {
	var p relayPlan
	var err error
	if p.action, p.cmd, err = parseAction(rq.Action); err != nil {
		return p, err
	}
	if p.auth, err = ParseAuthority(rq.Password, rq.Level, rq.Operator); err != nil {
		return p, err
	}
	if ed != dlt645.DLT2007 {
		return p, fmt.Errorf("%w: %s meters have no relay control", ErrUnsupported, ed)
	}
	now := o.now()
	p.until = rq.Until
	if p.until.IsZero() {
		p.until = now.Add(orDefault(o.RelayValidity, 10*time.Minute))
	}
	if !p.until.After(now) {
		return p, badParam("until", "%s is not in the future", p.until.Format(time.RFC3339))
	}
	return p, nil
}

// relayDetail is what the audit records of a relay command: never the
// password.
func relayDetail(rq RelayRequest, channel string, ed dlt645.Edition) map[string]any {
	d := map[string]any{"operator": rq.Operator, "edition": ed.String()}
	if rq.Level != 0 {
		d["level"] = rq.Level
	}
	if channel != "" {
		d["channel"] = channel
	}
	if !rq.Until.IsZero() {
		d["until"] = rq.Until.Format(time.RFC3339)
	}
	return d
}

func relayAction(rq RelayRequest) string {
	a, _, err := parseAction(rq.Action)
	if err != nil {
		return "relay"
	}
	return "relay." + a
}

// relay sends the command and reads the relay state back.
func (s *session) relay(ctx context.Context, meter string, addr dlt645.Address, p relayPlan) (*RelayResult, error) {
	req, err := s.ed.RelayRequest(addr, p.auth, p.cmd, dlt645.DateTimeOf(p.until.In(s.o.loc()), dlt645.YYMMDDhhmmss))
	if err != nil {
		return nil, err
	}
	if _, err := s.exchange(ctx, meter, &req); err != nil {
		var me *dlt645.MeterError
		if errors.As(err, &me) && me.Unauthorised() {
			return nil, fmt.Errorf("%w: meter %s: password wrong or unauthorised", ErrRefused, meter)
		}
		return nil, err
	}
	out := &RelayResult{Meter: meter, Action: p.action, Operator: p.auth.OperatorCode(), At: s.o.now()}
	// status word 3, bit 4: relay open
	rd, err := s.ed.ReadRequest(addr, 0x04000503)
	if err == nil {
		var msg dlt645.Message
		if msg, err = s.exchange(ctx, meter, &rd); err == nil && len(msg.Payload) == 2 {
			out.State = "closed"
			if msg.Payload[0]&(1<<4) != 0 {
				out.State = "open"
			}
		}
	}
	if out.State == "" {
		out.Note = "the meter took the command; its relay state could not be read back"
	}
	return out, nil
}
