package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	apifield "github.com/headend/headend/api/field"
	"github.com/headend/headend/fieldops"
	"github.com/spf13/cobra"
)

// headend terminal heartbeat and headend terminal read.

func newTerminalHeartbeatCmd(c *terminalConn) *cobra.Command {
	var set time.Duration
	cmd := &cobra.Command{
		Use:   "heartbeat",
		Short: "Read a terminal's heartbeat period (AFN 0A F1); --set 5m sets it (AFN 04 F1)",
		Long: `Read a terminal's uplink communication parameters (AFN 0A F1), its
heartbeat period among them; --set sets the period (AFN 04 F1, whole
minutes), keeping the other parameters as the terminal holds them, and
reads them back. A period longer than the terminal's channel heartbeat
(archive.channels[].heartbeat, by which the head-end takes a terminal for
silent) is refused: change the channel first. The set is audited.`,
		Example: `  headend terminal heartbeat --server http://127.0.0.1:8080 --terminal "4401 0001" --text
  headend terminal heartbeat --server http://127.0.0.1:8080 --terminal "4401 0001" --set 5m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("set") {
				return terminalRun(cmd, c, true, func(ctx context.Context, cl *apifield.Client) (*fieldops.TerminalComm, error) {
					return cl.TerminalHeartbeat(ctx, c.terminal)
				}, func(w io.Writer, r *fieldops.TerminalComm) { printTerminalComm(w, "", r) })
			}
			return terminalRun(cmd, c, true, func(ctx context.Context, cl *apifield.Client) (*fieldops.TerminalHeartbeatSet, error) {
				return cl.SetTerminalHeartbeat(ctx, c.terminal, set)
			}, func(w io.Writer, r *fieldops.TerminalHeartbeatSet) {
				switch {
				case r.Note != "":
					fmt.Fprintf(w, "terminal %s: %s\n", r.Before.Terminal, r.Note)
				case r.Set:
					fmt.Fprintf(w, "terminal %s: heartbeat set\n", r.Before.Terminal)
				}
				printTerminalComm(w, "  before: ", &r.Before)
				if r.After != nil {
					printTerminalComm(w, "  after:  ", r.After)
				}
			})
		},
	}
	cmd.Flags().DurationVar(&set, "set", 0, "set the heartbeat period, whole minutes, e.g. 5m (audited)")
	return cmd
}

func printTerminalComm(w io.Writer, indent string, r *fieldops.TerminalComm) {
	fmt.Fprintf(w, "%sterminal %s heartbeat %v (RTS %d ms, response timeout %d s, %d retries, send delay %d min, confirm flags %02X)\n",
		indent, r.Terminal, r.Heartbeat(), r.RTSMillis, r.TimeoutS, r.Retries, r.SendDelayMin, r.ConfirmFlags)
}

func newTerminalReadCmd(c *terminalConn) *cobra.Command {
	var point int
	var current, frozen bool
	var date string
	cmd := &cobra.Command{
		Use:   "read",
		Short: "Read one measuring point's data from the terminal: --current (AFN 0C) or --frozen (AFN 0D)",
		Long: `Read one measuring point's data as the terminal holds it, on demand:
--current its current data (AFN 0C F25 voltages, currents, power and
power factor, F129/F131 forward and reverse active energy), --frozen the
daily freeze (AFN 0D F161/F163) of --date (default: yesterday). The
values are named as the DL/T 645-2007 reads of the same registers, as
headend read prints a meter's.`,
		Example: `  headend terminal read --server http://127.0.0.1:8080 --terminal "4401 0001" --point 7 --current --text
  headend terminal read --server http://127.0.0.1:8080 --terminal "4401 0001" --point 7 --frozen --date 2026-12-06`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if current == frozen {
				return errors.New("--current or --frozen: give one")
			}
			if point == 0 {
				return errors.New("--point: required: the measuring point number, 1..2040")
			}
			data := fieldops.PointCurrent
			var day time.Time
			if frozen {
				data = fieldops.PointFrozen
				if date != "" {
					var err error
					if day, err = time.Parse(time.DateOnly, date); err != nil {
						return fmt.Errorf("--date %q: want 2006-01-02", date)
					}
				}
			} else if date != "" {
				return errors.New("--date: only with --frozen")
			}
			return terminalRun(cmd, c, true, func(ctx context.Context, cl *apifield.Client) (*fieldops.TerminalReading, error) {
				return cl.TerminalRead(ctx, c.terminal, point, data, day)
			}, func(w io.Writer, r *fieldops.TerminalReading) {
				fmt.Fprintf(w, "terminal %s point %d, %s data", r.Terminal, r.Point, r.Data)
				if r.Date != "" {
					fmt.Fprintf(w, " of %s", r.Date)
				}
				fmt.Fprintln(w)
				printReading(w, &r.Reading)
			})
		},
	}
	cmd.Flags().IntVar(&point, "point", 0, "the measuring point number (测量点号), 1..2040")
	cmd.Flags().BoolVar(&current, "current", false, "its current data (AFN 0C F25, F129, F131)")
	cmd.Flags().BoolVar(&frozen, "frozen", false, "its daily freeze (AFN 0D F161, F163)")
	cmd.Flags().StringVar(&date, "date", "", "with --frozen: the day, 2006-01-02 (default yesterday)")
	return cmd
}
