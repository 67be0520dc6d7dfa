package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/headend/headend/fieldops"
	"github.com/spf13/cobra"
)

func newStatusCmd() *cobra.Command {
	var c fieldConn
	var items bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Channels, concentrators and per-area collection rates of the running daemon",
		Long: `Show what the running collector (--server) knows: every channel with its
link state and bus counters, every concentrator (online when all its
channels are), and each area's collection rate per reading class.

A daemon run with serve --cluster adds the cluster: the nodes, their
leases and API URLs, how many channels, areas and terminals each owns,
the answering node's fence, and with --items every item and its owner.`,
		Example: `  headend status --server http://127.0.0.1:8080 --text
  headend status --server http://127.0.0.1:8080 --text --items`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.server == "" {
				return errors.New("--server is required: the status comes from the running headend serve")
			}
			svc, closeSvc, err := c.service(cmd)
			if err != nil {
				return err
			}
			defer closeSvc()
			ctx, stop := interruptible(cmd)
			defer stop()
			st, err := svc.Status(ctx)
			if err != nil {
				return fieldError(err)
			}
			tok, _ := c.apiToken() // the service above had it
			cp, err := fetchCluster(ctx, c.server, tok)
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "headend status: no cluster part: %v\n", err)
			}
			if c.text {
				printStatus(cmd.OutOrStdout(), st, cp, items)
				return nil
			}
			return printJSON(cmd.OutOrStdout(), statusWithCluster{Status: st, Cluster: cp})
		},
	}
	c.flags(cmd.Flags())
	cmd.Flags().BoolVar(&items, "items", false, "with --text under serve --cluster: list every cluster item and its owner")
	return cmd
}

// printStatus prints st, and the cluster part cp unless nil.
func printStatus(out io.Writer, st *fieldops.Status, cp *clusterPart, items bool) {
	fmt.Fprintf(out, "status at %s\n\n", st.Now.Format("2006-01-02 15:04:05"))
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "CHANNEL\tKIND\tCONCENTRATOR\tMETERS\tLINK\tQUEUED\tTRANSACTIONS\tFAILED\n")
	for _, c := range st.Channels {
		link := "up"
		if !c.Online {
			link = "down"
			if c.Error != "" {
				link += " (" + c.Error + ")"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\n", c.ID, c.Kind, c.Concentrator, c.Meters, link, c.Queued, c.Transactions, c.Failed)
	}
	fmt.Fprintf(w, "\nCONCENTRATOR\tAREA\tCHANNELS\tONLINE\n")
	for _, c := range st.Concentrators {
		fmt.Fprintf(w, "%s\t%s\t%s\t%v\n", c.ID, c.Area, strings.Join(c.Channels, ","), c.Online)
	}
	printTerminals(w, st)
	fmt.Fprintf(w, "\nAREA\tNAME\tMETERS\tCOLLECTION\n")
	for _, a := range st.Areas {
		var rates []string
		for _, r := range a.Rates {
			rates = append(rates, fmt.Sprintf("%s %d/%d (%.1f%%)", r.Class, r.Collected, r.Expected, r.Percent))
		}
		if len(rates) == 0 {
			rates = []string{"nothing collected yet"}
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", a.ID, a.Name, a.Meters, strings.Join(rates, ", "))
	}
	if cp != nil {
		printCluster(w, cp, items)
	}
}
