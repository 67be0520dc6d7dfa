package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/headend/headend/fieldops"
	"github.com/spf13/cobra"
)

func newReadCmd() *cobra.Command {
	var c fieldConn
	var meter string
	var dis []string
	cmd := &cobra.Command{
		Use:   "read",
		Short: "Read a meter on demand, through a port of your own or the running daemon",
		Long: `Read a meter now (点抄): its instantaneous set (energies, voltages, currents,
power, power factor) unless --di names what to read. --di takes DIs in hex
(8 digits for 2007 meters, 4 for 1997), quantity names as the codec spells
them ("phase A voltage", "forward active energy total"), or the groups
instantaneous, clock, daily, monthly and status; repeat it or separate by
commas.

With --port (an RS-485 adapter) or --tcp (a serial server) the command
opens the line itself; with --server it asks the running headend serve,
whose collector reads the meter on its bus in turn with the polling.`,
		Example: `  headend read --port /dev/ttyUSB0 --baud 2400 --parity E --addr 123456789012
  headend read --tcp 10.0.0.7:4001 --addr 123456789012 --di 00010000 --di "phase A voltage" --text
  headend read --server http://127.0.0.1:8080 --token-file ~/.headend-token --meter 000002000000`,
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
			r, err := svc.ReadMeter(ctx, meter, dis)
			if err != nil {
				return fieldError(err)
			}
			if c.text {
				printReading(cmd.OutOrStdout(), r)
				return nil
			}
			return printJSON(cmd.OutOrStdout(), r)
		},
	}
	c.flags(cmd.Flags())
	meterFlag(cmd.Flags(), &meter)
	cmd.Flags().StringArrayVar(&dis, "di", nil, "what to read: a DI, a quantity name or a group (repeatable)")
	return cmd
}

func printReading(w io.Writer, r *fieldops.Reading) {
	fmt.Fprintf(w, "meter %s (%s)", r.Meter, r.Edition)
	if r.Channel != "" {
		fmt.Fprintf(w, " on %s", r.Channel)
	}
	if r.Area != "" {
		fmt.Fprintf(w, ", area %s", r.Area)
	}
	if !r.At.IsZero() {
		fmt.Fprintf(w, ", %s", r.At.Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintln(w)
	width := 0
	for _, v := range r.Values {
		width = max(width, len(v.Quantity))
	}
	for _, v := range r.Values {
		val := strings.TrimSpace(v.Value + " " + v.Unit)
		switch v.Status {
		case "ok":
		case "no_data":
			val = "no data"
		default:
			val = fmt.Sprintf("%s: %s", v.Status, v.Error)
		}
		fmt.Fprintf(w, "  %-8s  %-*s  %s\n", v.DI, width, v.Quantity, val)
	}
}
