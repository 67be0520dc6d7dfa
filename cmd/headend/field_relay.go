package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/headend/headend/fieldops"
	"github.com/spf13/cobra"
)

func newRelayCmd() *cobra.Command {
	var c fieldConn
	var auth authFlags
	var meter, until string
	cmd := &cobra.Command{
		Use:   "relay trip|close|allow-close",
		Short: "Trip or close a meter's supply relay (needs password and operator code)",
		Long: `Send a relay control command (function 1C, DL/T 645-2007 meters): trip
opens the supply, close closes it, allow-close lets the customer close it.
The meter's password (--password, --password-file or
HEADEND_METER_PASSWORD; 6 digits, or 8 with the level first) and your
operator code (--operator) are required; without them nothing is sent.
The relay state is read back afterwards. Every command is audited
(--audit-log with --port or --tcp; the daemon's audit with --server,
where it needs the operator role). The password is never printed.`,
		Example: `  headend relay trip --port /dev/ttyUSB0 --addr 000031000001 --password-file pw --operator 1A2B
  headend relay close --server http://127.0.0.1:8080 --meter 000031000001 --operator 1A2B`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needMeter(meter); err != nil {
				return err
			}
			pw, err := auth.secret()
			if err != nil {
				return err
			}
			rq := fieldops.RelayRequest{Action: args[0], Password: pw, Level: auth.level, Operator: auth.operator}
			if until != "" {
				t, err := time.ParseInLocation("2006-01-02T15:04:05", until, time.Local)
				if err != nil {
					if t, err = time.Parse(time.RFC3339, until); err != nil {
						return fmt.Errorf("--until %q: want 2006-01-02T15:04:05 (local) or RFC 3339", until)
					}
				}
				rq.Until = t
			}
			svc, closeSvc, err := c.service(cmd)
			if err != nil {
				return err
			}
			defer closeSvc()
			ctx, stop := interruptible(cmd)
			defer stop()
			r, err := svc.Relay(ctx, meter, rq)
			if err != nil {
				var pe *fieldops.ParamError
				if errors.As(err, &pe) && pe.Param == "action" {
					return fmt.Errorf("relay %s: %s", args[0], pe.Reason)
				}
				return fieldError(err)
			}
			if c.text {
				state := "state not read back"
				if r.State != "" {
					state = "relay " + r.State
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %s (operator %s, %s)\n", r.Action, r.Meter, state, r.Operator, r.At.Format("2006-01-02 15:04:05"))
				return nil
			}
			return printJSON(cmd.OutOrStdout(), r)
		},
	}
	c.flags(cmd.Flags())
	meterFlag(cmd.Flags(), &meter)
	auth.flags(cmd.Flags())
	cmd.Flags().StringVar(&until, "until", "", "deadline of the command (default: 10 minutes from now)")
	return cmd
}
