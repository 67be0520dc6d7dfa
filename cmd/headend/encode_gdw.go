package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
	"github.com/spf13/cobra"
)

// newEncodeGDWCmd is `headend encode gdw`: the Q/GDW 1376.1 requests a
// master station sends to a concentrator.
func newEncodeGDWCmd() *cobra.Command {
	var terminal, pwHex, points, fns, serials, date, at, meterData, parity string
	var master, seq, density, count, port, baud, from, to int
	var important bool
	var meters []string
	var frameTimeout, byteTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "gdw REQUEST",
		Short: "Build a Q/GDW 1376.1 request to a concentrator and print it in hex",
		Long: `Build a Q/GDW 1376.1 (376.1) request to a concentrator or terminal,
addressed by --terminal (area code and terminal address, "4401 0001").
--text prints it decoded as well; the PW field (--pw, 32 hex digits, on
archive push, clock set and forwarding) is never printed decoded.`,
		Example: `  headend encode gdw confirm --terminal "4401 0001" --seq 3
  headend encode gdw read-daily --terminal "4401 0001" --date 2026-12-06 --points 1-32 --fn 161,163
  headend encode gdw read-current --terminal "4401 0001" --points 1-8 --fn 25,129
  headend encode gdw archive-push --terminal "4401 0001" --meter 1,1,2,2400,30,000012345678,4
  headend encode gdw forward --terminal "4401 0001" --port 2 --data "68 78 56 34 12 00 00 68 11 04 33 33 34 33 C6 16"`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&terminal, "terminal", "", `terminal address: area code and terminal, "4401 0001"`)
	pf.IntVar(&master, "master", 0, "master station address 0..127 (A3)")
	pf.IntVar(&seq, "seq", 0, "PSEQ 0..15 (confirm: the SEQ of the frame confirmed)")
	pf.StringVar(&pwHex, "pw", "", "PW: 32 hex digits (default all zeros)")
	pf.StringVar(&points, "points", "1", "measuring points: 0 (the terminal), 1-32, 1,5,9")

	sub := func(use, short string, build func(a gdw3761.Address, pseq uint8, pw [16]byte) (gdw3761.Frame, error)) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				a, err := gdw3761.ParseAddress(terminal)
				if err != nil {
					return fmt.Errorf("--terminal: %w", err)
				}
				if master < 0 || master > 127 || seq < 0 || seq > 15 {
					return fmt.Errorf("--master %d / --seq %d: want 0..127 and 0..15", master, seq)
				}
				a.Master = uint8(master)
				var pw [16]byte
				if pwHex != "" {
					b, err := hex.DecodeString(strings.ReplaceAll(pwHex, " ", ""))
					if err != nil || len(b) != 16 {
						return fmt.Errorf("--pw: want 32 hex digits")
					}
					copy(pw[:], b)
				}
				f, err := build(a, uint8(seq), pw)
				if err != nil {
					return err
				}
				text, _ := cmd.Flags().GetBool("text")
				raw, _ := cmd.Flags().GetBool("raw")
				return printGDWFrame(cmd.OutOrStdout(), cmd.ErrOrStderr(), &f, text, raw)
			},
		}
	}
	pns := func() ([]uint16, error) { return parseList[uint16](points, "--points", 2040) }
	fnList := func(def string) ([]uint8, error) {
		if fns == "" {
			fns = def
		}
		return parseList[uint8](fns, "--fn", 248)
	}
	day := func(layout, s string) (gdw3761.DateTime, error) {
		t, err := time.Parse(layout, s)
		if err != nil {
			return gdw3761.DateTime{}, fmt.Errorf("%q is not a date like %s", s, layout)
		}
		return gdw3761.DateTimeOf(t), nil
	}

	confirm := sub("confirm", "AFN 00 F1: confirm a login, heartbeat or logout (--seq: its SEQ)", func(a gdw3761.Address, s uint8, _ [16]byte) (gdw3761.Frame, error) {
		return gdw3761.Confirm(&gdw3761.Frame{Protocol: gdw3761.GDW3761, Address: a, AFN: gdw3761.AFNLink, Seq: gdw3761.Single(s, true)}), nil
	})
	current := sub("read-current", "AFN 0C: current data (--fn 2 clock, 25 instantaneous, 129 forward, 131 reverse)", func(a gdw3761.Address, s uint8, _ [16]byte) (gdw3761.Frame, error) {
		p, err := pns()
		if err != nil {
			return gdw3761.Frame{}, err
		}
		f, err := fnList("129")
		if err != nil {
			return gdw3761.Frame{}, err
		}
		return gdw3761.ReadCurrent(a, s, p, f)
	})
	clock := sub("read-clock", "AFN 0C F2: the terminal clock", func(a gdw3761.Address, s uint8, _ [16]byte) (gdw3761.Frame, error) {
		return gdw3761.ReadClock(a, s), nil
	})
	daily := sub("read-daily", "AFN 0D daily freezes of --date (--fn 161 forward, 163 reverse)", func(a gdw3761.Address, s uint8, _ [16]byte) (gdw3761.Frame, error) {
		d, err := day("2006-01-02", date)
		if err != nil {
			return gdw3761.Frame{}, fmt.Errorf("--date: %w", err)
		}
		p, err := pns()
		if err != nil {
			return gdw3761.Frame{}, err
		}
		f, err := fnList("161")
		if err != nil {
			return gdw3761.Frame{}, err
		}
		return gdw3761.ReadDaily(a, s, d, p, f)
	})
	monthly := sub("read-monthly", "AFN 0D monthly freezes of --date YYYY-MM (--fn 177 forward)", func(a gdw3761.Address, s uint8, _ [16]byte) (gdw3761.Frame, error) {
		d, err := day("2006-01", date)
		if err != nil {
			return gdw3761.Frame{}, fmt.Errorf("--date: %w", err)
		}
		p, err := pns()
		if err != nil {
			return gdw3761.Frame{}, err
		}
		f, err := fnList("177")
		if err != nil {
			return gdw3761.Frame{}, err
		}
		return gdw3761.ReadMonthly(a, s, d, p, f)
	})
	curve := sub("read-curve", "AFN 0D curve from --at, --density, --count (--fn 101 energy, 89 voltage A)", func(a gdw3761.Address, s uint8, _ [16]byte) (gdw3761.Frame, error) {
		d, err := day("2006-01-02T15:04", at)
		if err != nil {
			return gdw3761.Frame{}, fmt.Errorf("--at: %w", err)
		}
		d.Second, d.Weekday = 0, 0
		p, err := pns()
		if err != nil {
			return gdw3761.Frame{}, err
		}
		f, err := fnList("101")
		if err != nil {
			return gdw3761.Frame{}, err
		}
		return gdw3761.ReadCurve(a, s, d, gdw3761.Density(density), count, p, f)
	})
	events := sub("read-events", "AFN 0E F1/F2: event records --from up to --to (--important for F1)", func(a gdw3761.Address, s uint8, _ [16]byte) (gdw3761.Frame, error) {
		if from < 0 || from > 255 || to < 0 || to > 255 {
			return gdw3761.Frame{}, fmt.Errorf("--from %d --to %d: pointers are 0..255", from, to)
		}
		return gdw3761.ReadEvents(a, s, important, uint8(from), uint8(to)), nil
	})
	push := sub("archive-push", "AFN 04 F10: download meter archive entries (--meter, repeated)", func(a gdw3761.Address, s uint8, pw [16]byte) (gdw3761.Frame, error) {
		var ar gdw3761.Archive
		for _, m := range meters {
			e, err := parseMeterEntry(m)
			if err != nil {
				return gdw3761.Frame{}, err
			}
			ar.Meters = append(ar.Meters, e)
		}
		if len(ar.Meters) == 0 {
			return gdw3761.Frame{}, fmt.Errorf("archive-push needs at least one --meter")
		}
		return gdw3761.WriteArchive(a, s, pw, &ar)
	})
	pull := sub("archive-read", "AFN 0A F10: read archive entries --serials", func(a gdw3761.Address, s uint8, _ [16]byte) (gdw3761.Frame, error) {
		l, err := parseList[uint16](serials, "--serials", 2040)
		if err != nil {
			return gdw3761.Frame{}, err
		}
		return gdw3761.ReadArchive(a, s, l)
	})
	setClock := sub("clock-set", "AFN 05 F31: set the terminal clock to --at (default now)", func(a gdw3761.Address, s uint8, pw [16]byte) (gdw3761.Frame, error) {
		t := time.Now()
		if at != "" {
			var err error
			if t, err = time.ParseInLocation("2006-01-02T15:04:05", at, time.Local); err != nil {
				return gdw3761.Frame{}, fmt.Errorf("--at %q: want a time like 2026-12-07T09:30:00", at)
			}
		}
		return gdw3761.SetClock(a, s, pw, gdw3761.DateTimeOf(t))
	})
	forward := sub("forward", "AFN 10 F1: forward a DL/T 645 frame (--data) on --port", func(a gdw3761.Address, s uint8, pw [16]byte) (gdw3761.Frame, error) {
		data, err := parseHex(meterData)
		if err != nil || len(data) == 0 {
			return gdw3761.Frame{}, fmt.Errorf("--data: want the frame to forward in hex")
		}
		if port < 0 || port > 31 {
			return gdw3761.Frame{}, fmt.Errorf("--port %d: want 1..31", port)
		}
		sc, err := gdw3761.MakeSerialControl(baud, strings.ToUpper(parity)[0], 8, 1)
		if err != nil {
			return gdw3761.Frame{}, err
		}
		r := gdw3761.ForwardRequest{Port: uint8(port), Serial: sc, FrameTimeout: frameTimeout, ByteTimeout: byteTimeout, Data: data}
		return gdw3761.Forward(a, s, pw, &r)
	})

	for _, c := range []*cobra.Command{current, daily, monthly, curve} {
		c.Flags().StringVar(&fns, "fn", "", "information classes Fn, e.g. 161,163")
	}
	for _, c := range []*cobra.Command{daily, monthly} {
		c.Flags().StringVar(&date, "date", "", "the day (2026-12-06) or month (2026-11)")
	}
	curve.Flags().StringVar(&at, "at", "", "curve start, 2026-12-06T00:00")
	curve.Flags().IntVar(&density, "density", 1, "freeze density: 1 = 15 min, 2 = 30, 3 = 60, 254 = 5, 255 = 1")
	curve.Flags().IntVar(&count, "count", 96, "number of curve points")
	setClock.Flags().StringVar(&at, "at", "", "the time to set, 2026-12-07T09:30:00 (default now)")
	events.Flags().BoolVar(&important, "important", false, "important events (F1, EC1) instead of normal ones (F2)")
	events.Flags().IntVar(&from, "from", 0, "first record pointer Pm")
	events.Flags().IntVar(&to, "to", 1, "end record pointer Pn (not included)")
	push.Flags().StringArrayVar(&meters, "meter", nil, "serial,point,port,baud,protocol,address,tariffs[,class/subclass] (protocol 1 = 645-1997, 30 = 645-2007)")
	pull.Flags().StringVar(&serials, "serials", "1", "archive entry numbers, e.g. 1-32")
	forward.Flags().IntVar(&port, "port", 2, "terminal port")
	forward.Flags().IntVar(&baud, "baud", 2400, "meter line baud rate")
	forward.Flags().StringVar(&parity, "parity", "E", "meter line parity: N, E or O (8 data bits, 1 stop bit)")
	forward.Flags().DurationVar(&frameTimeout, "frame-timeout", 2*time.Second, "wait for the meter's answer")
	forward.Flags().DurationVar(&byteTimeout, "byte-timeout", 100*time.Millisecond, "longest gap between the answer's bytes")
	forward.Flags().StringVar(&meterData, "data", "", "the DL/T 645 frame to forward, in hex")
	cmd.AddCommand(confirm, current, clock, daily, monthly, curve, events, push, pull, setClock, forward)
	return cmd
}

// parseList parses "1-8,12" into numbers 0..limit.
func parseList[T uint8 | uint16](s, flag string, limit int) ([]T, error) {
	var out []T
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b > limit {
			return nil, fmt.Errorf("%s %q: want numbers 0..%d like 1-8,12", flag, s, limit)
		}
		for v := a; v <= b; v++ {
			out = append(out, T(v))
		}
	}
	return out, nil
}

// parseMeterEntry parses serial,point,port,baud,protocol,address,tariffs[,class/subclass].
func parseMeterEntry(s string) (gdw3761.MeterEntry, error) {
	f := strings.Split(s, ",")
	bad := func(what string) (gdw3761.MeterEntry, error) {
		return gdw3761.MeterEntry{}, fmt.Errorf("--meter %q: %s (want serial,point,port,baud,protocol,address,tariffs[,class/subclass])", s, what)
	}
	if len(f) != 7 && len(f) != 8 {
		return bad(fmt.Sprintf("%d fields", len(f)))
	}
	n := make([]int, 5)
	for i := range n {
		v, err := strconv.Atoi(strings.TrimSpace(f[i]))
		if err != nil || v < 0 || v > 2040 && i < 2 || v > 255 && i != 3 {
			return bad("field " + strconv.Itoa(i+1) + " is not a number in range")
		}
		n[i] = v
	}
	addr, err := dlt645.ParseAddress(strings.TrimSpace(f[5]))
	if err != nil {
		return bad(err.Error())
	}
	tariffs, err := strconv.Atoi(strings.TrimSpace(f[6]))
	if err != nil || tariffs < 0 || tariffs > 63 {
		return bad("tariffs want 0..63")
	}
	e := gdw3761.MeterEntry{Serial: uint16(n[0]), Point: uint16(n[1]), Port: uint8(n[2]), Baud: n[3], Protocol: uint8(n[4]),
		Address: addr, Tariffs: uint8(tariffs), IntDigits: 6, DecDigits: 2}
	if len(f) == 8 {
		c, sc, ok := strings.Cut(f[7], "/")
		ci, err1 := strconv.Atoi(c)
		si, err2 := strconv.Atoi(sc)
		if !ok || err1 != nil || err2 != nil || ci < 0 || ci > 15 || si < 0 || si > 15 {
			return bad("class/subclass want 0..15/0..15")
		}
		e.Class, e.Subclass = uint8(ci), uint8(si)
	}
	return e, nil
}

func printGDWFrame(out, errOut io.Writer, f *gdw3761.Frame, text, raw bool) error {
	b, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	if raw {
		_, err := out.Write(b)
		return err
	}
	fmt.Fprintln(out, spacedHex(b))
	if text {
		return decodeGDWAll(b, true, out, errOut)
	}
	return nil
}
