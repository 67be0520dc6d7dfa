package main

// headend reads: a meter's stored reads, printed for a person.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
	"github.com/spf13/cobra"
)

func newReadsCmd() *cobra.Command {
	var (
		cfgPath, meterID, from, to, class, quantity string
		limit                                       int
		asJSON, frames                              bool
	)
	cmd := &cobra.Command{
		Use:   "reads",
		Short: "Print a meter's stored reads for a person",
		Long: `Prints the reads the store holds for one meter (or an area), through the
store's own query, so it works on the embedded store and InfluxDB alike:
the time (the meter's stamp, else when it was read) in collector.zone, the
class, the DI in hex, the quantity, the value with its unit, the status
and, for a read that is not OK, why. --frames adds the request and reply
bytes in hex. --from and --to are dates (YYYY-MM-DD) or RFC 3339 times;
--to is excluded.`,
		Example: `  headend reads --config configs/headend.yaml --meter 000001000001 --from 2025-06-01 --to 2025-06-03
  headend reads --meter 000001000001 --class daily --quantity "forward active energy total"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgPath, nil)
			if err != nil {
				return err
			}
			loc := cfg.Collector.Location()
			q := store.Query{Class: meter.Class(class), Quantity: quantity, Limit: limit}
			if meterID != "" {
				q.Meters = []string{meterID}
			}
			if meterID == "" {
				return fmt.Errorf("--meter ADDRESS is needed (the meter's 12-digit address)")
			}
			if q.From, err = parseWhen("--from", from, loc); err != nil {
				return err
			}
			if q.To, err = parseWhen("--to", to, loc); err != nil {
				return err
			}
			if class != "" && !knownClass(meter.Class(class)) {
				return fmt.Errorf("--class %q: want one of instantaneous, interval, daily, monthly, clock, ondemand", class)
			}
			log := slog.New(slog.DiscardHandler)
			st, err := daemon.OpenStore(cmd.Context(), cfg, schedule.RealClock{}, log)
			if err != nil {
				return err
			}
			defer st.Close()
			rs, err := st.Query(context.WithoutCancel(cmd.Context()), q)
			if err != nil {
				return fmt.Errorf("reads of %s: %w", meterID, err)
			}
			if asJSON {
				return printReadsJSON(cmd.OutOrStdout(), rs, loc)
			}
			return printReads(cmd.OutOrStdout(), rs, loc, frames)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfgPath, "config", "configs/headend.yaml", "configuration file (where the store is)")
	fs.StringVar(&meterID, "meter", "", "the meter's 12-digit address")
	fs.StringVar(&from, "from", "", "first day or time (default: the first read)")
	fs.StringVar(&to, "to", "", "day or time after the last (default: now)")
	fs.StringVar(&class, "class", "", "only this class: instantaneous, interval, daily, monthly, clock, ondemand, event")
	fs.StringVar(&quantity, "quantity", "", `only this quantity, e.g. "forward active energy total"`)
	fs.IntVar(&limit, "limit", 1000, "at most this many reads (0: all)")
	fs.BoolVar(&asJSON, "json", false, "print JSON lines instead of a table")
	fs.BoolVar(&frames, "frames", false, "add each read's request and reply frames in hex")
	return cmd
}

func knownClass(c meter.Class) bool {
	switch c {
	case meter.Instantaneous, meter.Interval, meter.Daily, meter.Monthly, meter.Clock, meter.OnDemand, meter.Event:
		return true
	}
	return false
}

// parseWhen reads a --from or --to: empty, a date or an RFC 3339 time.
func parseWhen(flag, s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want a date (2025-06-01) or an RFC 3339 time (2025-06-01T08:00:00+08:00)", flag, s)
}

// value is a read's value for a person: the number with its unit, or
// its text.
func value(r *meter.Read) string {
	switch {
	case r.Status != meter.OK:
		return ""
	case r.Text != "":
		return r.Text
	}
	return strings.TrimSpace(r.Value.String() + " " + r.Unit)
}

func di(d dlt645.DI, ed dlt645.Edition) string {
	if ed == 0 {
		ed = dlt645.DLT2007
	}
	return d.Format(ed)
}

func printReads(w io.Writer, rs []meter.Read, loc *time.Location, frames bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "TIME\tCLASS\tDI\tQUANTITY\tVALUE\tSTATUS\tREAD AT"
	if frames {
		head += "\tREQUEST\tREPLY"
	}
	fmt.Fprintln(tw, head)
	for i := range rs {
		r := &rs[i]
		status := string(r.Status)
		if r.Err != "" {
			status += ": " + r.Err
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", store.Time(r).In(loc).Format("2006-01-02 15:04:05"), r.Class, di(r.DI, r.Edition),
			r.Quantity, value(r), status, r.ReadAt.In(loc).Format("2006-01-02 15:04:05"))
		if frames {
			var rep []string
			for _, f := range r.Frame.Reply {
				rep = append(rep, fmt.Sprintf("% X", f))
			}
			line += fmt.Sprintf("\t% X\t%s", r.Frame.Request, strings.Join(rep, " | "))
		}
		fmt.Fprintln(tw, line)
		if frames {
			for _, l := range earlierLines(&r.Frame) {
				fmt.Fprintln(tw, l) // no tab: outside the columns
			}
		}
	}
	if len(rs) == 0 {
		fmt.Fprintln(tw, "(no reads)")
	}
	return tw.Flush()
}

func printReadsJSON(w io.Writer, rs []meter.Read, loc *time.Location) error {
	enc := json.NewEncoder(w)
	for i := range rs {
		r := &rs[i]
		if err := enc.Encode(map[string]any{"time": store.Time(r).In(loc).Format(time.RFC3339), "meter": r.Meter, "class": r.Class,
			"di": di(r.DI, r.Edition), "quantity": r.Quantity, "value": value(r), "unit": r.Unit, "status": r.Status, "error": r.Err,
			"read_at": r.ReadAt.In(loc).Format(time.RFC3339)}); err != nil {
			return err
		}
	}
	return nil
}

// earlierLines describes, for a technician, the tries of a read's
// transaction that gave no answer: what was sent, what came back (each
// frame in hex with what is wrong with it) and why the try failed.
func earlierLines(f *meter.FrameRef) []string {
	var out []string
	for i, x := range f.Earlier {
		got := "nothing received"
		if len(x.Received) > 0 {
			var parts []string
			for _, b := range x.Received {
				if len(b) == 0 {
					parts = append(parts, "a malformed frame (bytes not kept)")
					continue
				}
				var fr dlt645.Frame
				why := "not the reply awaited"
				if err := fr.UnmarshalBinary(b); err != nil {
					why = err.Error()
				}
				parts = append(parts, fmt.Sprintf("%q %s", fmt.Sprintf("% X", b), why))
			}
			got = "received " + strings.Join(parts, ", ")
		}
		out = append(out, fmt.Sprintf("    try %d: sent % X; %s; %s", i+1, x.Request, got, x.Err))
	}
	if f.Dropped > 0 {
		out = append(out, fmt.Sprintf("    (%d more tries not kept)", f.Dropped))
	}
	if len(out) > 0 && f.Request != nil {
		out = append(out, fmt.Sprintf("    try %d: answered (the frames above)", len(f.Earlier)+f.Dropped+1))
	}
	return out
}
