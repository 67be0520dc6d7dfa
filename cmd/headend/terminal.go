package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	apifield "github.com/headend/headend/api/field"
	"github.com/headend/headend/collector/terminal"
	"github.com/headend/headend/fieldops"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// terminalConn is how the terminal commands reach the running daemon.
type terminalConn struct {
	fieldConn
	terminal string
}

func (c *terminalConn) flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.server, "server", "", "URL of the running headend serve, e.g. http://127.0.0.1:8080")
	fs.StringVar(&c.token, "token", "", "API token for --server (or "+envToken+", or --token-file)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the API token")
	fs.BoolVar(&c.text, "text", false, "print for a person instead of JSON")
}

func (c *terminalConn) client(needTerminal bool) (*apifield.Client, error) {
	if c.server == "" {
		return nil, errors.New("--server: required: the URL of the running headend serve (the terminals dial in to it)")
	}
	if needTerminal && c.terminal == "" {
		return nil, errors.New(`--terminal: required: the terminal's area code and address, e.g. "4401 0001"`)
	}
	tok, err := c.apiToken()
	if err != nil {
		return nil, err
	}
	return &apifield.Client{URL: c.server, Token: tok}, nil
}

func newTerminalCmd() *cobra.Command {
	var c terminalConn
	cmd := &cobra.Command{
		Use:   "terminal",
		Short: "Configure the Q/GDW 1376.1 concentrators that dial in: status, meter archive, clock, events",
		Long: `Work on the Q/GDW 1376.1 terminals (concentrators) logged in to the
running headend serve, through --server: which are online, their meter
archive (AFN 04 F10 download, AFN 0A F10 read-back and its diff with the
head-end's archive) and their clock (AFN 0C F2 read, AFN 05 F31 set).
The archive push and the clock set are audited.`,
		Example: `  headend terminal status --server http://127.0.0.1:8080 --text
  headend terminal archive diff --server http://127.0.0.1:8080 --terminal "4401 0001" --text
  headend terminal archive push --server http://127.0.0.1:8080 --terminal "4401 0001"
  headend terminal time --server http://127.0.0.1:8080 --terminal "4401 0001" --set`,
	}
	c.flags(cmd.PersistentFlags())
	cmd.PersistentFlags().StringVar(&c.terminal, "terminal", "", `the terminal, its area code and address, e.g. "4401 0001"`)

	status := &cobra.Command{
		Use: "status", Short: "The terminals, online or not, their last heartbeat and clock", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return terminalRun(cmd, &c, false, func(ctx context.Context, cl *apifield.Client) ([]terminal.Status, error) {
				return cl.TerminalStatus(ctx)
			},
				func(w io.Writer, ts []terminal.Status) {
					if len(ts) == 0 {
						fmt.Fprintln(w, "no terminals")
					}
					for _, t := range ts {
						state := "offline"
						if t.Online {
							state = "online since " + t.Since.Format("2006-01-02 15:04:05")
						}
						fmt.Fprintf(w, "terminal %s: %s", t.ID, state)
						if !t.LastHeartbeat.IsZero() {
							fmt.Fprintf(w, ", last heartbeat %s", t.LastHeartbeat.Format("2006-01-02 15:04:05"))
						}
						if t.Err != "" {
							fmt.Fprintf(w, " (%s)", t.Err)
						}
						fmt.Fprintln(w)
					}
				})
		},
	}

	archive := &cobra.Command{Use: "archive", Short: "A terminal's meter archive against the head-end's: pull, diff, push"}
	pull := &cobra.Command{
		Use: "pull", Short: "Read the terminal's meter archive back (AFN 0A F10) as it holds it", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return terminalRun(cmd, &c, true, func(ctx context.Context, cl *apifield.Client) ([]fieldops.ArchiveEntry, error) {
				return cl.TerminalArchivePull(ctx, c.terminal)
			},
				func(w io.Writer, es []fieldops.ArchiveEntry) {
					fmt.Fprintf(w, "terminal %s: %d entries\n", c.terminal, len(es))
					for _, e := range es {
						fmt.Fprintf(w, "  entry %4d  point %4d  meter %s  port %d  baud %d  protocol %d  tariffs %d  class %d.%d\n",
							e.Serial, e.Point, e.Meter, e.Port, e.Baud, e.Protocol, e.Tariffs, e.Class, e.Subclass)
					}
				})
		},
	}
	diff := &cobra.Command{
		Use: "diff", Short: "Read the terminal's meter archive back (AFN 0A F10) and compare it with the head-end's", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return terminalRun(cmd, &c, true, func(ctx context.Context, cl *apifield.Client) (*apifield.DiffReply, error) {
				return cl.TerminalArchiveDiff(ctx, c.terminal)
			},
				func(w io.Writer, d *apifield.DiffReply) {
					fmt.Fprintln(w, d.Summary)
				})
		},
	}
	push := &cobra.Command{
		Use: "push", Short: "Download the head-end's meter archive into the terminal (AFN 04 F10), then diff", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return terminalRun(cmd, &c, true, func(ctx context.Context, cl *apifield.Client) (*fieldops.ArchivePush, error) {
				return cl.TerminalArchivePush(ctx, c.terminal)
			},
				func(w io.Writer, r *fieldops.ArchivePush) {
					fmt.Fprintf(w, "terminal %s: %d of %d entries confirmed\n%s\n", r.Terminal, r.Confirmed, r.Entries, r.After)
				})
		},
	}
	archive.AddCommand(pull, diff, push)

	var set, force bool
	tm := &cobra.Command{
		Use: "time", Short: "Read a terminal's clock (AFN 0C F2); --set sets it to the head-end's (AFN 05 F31)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			ctx, stop := interruptible(cmd)
			defer stop()
			w := cmd.OutOrStdout()
			if !set {
				r, err := cl.TerminalTime(ctx, c.terminal)
				if err != nil {
					return fieldError(err)
				}
				if c.text {
					printTerminalClock(w, "", r)
					return nil
				}
				return printJSON(w, r)
			}
			r, err := cl.SetTerminalTime(ctx, c.terminal, force)
			if err != nil {
				return fieldError(err)
			}
			if !c.text {
				return printJSON(w, r)
			}
			if !r.Set {
				fmt.Fprintf(w, "terminal %s: %s\n", r.Before.Terminal, r.Note)
			} else {
				fmt.Fprintf(w, "terminal %s: clock set\n", r.Before.Terminal)
			}
			printTerminalClock(w, "  before: ", &r.Before)
			if r.After != nil {
				printTerminalClock(w, "  after:  ", r.After)
			}
			return nil
		},
	}
	tm.Flags().BoolVar(&set, "set", false, "set the terminal's clock to the head-end's (audited)")
	tm.Flags().BoolVar(&force, "force", false, "with --set: set it even within tolerance or beyond the ±5 min correction limit")

	cmd.AddCommand(status, archive, tm, newTerminalEventsCmd(&c), newTerminalHeartbeatCmd(&c), newTerminalReadCmd(&c)) // terminal_events.go, terminal_ops.go
	return cmd
}

func printTerminalClock(w io.Writer, indent string, r *fieldops.TerminalClock) {
	fmt.Fprintf(w, "%sterminal %s clock %s, head-end %s: %s\n", indent, r.Terminal,
		r.TerminalTime.Format("2006-01-02 15:04:05"), r.HeadEndTime.Format("2006-01-02 15:04:05"), signed(r.ErrorSeconds))
}

// terminalRun is one terminal command: the client (with --terminal when
// needTerminal), an interruptible context, the operation, and its result
// as JSON or, with --text, through text for a person.
func terminalRun[T any](cmd *cobra.Command, c *terminalConn, needTerminal bool, op func(context.Context, *apifield.Client) (T, error), text func(io.Writer, T)) error {
	cl, err := c.client(needTerminal)
	if err != nil {
		return err
	}
	ctx, stop := interruptible(cmd)
	defer stop()
	v, err := op(ctx, cl)
	if err != nil {
		return fieldError(err)
	}
	if !c.text {
		return printJSON(cmd.OutOrStdout(), v)
	}
	text(cmd.OutOrStdout(), v)
	return nil
}
