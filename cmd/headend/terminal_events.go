package main

import (
	"context"
	"fmt"
	"io"

	apifield "github.com/headend/headend/api/field"
	"github.com/headend/headend/fieldops"
	"github.com/spf13/cobra"
)

// newTerminalEventsCmd is headend terminal events.
func newTerminalEventsCmd(c *terminalConn) *cobra.Command {
	var now bool
	cmd := &cobra.Command{
		Use:   "events",
		Short: "The terminal's event records (AFN 0E) read so far; --read reads the new ones now",
		Long: `List the event records (ERC) of a terminal that the head-end has read
since it began: on the terminal's event counters (EC, sent with ACD) or
reported by the terminal itself. Each names its meter, its ERC, when it
happened and the 376.1 frames it came in. --read asks the terminal for
its counters first and reads what is new. The whole history is in the
store: headend reads --class event.`,
		Example: `  headend terminal events --server http://127.0.0.1:8080 --terminal "4401 0001" --text
  headend terminal events --server http://127.0.0.1:8080 --terminal "4401 0001" --read`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return terminalRun(cmd, c, true, func(ctx context.Context, cl *apifield.Client) (*fieldops.TerminalEvents, error) {
				return cl.TerminalEvents(ctx, c.terminal, now)
			}, printTerminalEvents)
		},
	}
	cmd.Flags().BoolVar(&now, "read", false, "ask the terminal for its counters and read the new records first")
	return cmd
}

func printTerminalEvents(w io.Writer, es *fieldops.TerminalEvents) {
	fmt.Fprintf(w, "terminal %s: %d events", es.Terminal, len(es.Events))
	if es.Read > 0 {
		fmt.Fprintf(w, " (%d read now)", es.Read)
	}
	fmt.Fprintln(w)
	for _, e := range es.Events {
		at := "time unknown"
		if !e.At.IsZero() {
			at = e.At.Format("2006-01-02 15:04")
		}
		state := ""
		if !e.Began {
			state = " (ended)"
		}
		fmt.Fprintf(w, "  %s  meter %s  %s%s  [%s]\n", at, e.Meter, e.Event, state, e.Detail)
	}
}
