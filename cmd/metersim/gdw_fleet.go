package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/headend/headend/sim/field"
	"github.com/spf13/cobra"
)

// newGDWFleetCmd is metersim gdw-fleet: the load tool sim/field.Fleet on
// the command line.
func newGDWFleetCmd(out io.Writer) *cobra.Command {
	f := &field.Fleet{}
	var first int
	var area int
	var duration time.Duration
	cmd := &cobra.Command{
		Use:   "gdw-fleet",
		Short: "A load tool: many lightweight Q/GDW 1376.1 terminals dialling a head-end",
		Long: `gdw-fleet is a load tool, not a simulation: --terminals terminals (area
--area, addresses from --first) dial --headend, log in, heartbeat every
--heartbeat (spread over the interval) and answer the daily-freeze reads
AFN 0D F161/F163 of their --points points from fixed values (point n:
n.1234 kWh forward, 0 reverse), each answer --delay late (a GPRS round
trip). No meters, clocks or events; anything else is denied. The
head-end's archive must know the terminals (gdw3761 channels, frozen
mode, meters with points 1..--points).`,
		Example: `  metersim gdw-fleet --headend 127.0.0.1:9002 --terminals 10000 --delay 300ms`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Addr == "" {
				return errors.New("--headend: required: the head-end's collector.gdw3761_listen address")
			}
			if first < 1 || first > 0xFFFF || area < 0 || area > 9999 {
				return fmt.Errorf("--first %d / --area %d: want 1..65535 and 0..9999", first, area)
			}
			f.First, f.Area = uint16(first), uint16(area)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			start := time.Now()
			if err := f.Start(ctx); err != nil {
				return err
			}
			fmt.Fprintf(out, "%d terminals logged in to %s in %v\n", f.N, f.Addr, time.Since(start).Round(time.Millisecond))
			<-ctx.Done()
			f.Close()
			st := f.Stats()
			fmt.Fprintf(out, "logins %d, heartbeats %d, requests %d, answered %d, denied %d, errors %d\n",
				st.Logins, st.Heartbeats, st.Requests, st.Answered, st.Denied, st.Errors)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Addr, "headend", "", "the head-end's 376.1 master-station address (collector.gdw3761_listen)")
	fl.IntVar(&f.N, "terminals", 1000, "how many terminals")
	fl.IntVar(&area, "area", 4401, "their area code A1")
	fl.IntVar(&first, "first", 1, "the first terminal address A2 (the others follow)")
	fl.IntVar(&f.Points, "points", 32, "measuring points per terminal")
	fl.DurationVar(&f.Heartbeat, "heartbeat", time.Minute, "heartbeat interval")
	fl.DurationVar(&f.Delay, "delay", 0, "delay before each answer (a GPRS round trip, e.g. 300ms)")
	fl.IntVar(&f.Dialers, "dialers", 64, "terminals dialling at once")
	fl.DurationVar(&duration, "for", 0, "stop after this much real time (0: until interrupted)")
	return cmd
}
