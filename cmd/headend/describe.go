package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/headend/headend/protocol/dlt645"
)

// frameReport is what headend decode prints for one frame: one JSON
// object per line, or a block of text with --text.
type frameReport struct {
	Offset    int64        `json:"offset"`
	Raw       string       `json:"raw,omitempty"`
	Version   string       `json:"version,omitempty"`
	Address   string       `json:"address,omitempty"`
	Control   string       `json:"control,omitempty"`
	Direction string       `json:"direction,omitempty"`
	Function  string       `json:"function,omitempty"`
	DI        *string      `json:"di"`
	DIName    string       `json:"di_name,omitempty"`
	Seq       *int         `json:"seq,omitempty"`
	More      bool         `json:"more,omitempty"`
	Auth      *authReport  `json:"auth,omitempty"`
	Values    []valueEntry `json:"values"`
	Payload   string       `json:"payload,omitempty"`
	ErrBits   []string     `json:"err_bits,omitempty"`
	Error     string       `json:"error,omitempty"`
}

type valueEntry struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Unit  string `json:"unit"`
}

// authReport shows who sent a command; the password is never printed.
type authReport struct {
	Level    int    `json:"level"`
	Password string `json:"password"`
	Operator string `json:"operator,omitempty"`
}

// describe turns a well-framed frame into a report. edition "" means
// detect it from the function code.
func describe(f *dlt645.Frame, raw []byte, offset int64, forced *dlt645.Edition) frameReport {
	r := frameReport{Offset: offset, Raw: spacedHex(raw), Values: []valueEntry{}}
	ed, _ := dlt645.DetectEdition(f.Control)
	if forced != nil {
		ed = *forced
	}
	r.Version = map[dlt645.Edition]string{dlt645.DLT2007: "2007", dlt645.DLT1997: "1997"}[ed]
	r.Address = f.Address.String()
	r.Control = f.Control.String()
	r.Direction = "request"
	if f.Control.Reply() {
		r.Direction = "reply"
	}
	r.More = f.Control.More()
	m, err := ed.Decode(f)
	r.Function = m.Op.String()
	if m.HasDI {
		s := m.DI.Format(ed)
		r.DI = &s
		if spec, ok := ed.Registry().Lookup(m.DI); ok {
			r.DIName = spec.Name
		}
	}
	var me *dlt645.MeterError
	if errors.As(err, &me) {
		r.Function = me.Name
		r.ErrBits = me.Err.Names(ed)
		r.Error = me.Error()
		return r
	}
	if err != nil {
		r.Error = err.Error()
		r.Payload = spacedHex(f.Data)
		return r
	}
	if m.Seq >= 0 {
		s := m.Seq
		r.Seq = &s
	}
	if m.HasAuth {
		r.Auth = &authReport{Level: int(m.Auth.Level), Password: "******"}
		if ed == dlt645.DLT2007 {
			r.Auth.Operator = m.Auth.OperatorCode()
		}
	}
	add := func(name, value, unit string) { r.Values = append(r.Values, valueEntry{name, value, unit}) }
	if m.Time.Layout != 0 {
		name := map[dlt645.Op]string{dlt645.OpBroadcastTime: "time", dlt645.OpFreeze: "freeze at", dlt645.OpRelay: "valid until", dlt645.OpRead: "from"}[m.Op]
		add(name, m.Time.String(), "")
	}
	if m.Blocks >= 0 {
		add("blocks", strconv.Itoa(m.Blocks), "")
	}
	switch {
	case m.Op == dlt645.OpRelay:
		add("command", m.Relay.String(), "")
	case m.Op == dlt645.OpChangeBaud && len(m.Payload) == 1:
		if b, ok := dlt645.BaudFromFeature(m.Payload[0]); ok {
			add("baud rate", strconv.Itoa(b), "bit/s")
		} else {
			add("baud feature", fmt.Sprintf("%02X", m.Payload[0]), "")
		}
	case m.Op == dlt645.OpChangePassword && len(m.Payload) == 4:
		add("new password level", strconv.Itoa(int(m.Payload[0])), "")
	case (m.Op == dlt645.OpReadAddress || m.Op == dlt645.OpWriteAddress) && len(m.Payload) == 6:
		var a dlt645.Address
		for i := range 6 {
			a[5-i] = m.Payload[i]
		}
		add("communication address", a.String(), "")
	case m.HasDI && len(m.Payload) > 0 && m.Op != dlt645.OpReadFollowUp && !m.Control.More():
		vals, err := ed.Registry().Decode(m.DI, m.Payload, nil)
		if err != nil {
			r.Error = err.Error()
			r.Payload = spacedHex(m.Payload)
			return r
		}
		for i := range vals {
			add(vals[i].Name, vals[i].String(), vals[i].Unit)
		}
	case len(m.Payload) > 0:
		// A part of a longer answer: its values are decoded once joined.
		r.Payload = spacedHex(m.Payload)
	}
	return r
}
