// Command headend is the AMI head-end: the collector daemon and the field
// tools metering staff use beside it.
//
//	headend serve --config configs/headend.yaml   run the collector
//	headend decode [HEX ...]                      decode frames pasted from a serial sniffer
//	headend encode read --addr A --di D           build a request frame
//
// Run "headend help" for the rest.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// errReported marks an error already written to stderr in detail; main
// only sets the exit status for it.
var errReported = errors.New("reported")

func main() {
	if err := newRoot(os.Stdin, os.Stdout, os.Stderr).Execute(); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "headend:", err)
		}
		os.Exit(1)
	}
}

// newRoot builds the command tree around the given streams, so tests can
// run it in-process.
func newRoot(in io.Reader, out, errOut io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "headend",
		Short:         "AMI head-end for DL/T 645 meters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	root.AddCommand(newDecodeCmd(), newEncodeCmd(), newServeCmd(), newReadCmd(), newScanCmd(), newTimeCmd(), newRelayCmd(), newStatusCmd(), newArchiveCmd())
	root.AddCommand(newAnalyseCmd(), newReadsCmd())
	root.AddCommand(newStorageCmd())
	root.AddCommand(newTerminalCmd())
	return root
}
