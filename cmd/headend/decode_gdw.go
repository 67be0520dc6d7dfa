package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
)

// gdwReport is one Q/GDW 1376.1 frame as `headend decode` prints it. The
// PW field is never printed, only its presence.
type gdwReport struct {
	Offset    int64           `json:"offset"`
	Raw       string          `json:"raw,omitempty"`
	Protocol  string          `json:"protocol,omitempty"`
	Terminal  string          `json:"terminal,omitempty"`
	Master    int             `json:"master"`
	Group     bool            `json:"group,omitempty"`
	Direction string          `json:"direction,omitempty"`
	Control   string          `json:"control,omitempty"`
	PRM       bool            `json:"prm"`
	Func      int             `json:"func"`
	AFN       string          `json:"afn,omitempty"`
	Seq       *gdwSeq         `json:"seq,omitempty"`
	EC        *gdwEC          `json:"ec,omitempty"`
	Tp        string          `json:"tp,omitempty"`
	PW        bool            `json:"pw,omitempty"`
	Units     []gdwUnitReport `json:"units"`
	Error     string          `json:"error,omitempty"`
}

type gdwSeq struct {
	TpV bool `json:"tpv"`
	FIR bool `json:"fir"`
	FIN bool `json:"fin"`
	CON bool `json:"con"`
	Num int  `json:"num"`
}

type gdwEC struct {
	Important int `json:"ec1"`
	Normal    int `json:"ec2"`
}

type gdwUnitReport struct {
	Pn        int          `json:"pn"`
	Fn        int          `json:"fn"`
	Values    []valueEntry `json:"values,omitempty"`
	Data      string       `json:"data,omitempty"`
	Forwarded *frameReport `json:"forwarded,omitempty"`
	Error     string       `json:"error,omitempty"`
}

// decodeAny decodes Q/GDW 1376.1 frames when the input holds them, else
// DL/T 645 frames.
func decodeAny(data []byte, forced *dlt645.Edition, text bool, out, errOut io.Writer) error {
	if ok, err := decodeGDW(data, text, out, errOut); ok {
		return err
	}
	return decodeAll(data, forced, text, out, errOut)
}

// decodeGDW decodes data as Q/GDW 1376.1 frames when the first good
// frame in it is one: a 376.1 frame starts before any DL/T 645 frame (or
// the 645 frame lies inside it, as in an AFN 10 forwarding). ok is false
// otherwise, and the caller decodes DL/T 645.
func decodeGDW(data []byte, text bool, out, errOut io.Writer) (ok bool, err error) {
	gr := gdw3761.NewReader(bytes.NewReader(data))
	gStart := int64(-1)
	for {
		_, err := gr.ReadFrame()
		if err == io.EOF {
			break
		}
		if err == nil {
			gStart = gr.Offset()
			break
		}
	}
	if gStart < 0 {
		return false, nil
	}
	dr := dlt645.NewReader(bytes.NewReader(data))
	for {
		_, err := dr.ReadFrame()
		if err == io.EOF {
			break
		}
		if err == nil {
			if dr.Offset() < gStart {
				return false, nil
			}
			break
		}
	}
	return true, decodeGDWAll(data, text, out, errOut)
}

func decodeGDWAll(data []byte, text bool, out, errOut io.Writer) error {
	r := gdw3761.NewReader(bytes.NewReader(data))
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	failed := false
	units := make([]gdw3761.Unit, 0, 64)
	for n := 1; ; n++ {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		var rep gdwReport
		if err != nil {
			off := int64(-1)
			var fe *gdw3761.FrameError
			if errors.As(err, &fe) {
				off = fe.Offset
			}
			rep = gdwReport{Offset: off, Units: []gdwUnitReport{}, Error: err.Error()}
		} else {
			rep, units = describeGDW(f, r.Raw(), r.Offset(), units[:0])
		}
		if rep.Error != "" {
			failed = true
			fmt.Fprintf(errOut, "headend decode: frame %d at byte %d: %s\n", n, rep.Offset, rep.Error)
		}
		for _, u := range rep.Units {
			if u.Error != "" {
				failed = true
				fmt.Fprintf(errOut, "headend decode: frame %d at byte %d: p%d F%d: %s\n", n, rep.Offset, u.Pn, u.Fn, u.Error)
			}
		}
		if text {
			writeGDWText(out, n, rep)
		} else if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

func describeGDW(f *gdw3761.Frame, raw []byte, off int64, units []gdw3761.Unit) (gdwReport, []gdw3761.Unit) {
	r := gdwReport{
		Offset: off, Raw: spacedHex(raw), Protocol: f.Protocol.String(), Terminal: f.Address.String(),
		Master: int(f.Address.Master), Group: f.Address.Group, Control: f.Control.String(), PRM: f.Control.PRM(),
		Func: int(f.Control.Func()), AFN: f.AFN.String(), PW: f.HasPW(), Units: []gdwUnitReport{},
		Seq: &gdwSeq{f.Seq.TpV(), f.Seq.FIR(), f.Seq.FIN(), f.Seq.CON(), int(f.Seq.Num())},
	}
	r.Direction = "downlink"
	if f.Control.Up() {
		r.Direction = "uplink"
	}
	if f.HasEC() {
		r.EC = &gdwEC{int(f.EC.Important), int(f.EC.Normal)}
	}
	if f.Seq.TpV() {
		r.Tp = fmt.Sprintf("PFC %d, sent day %d %02d:%02d:%02d, delay %d min", f.Tp.PFC, f.Tp.Sent.Day, f.Tp.Sent.Hour, f.Tp.Sent.Minute, f.Tp.Sent.Second, f.Tp.Delay)
	}
	units, err := f.Units(units)
	for _, u := range units {
		r.Units = append(r.Units, describeGDWUnit(f.AFN, f.Control.Up(), u))
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r, units
}

func describeGDWUnit(afn gdw3761.AFN, up bool, u gdw3761.Unit) gdwUnitReport {
	r := gdwUnitReport{Pn: int(u.Pn), Fn: int(u.Fn)}
	add := func(name, value, unit string) { r.Values = append(r.Values, valueEntry{name, value, unit}) }
	num := func(name string, n gdw3761.Num, unit string) { add(name, n.String(), unit) }
	var err error
	switch {
	case u.Unknown:
		r.Data = spacedHex(u.Data)
	case len(u.Data) == 6 && (afn == gdw3761.AFNLink || afn == gdw3761.AFNClass1 && u.Fn == 2 || afn == gdw3761.AFNControl && u.Fn == 31):
		var t gdw3761.DateTime
		if t, err = gdw3761.A1.Decode(u.Data); err == nil {
			add("terminal clock", t.String(), "")
		}
	case afn == gdw3761.AFNClass1 && u.Fn == 25 && up:
		var v gdw3761.Instant
		if err = v.UnmarshalUnit(u.Data); err == nil {
			add("read at", v.ReadTime.String(), "")
			phases := []string{"total", "A", "B", "C"}
			for i, p := range phases {
				num("active power "+p, v.P[i], "kW")
				num("reactive power "+p, v.Q[i], "kvar")
				num("power factor "+p, v.PF[i], "%")
				num("apparent power "+p, v.S[i], "kVA")
			}
			for i, p := range phases[1:] {
				num("voltage "+p, v.U[i], "V")
				num("current "+p, v.I[i], "A")
			}
			num("zero-sequence current", v.I0, "A")
		}
	case up && (afn == gdw3761.AFNClass1 && u.Fn >= 129 && u.Fn <= 144 || afn == gdw3761.AFNClass2 && u.Fn >= 161 && u.Fn <= 184):
		var e gdw3761.Energy
		if err = e.UnmarshalUnit(afn, u.Fn, u.Data); err == nil {
			if !e.Date.IsZero() {
				add("frozen for", e.Date.String(), "")
			}
			add("read at", e.ReadTime.String(), "")
			num("total", e.Total, "")
			for i, t := range e.Tariffs {
				num("tariff "+strconv.Itoa(i+1), t, "")
			}
		}
	case up && afn == gdw3761.AFNClass2 && u.Fn >= 81 && u.Fn <= 108:
		var c gdw3761.Curve
		if err = c.UnmarshalUnit(u.Fn, u.Data); err == nil {
			add("start", c.Start.String(), "")
			add("interval", strconv.Itoa(c.Density.Minutes()), "min")
			for i, v := range c.Values {
				num("point "+strconv.Itoa(i), v, "")
			}
		}
	case u.Fn == 10 && (afn == gdw3761.AFNSet || afn == gdw3761.AFNQuery && up):
		var a gdw3761.Archive
		if err = a.UnmarshalUnit(u.Data); err == nil {
			for _, m := range a.Meters {
				add(fmt.Sprintf("entry %d", m.Serial), fmt.Sprintf("point %d port %d baud %d protocol %d address %s tariffs %d class %d/%d",
					m.Point, m.Port, m.Baud, m.Protocol, m.Address, m.Tariffs, m.Class, m.Subclass), "")
			}
		}
	case afn == gdw3761.AFNClass3 && up:
		var ev gdw3761.Events
		if err = ev.UnmarshalUnit(u.Data); err == nil {
			add("EC1", strconv.Itoa(int(ev.EC1)), "")
			add("EC2", strconv.Itoa(int(ev.EC2)), "")
			for _, e := range ev.Records {
				add(fmt.Sprintf("ERC%d", e.ERC), describeERC(&e), "")
			}
		}
	case afn == gdw3761.AFNTransfer && u.Fn == 1:
		var data []byte
		if up {
			var fr gdw3761.ForwardReply
			if err = fr.UnmarshalUnit(u.Data); err == nil {
				add("port", strconv.Itoa(int(fr.Port)), "")
				data = fr.Data
			}
		} else {
			var fq gdw3761.ForwardRequest
			if err = fq.UnmarshalUnit(u.Data); err == nil {
				add("port", strconv.Itoa(int(fq.Port)), "")
				add("serial", fq.Serial.String(), "")
				add("frame timeout", fq.FrameTimeout.String(), "")
				add("byte timeout", fq.ByteTimeout.String(), "")
				data = fq.Data
			}
		}
		if len(data) > 0 {
			var m dlt645.Frame
			if n, derr := m.Decode(data); derr == nil {
				rep := describe(&m, data[:n], 0, nil)
				r.Forwarded = &rep
			} else {
				r.Data = spacedHex(data)
			}
		}
	case !up && afn == gdw3761.AFNClass2 && (len(u.Data) == 3 || len(u.Data) == 2 || len(u.Data) == 7):
		var t gdw3761.DateTime
		switch len(u.Data) {
		case 3:
			t, err = gdw3761.A20.Decode(u.Data)
			add("day", t.String()[:10], "")
		case 2:
			t, err = gdw3761.A21.Decode(u.Data)
			add("month", t.String()[:7], "")
		default:
			t, err = gdw3761.A15.Decode(u.Data)
			add("curve from", t.String()[:16], "")
			add("density", strconv.Itoa(int(u.Data[5])), "")
			add("points", strconv.Itoa(int(u.Data[6])), "")
		}
	case afn == gdw3761.AFNConfirm && u.Fn == 3:
		var a gdw3761.Acks
		if err = a.UnmarshalUnit(u.Data); err == nil {
			for _, x := range a.Acks {
				res := "confirmed"
				if x.Err != 0 {
					res = fmt.Sprintf("denied (ERR %d)", x.Err)
				}
				add(fmt.Sprintf("%v DA DT %s", a.AFN, x.DADT), res, "")
			}
		}
	case !up && afn == gdw3761.AFNClass3 && len(u.Data) == 2:
		add("from record", strconv.Itoa(int(u.Data[0])), "")
		add("to record", strconv.Itoa(int(u.Data[1])), "")
	case len(u.Data) > 0:
		r.Data = spacedHex(u.Data)
	}
	if err != nil {
		r.Error = err.Error()
		r.Data = spacedHex(u.Data)
	}
	return r
}

func describeERC(e *gdw3761.Event) string {
	if !e.Decoded {
		return "data " + spacedHex(e.Data)
	}
	s := e.Time.String()
	switch e.ERC {
	case gdw3761.ERCPowerOnOff:
		return "power off " + s + ", on " + e.End.String()
	case gdw3761.ERCEnergyDown:
		return fmt.Sprintf("%s p%d reading went back %s → %s", s, e.Pn, e.Before, e.After)
	case gdw3761.ERCVoltageLoop:
		kind := "voltage loop anomaly"
		if e.VoltageLoss() {
			kind = "voltage loss"
		} else if e.PhaseBreak() {
			kind = "phase break"
		}
		return fmt.Sprintf("%s p%d %s (start %v, phases %03b)", s, e.Pn, kind, e.Start, e.Flags&7)
	case gdw3761.ERCInit:
		return fmt.Sprintf("%s flags %02X version %q → %q", s, e.Flags, e.OldVersion[:], e.NewVersion[:])
	case gdw3761.ERCUnknownMeter:
		return s + unknownMeters(e)
	}
	return fmt.Sprintf("%s p%d start %v flags %02X", s, e.Pn, e.Start, e.Flags)
}

func writeGDWText(w io.Writer, n int, r gdwReport) {
	if r.Protocol == "" {
		fmt.Fprintf(w, "frame %d at byte %d: %s\n\n", n, r.Offset, r.Error)
		return
	}
	fmt.Fprintf(w, "frame %d at byte %d: %s %s, terminal %s, %s, control %s, SEQ %d", n, r.Offset, r.Protocol, r.Direction, r.Terminal, r.AFN, r.Control, r.Seq.Num)
	if r.EC != nil {
		fmt.Fprintf(w, ", EC %d/%d", r.EC.Important, r.EC.Normal)
	}
	if r.PW {
		fmt.Fprint(w, ", PW present (not shown)")
	}
	fmt.Fprintln(w)
	if r.Tp != "" {
		fmt.Fprintf(w, "  Tp %s\n", r.Tp)
	}
	for _, u := range r.Units {
		fmt.Fprintf(w, "  p%d F%d\n", u.Pn, u.Fn)
		for _, v := range u.Values {
			fmt.Fprintf(w, "    %s = %s %s\n", v.Name, v.Value, v.Unit)
		}
		if u.Data != "" {
			fmt.Fprintf(w, "    data %s\n", u.Data)
		}
		if u.Forwarded != nil {
			fmt.Fprintf(w, "    forwarded DL/T 645-%s %s %s: %s\n", u.Forwarded.Version, u.Forwarded.Direction, u.Forwarded.Address, u.Forwarded.Function)
			for _, v := range u.Forwarded.Values {
				fmt.Fprintf(w, "      %s = %s %s\n", v.Name, v.Value, v.Unit)
			}
			if u.Forwarded.Error != "" {
				fmt.Fprintf(w, "      error: %s\n", u.Forwarded.Error)
			}
		}
		if u.Error != "" {
			fmt.Fprintf(w, "    error: %s\n", u.Error)
		}
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
	fmt.Fprintln(w)
}
