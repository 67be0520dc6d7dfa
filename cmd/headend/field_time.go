package main

import (
	"fmt"
	"io"

	"github.com/headend/headend/fieldops"
	"github.com/spf13/cobra"
)

func newTimeCmd() *cobra.Command {
	var c fieldConn
	var meter string
	cmd := &cobra.Command{
		Use:   "time",
		Short: "Read a meter's clock against the head-end's; \"time sync\" sets it",
		Long: `Read a meter's date and time and compare them with the head-end's
clock (this computer's with --port or --tcp, the collector's with
--server). "time sync" sets the clock.`,
		Example: `  headend time --port /dev/ttyUSB0 --addr 000031000002 --text
  headend time sync --port /dev/ttyUSB0 --addr 000031000002
  headend time sync --server http://127.0.0.1:8080 --meter 000031000004 --write --password-file pw --operator 1A2B`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needMeter(meter); err != nil {
				return err
			}
			svc, closeSvc, err := c.service(cmd)
			if err != nil {
				return err
			}
			defer closeSvc()
			ctx, stop := interruptible(cmd)
			defer stop()
			r, err := svc.ReadClock(ctx, meter)
			if err != nil {
				return fieldError(err)
			}
			if c.text {
				printClock(cmd.OutOrStdout(), "", r)
				return nil
			}
			return printJSON(cmd.OutOrStdout(), r)
		},
	}
	c.flags(cmd.PersistentFlags())
	meterFlag(cmd.PersistentFlags(), &meter)

	var auth authFlags
	var rq fieldops.SyncRequest
	sync := &cobra.Command{
		Use:   "sync",
		Short: "Set a meter's clock: broadcast time sync, or an authorised write",
		Long: `Set a meter's clock to the head-end's. By default a broadcast time sync
(function 08): every meter on the bus takes it, within the standard's
rules: a clock is moved by at most ±5 minutes, once a day, and not near
midnight, when meters freeze. A drift beyond 5 minutes is refused (it is
an anomaly in itself); --write then sets the one meter's date and time by
an authorised write (function 14) with --password and --operator. The
clock is read back to say whether it took. Every sync is audited.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needMeter(meter); err != nil {
				return err
			}
			if rq.Write {
				pw, err := auth.secret()
				if err != nil {
					return err
				}
				rq.Password, rq.Level, rq.Operator = pw, auth.level, auth.operator
			}
			svc, closeSvc, err := c.service(cmd)
			if err != nil {
				return err
			}
			defer closeSvc()
			ctx, stop := interruptible(cmd)
			defer stop()
			r, err := svc.SyncClock(ctx, meter, rq)
			if err != nil {
				return fieldError(err)
			}
			if c.text {
				printSync(cmd.OutOrStdout(), r)
				return nil
			}
			return printJSON(cmd.OutOrStdout(), r)
		},
	}
	sync.Flags().BoolVar(&rq.Write, "write", false, "write the date and time to the one meter (needs --password and --operator)")
	sync.Flags().BoolVar(&rq.Force, "force", false, "broadcast even when the clock is within tolerance")
	auth.flags(sync.Flags())
	cmd.AddCommand(sync)
	return cmd
}

func printClock(w io.Writer, indent string, r *fieldops.ClockReading) {
	fmt.Fprintf(w, "%smeter %s clock %s, head-end %s: %s\n", indent, r.Meter,
		r.MeterTime.Format("2006-01-02 15:04:05"), r.HeadEndTime.Format("2006-01-02 15:04:05"), signed(r.ErrorSeconds))
}

func printSync(w io.Writer, r *fieldops.ClockSync) {
	switch r.Method {
	case "none":
		fmt.Fprintf(w, "meter %s: %s\n", r.Meter, r.Note)
		printClock(w, "  ", &r.Before)
		return
	case "broadcast":
		fmt.Fprintf(w, "broadcast time sync on %s (every meter there)\n", r.Bus)
	default:
		fmt.Fprintf(w, "clock written to meter %s\n", r.Meter)
	}
	printClock(w, "  before: ", &r.Before)
	if r.After != nil {
		printClock(w, "  after:  ", r.After)
	}
	if r.Corrected {
		fmt.Fprintln(w, "  corrected")
	} else {
		fmt.Fprintf(w, "  not corrected: %s\n", r.Note)
	}
}
