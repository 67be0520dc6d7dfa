package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/headend/headend/fieldops"
	"github.com/spf13/cobra"
)

func newScanCmd() *cobra.Command {
	var c fieldConn
	var rq fieldops.ScanRequest
	var channel string
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Find the meters on a bus: read address, or a search over an address range",
		Long: `Find which meters answer on a bus. Without --from/--to it asks the
wildcard address AAAAAAAAAAAA for its address (function 13), which only
works with one meter on the line: several answer at once and collide.
With --from and --to it reads every address of the range (at most 10000),
waiting --wait at each; --read-address does both. --edition says what to
speak: 2007, 1997 or both (the default; an empty address then costs two
waits). Progress goes to standard error; the result to standard output.

Through --server it scans a channel of the running collector (--channel),
which stops polling that bus while the scan runs, and compares what it
finds with the archive: meters found that the archive does not have on
the channel, and meters of the archive in the range that did not answer.`,
		Example: `  headend scan --port /dev/ttyUSB0
  headend scan --port /dev/ttyUSB0 --from 000031000000 --to 000031000099 --text
  headend scan --server http://127.0.0.1:8080 --channel C0105-1 --from 5000000 --to 5000080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rq.Edition = c.edition
			if strings.EqualFold(c.edition, "both") {
				c.edition = "2007" // what to speak is rq.Edition's
			}
			if c.server != "" && channel == "" {
				return fmt.Errorf("--channel is required with --server: the collector's channel to scan")
			}
			svc, closeSvc, err := c.service(cmd)
			if err != nil {
				return err
			}
			defer closeSvc()
			ctx, stop := interruptible(cmd)
			defer stop()
			bar := newProgress(cmd.ErrOrStderr(), "scan")
			res, err := svc.Scan(ctx, channel, rq, bar.update)
			bar.done()
			if res != nil {
				if c.text {
					printScan(cmd.OutOrStdout(), res)
				} else if perr := printJSON(cmd.OutOrStdout(), res); perr != nil {
					return perr
				}
			}
			return fieldError(err)
		},
	}
	c.flags(cmd.Flags())
	ed := cmd.Flags().Lookup("edition")
	ed.Usage, ed.DefValue = "what to speak: 2007, 1997 or both", "both"
	ed.Value.Set("both")
	cmd.Flags().StringVar(&channel, "channel", "", "the collector's channel to scan (--server)")
	cmd.Flags().StringVar(&rq.From, "from", "", "first address of a range to search")
	cmd.Flags().StringVar(&rq.To, "to", "", "last address of the range")
	cmd.Flags().BoolVar(&rq.ReadAddress, "read-address", false, "also ask the wildcard address (the default without a range)")
	cmd.Flags().IntVar(&rq.TimeoutMS, "wait", 0, "milliseconds to wait at each address of the range (default 500)")
	return cmd
}

func printScan(w io.Writer, r *fieldops.ScanResult) {
	where := "the bus"
	if r.Channel != "" {
		where = r.Channel
	}
	fmt.Fprintf(w, "%s: %d addresses probed, %d meters answered\n", where, r.Probed, len(r.Found))
	for _, f := range r.Found {
		fmt.Fprintf(w, "  %s  %s  %s", f.Address, f.Edition, f.How)
		if f.InArchive != nil && !*f.InArchive {
			if f.ArchiveChannel != "" {
				fmt.Fprintf(w, "  (the archive has it on %s)", f.ArchiveChannel)
			} else {
				fmt.Fprint(w, "  (not in the archive)")
			}
		}
		if f.Note != "" {
			fmt.Fprintf(w, "  %s", f.Note)
		}
		fmt.Fprintln(w)
	}
	for _, m := range r.Missing {
		fmt.Fprintf(w, "  %s  in the archive on this bus: did not answer\n", m)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// progress shows a long operation's progress on standard error: a bar
// redrawn in place on a terminal, otherwise a counter line at every
// tenth of the way.
type progress struct {
	w     io.Writer
	what  string
	tty   bool
	shown bool
	last  int // tenths shown (counter lines)
}

func newProgress(w io.Writer, what string) *progress {
	p := &progress{w: w, what: what, last: -1}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(done, total int) {
	if total <= 0 {
		return
	}
	if p.tty {
		const width = 30
		n := done * width / total
		fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", p.what, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
		p.shown = true
		return
	}
	if tenth := done * 10 / total; tenth != p.last {
		p.last = tenth
		fmt.Fprintf(p.w, "%s: %d/%d\n", p.what, done, total)
	}
}

func (p *progress) done() {
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}
