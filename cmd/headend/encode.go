package main

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/spf13/cobra"
)

// encodeOpts are the flags the encode subcommands share.
type encodeOpts struct {
	edition  string
	addr     string
	preamble int
	text     bool
	raw      bool
	// authority
	level    int
	password string
	operator string
}

func newEncodeCmd() *cobra.Command {
	o := &encodeOpts{}
	cmd := &cobra.Command{
		Use:   "encode FUNCTION",
		Short: "Build a DL/T 645 request frame and print it in hex",
		Long: `Build a DL/T 645 request frame and print it in hex, ready to paste into
a serial tool. --text prints the frame decoded for a person as well.
Commands that need authority take --level, --password and --operator.`,
		Example: `  headend encode read --addr 000012345678 --di 00010000
  headend encode read --edition 1997 --addr 12345678 --di 9010
  headend encode time --at 2026-11-22T13:45:07
  headend encode relay --addr 000012345678 --command trip --password 123456 --operator 12345678 --until 2026-11-23T00:00:00`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.edition, "edition", "2007", "protocol edition: 2007 or 1997")
	pf.StringVar(&o.addr, "addr", "", "meter address, up to 12 digits")
	pf.IntVar(&o.preamble, "preamble", 0, "number of FE wake-up bytes to put before the frame (0..4)")
	pf.BoolVar(&o.text, "text", false, "also print the frame decoded for a person")
	pf.BoolVar(&o.raw, "raw", false, "write the frame as binary bytes instead of hex (to pipe into a socket)")
	pf.IntVar(&o.level, "level", 2, "password level (authority commands)")
	pf.StringVar(&o.password, "password", "", "6-digit password (authority commands)")
	pf.StringVar(&o.operator, "operator", "00000000", "8-hex-digit operator code (authority commands, 2007)")

	var di string
	var blocks int
	var from, at, until, command, data, value, newAddr, newPassword string
	var seq, baud, newLevel int

	sub := func(use, short string, build func(ed dlt645.Edition, addr dlt645.Address) (dlt645.Frame, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				ed, err := dlt645.ParseEdition(o.edition)
				if err != nil {
					return err
				}
				var addr dlt645.Address
				if o.addr != "" {
					if addr, err = dlt645.ParseAddress(o.addr); err != nil {
						return fmt.Errorf("--addr: %w", err)
					}
				}
				f, err := build(ed, addr)
				if err != nil {
					return err
				}
				return printFrame(cmd.OutOrStdout(), cmd.ErrOrStderr(), &f, ed, o)
			},
		}
	}
	needAddr := func(addr dlt645.Address) error {
		if o.addr == "" {
			return fmt.Errorf("--addr is required")
		}
		return nil
	}
	parseDI := func() (dlt645.DI, error) {
		if di == "" {
			return 0, fmt.Errorf("--di is required")
		}
		ed, err := dlt645.ParseEdition(o.edition)
		if err != nil {
			return 0, err
		}
		d, err := ed.ParseDI(di)
		if err != nil {
			return 0, fmt.Errorf("--di: %w", err)
		}
		return d, nil
	}
	auth := func() (dlt645.Auth, error) {
		a, err := dlt645.ParseAuth(o.level, o.password, o.operator)
		if err != nil {
			return a, fmt.Errorf("authority (--level, --password, --operator): %w", err)
		}
		return a, nil
	}

	read := sub("read", "read data: --addr and --di (load profile: --blocks and --from)", func(ed dlt645.Edition, addr dlt645.Address) (dlt645.Frame, error) {
		if err := needAddr(addr); err != nil {
			return dlt645.Frame{}, err
		}
		d, err := parseDI()
		if err != nil {
			return dlt645.Frame{}, err
		}
		if blocks > 0 {
			t, err := parseTime(from, dlt645.YYMMDDhhmm, 0)
			if err != nil {
				return dlt645.Frame{}, fmt.Errorf("--from: %w", err)
			}
			return ed.ReadProfileRequest(addr, d, blocks, t)
		}
		return ed.ReadRequest(addr, d)
	})
	read.Flags().StringVar(&di, "di", "", "data identifier: 8 hex digits (2007) or 4 (1997)")
	read.Flags().IntVar(&blocks, "blocks", 0, "load-profile blocks to read (with --from)")
	read.Flags().StringVar(&from, "from", "", "load-profile start, e.g. 2026-11-22T13:00")

	follow := sub("read-followup", "ask for the next part of a long answer: --addr, --di, --seq", func(ed dlt645.Edition, addr dlt645.Address) (dlt645.Frame, error) {
		if err := needAddr(addr); err != nil {
			return dlt645.Frame{}, err
		}
		d, err := parseDI()
		if err != nil {
			return dlt645.Frame{}, err
		}
		if seq < 0 || seq > 255 {
			return dlt645.Frame{}, fmt.Errorf("--seq %d: want 0 to 255", seq)
		}
		return ed.ReadFollowUpRequest(addr, d, byte(seq))
	})
	follow.Flags().StringVar(&di, "di", "", "data identifier")
	follow.Flags().IntVar(&seq, "seq", 1, "follow-up sequence number")

	readAddr := sub("read-address", "read the address of the one meter on the line", func(ed dlt645.Edition, _ dlt645.Address) (dlt645.Frame, error) {
		return ed.ReadAddressRequest()
	})

	write := sub("write", "write data: --addr, --di, --value or --data, and authority", func(ed dlt645.Edition, addr dlt645.Address) (dlt645.Frame, error) {
		if err := needAddr(addr); err != nil {
			return dlt645.Frame{}, err
		}
		d, err := parseDI()
		if err != nil {
			return dlt645.Frame{}, err
		}
		a, err := auth()
		if err != nil {
			return dlt645.Frame{}, err
		}
		var payload []byte
		switch {
		case data != "":
			if payload, err = parseHex(data); err != nil {
				return dlt645.Frame{}, fmt.Errorf("--data: %w", err)
			}
		case value != "":
			spec, ok := ed.Registry().Lookup(d)
			if !ok || len(spec.Fields) != 1 || spec.Fields[0].Format.Kind != dlt645.KindNumber {
				return dlt645.Frame{}, fmt.Errorf("--value works for DIs holding one number; give --data (wire bytes, low byte first) for %s", d.Format(ed))
			}
			n, err := dlt645.ParseDecimal(value)
			if err != nil {
				return dlt645.Frame{}, fmt.Errorf("--value: %w", err)
			}
			if payload, err = spec.Encode(nil, []dlt645.Value{dlt645.Number(n)}); err != nil {
				return dlt645.Frame{}, fmt.Errorf("--value: %w", err)
			}
		default:
			return dlt645.Frame{}, fmt.Errorf("--value or --data is required")
		}
		return ed.WriteRequest(addr, d, a, payload)
	})
	write.Flags().StringVar(&di, "di", "", "data identifier")
	write.Flags().StringVar(&value, "value", "", "the value, for DIs holding one number")
	write.Flags().StringVar(&data, "data", "", "the value's wire bytes in hex, low byte first, without the 33H offset")

	writeAddr := sub("write-address", "give the meter on the line a new address: --new", func(ed dlt645.Edition, _ dlt645.Address) (dlt645.Frame, error) {
		a, err := dlt645.ParseAddress(newAddr)
		if err != nil {
			return dlt645.Frame{}, fmt.Errorf("--new: %w", err)
		}
		target := dlt645.Wildcard
		if ed == dlt645.DLT1997 {
			target = dlt645.Broadcast
		}
		return ed.WriteAddressRequest(target, a)
	})
	writeAddr.Flags().StringVar(&newAddr, "new", "", "the new address")

	bcast := sub("time", "broadcast time sync: --at (default now)", func(ed dlt645.Edition, _ dlt645.Address) (dlt645.Frame, error) {
		t, err := parseTime(at, dlt645.YYMMDDhhmmss, 0)
		if err != nil {
			return dlt645.Frame{}, fmt.Errorf("--at: %w", err)
		}
		return ed.BroadcastTimeRequest(t)
	})
	bcast.Flags().StringVar(&at, "at", "", "time to set, e.g. 2026-11-22T13:45:07 (default: now)")

	freeze := sub("freeze", "freeze registers: --addr (or broadcast), --at MM-DDThh:mm (default now)", func(ed dlt645.Edition, addr dlt645.Address) (dlt645.Frame, error) {
		if o.addr == "" {
			addr = dlt645.Broadcast
		}
		t := dlt645.FreezeNow
		if at != "" {
			var err error
			if t, err = parseTime(at, dlt645.MMDDhhmm, 0); err != nil {
				return dlt645.Frame{}, fmt.Errorf("--at: %w", err)
			}
		}
		return ed.FreezeRequest(addr, t)
	})
	freeze.Flags().StringVar(&at, "at", "", "freeze time, e.g. 2026-11-22T00:00 (only month, day, hour and minute are sent)")

	baudCmd := sub("baud", "change a meter's baud rate: --addr, --baud", func(ed dlt645.Edition, addr dlt645.Address) (dlt645.Frame, error) {
		if err := needAddr(addr); err != nil {
			return dlt645.Frame{}, err
		}
		return ed.ChangeBaudRequest(addr, baud)
	})
	baudCmd.Flags().IntVar(&baud, "baud", 2400, "new rate in bit/s")

	pw := sub("password", "change a password: --addr, authority (old), --new-level, --new-password", func(ed dlt645.Edition, addr dlt645.Address) (dlt645.Frame, error) {
		if err := needAddr(addr); err != nil {
			return dlt645.Frame{}, err
		}
		a, err := auth()
		if err != nil {
			return dlt645.Frame{}, err
		}
		return ed.ChangePasswordRequest(addr, a, byte(newLevel), newPassword)
	})
	pw.Flags().IntVar(&newLevel, "new-level", 2, "level of the new password")
	pw.Flags().StringVar(&newPassword, "new-password", "", "the new 6-digit password")

	authCmd := func(use, short string, build func(dlt645.Edition, dlt645.Address, dlt645.Auth) (dlt645.Frame, error)) *cobra.Command {
		return sub(use, short, func(ed dlt645.Edition, addr dlt645.Address) (dlt645.Frame, error) {
			if err := needAddr(addr); err != nil {
				return dlt645.Frame{}, err
			}
			a, err := auth()
			if err != nil {
				return dlt645.Frame{}, err
			}
			return build(ed, addr, a)
		})
	}
	demand := authCmd("demand-reset", "clear max demand: --addr and authority", dlt645.Edition.DemandResetRequest)
	meterReset := authCmd("meter-reset", "clear energy registers: --addr and authority", dlt645.Edition.MeterResetRequest)
	eventReset := authCmd("event-reset", "clear event records: --addr, --di (default all) and authority", func(ed dlt645.Edition, addr dlt645.Address, a dlt645.Auth) (dlt645.Frame, error) {
		d := dlt645.DI(0xFFFFFFFF)
		if di != "" {
			var err error
			if d, err = parseDI(); err != nil {
				return dlt645.Frame{}, err
			}
		}
		return ed.EventResetRequest(addr, a, d)
	})
	eventReset.Flags().StringVar(&di, "di", "", "event data identifier (default FFFFFFFF: all events)")
	relay := authCmd("relay", "relay control: --addr, --command, --until and authority", func(ed dlt645.Edition, addr dlt645.Address, a dlt645.Auth) (dlt645.Frame, error) {
		c, err := dlt645.ParseRelayCommand(command)
		if err != nil {
			return dlt645.Frame{}, fmt.Errorf("--command: %w", err)
		}
		t, err := parseTime(until, dlt645.YYMMDDhhmmss, time.Hour)
		if err != nil {
			return dlt645.Frame{}, fmt.Errorf("--until: %w", err)
		}
		return ed.RelayRequest(addr, a, c, t)
	})
	relay.Flags().StringVar(&command, "command", "", "trip, allow-close, close, alarm, alarm-release, keep-power or keep-power-release")
	relay.Flags().StringVar(&until, "until", "", "the command is valid until, e.g. 2026-11-23T00:00:00 (default: now + 1 h)")

	cmd.AddCommand(read, follow, readAddr, write, writeAddr, bcast, freeze, baudCmd, pw, demand, meterReset, eventReset, relay)
	cmd.AddCommand(newEncodeGDWCmd())
	return cmd
}

// parseTime reads an ISO 8601 local time; empty means now plus after.
func parseTime(s string, l dlt645.TimeLayout, after time.Duration) (dlt645.DateTime, error) {
	if s == "" {
		return dlt645.DateTimeOf(time.Now().Add(after), l), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			if t.Year() < 2000 || t.Year() > 2099 {
				return dlt645.DateTime{}, fmt.Errorf("year %d: meters keep two-digit years of 20YY", t.Year())
			}
			return dlt645.DateTimeOf(t, l), nil
		}
	}
	return dlt645.DateTime{}, fmt.Errorf("%q is not a time like 2026-11-22T13:45:07", s)
}

// printFrame prints the frame's hex, and with --text its decoding.
func printFrame(out, errOut io.Writer, f *dlt645.Frame, ed dlt645.Edition, o *encodeOpts) error {
	if o.preamble < 0 || o.preamble > 4 {
		return fmt.Errorf("--preamble %d: want 0 to 4", o.preamble)
	}
	b, err := f.AppendBinary(bytes.Repeat([]byte{dlt645.Wake}, o.preamble))
	if err != nil {
		return err
	}
	if o.raw {
		_, err := out.Write(b)
		return err
	}
	fmt.Fprintln(out, spacedHex(b))
	if o.text {
		return decodeAll(b, &ed, true, out, errOut)
	}
	return nil
}
