package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon"
	"github.com/headend/headend/daemon/config"
	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	var cfgPath, follow string
	var report time.Duration
	var clustered bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the collector: read every meter of the archive on schedule",
		Long: `Run the collector daemon. It opens every channel of the archive (serial
ports, concentrators it dials, concentrators that dial in, MQTT gateways,
Modbus), reads every meter on its schedules with one transaction in flight
per bus, and logs each area's collection rate. GET /status on the HTTP
address reports rates, channels and buses.

SIGHUP, or a change of the configuration file or a file it names, reloads
the configuration: each section is applied, or the reload is refused
naming the section that needs a restart (docs/reload.md).

--follow makes the collector run on a metersim's clock (its simulated time
and speed), so that a demo shows days of reads in minutes.

--cluster shares the channels with the other head-ends of the cluster
named in the configuration's cluster section (etcd): this node polls only
the channels it owns, takes over a dead node's a lease TTL later, and
hands its own on when it stops (docs/cluster.md).`,
		Example: `  headend serve --config configs/headend.yaml
  headend serve --config configs/headend.yaml --follow http://127.0.0.1:8090
  headend serve --config node1.yaml --cluster`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgPath, cmd.Flags())
			if err != nil {
				return err
			}
			if clustered && !cfg.Cluster.Enabled() {
				return fmt.Errorf("serve --cluster: %s names no etcd: set cluster.etcd (docs/cluster.md)", cfgPath)
			}
			opts := daemon.Options{Log: cmd.ErrOrStderr(), Report: report, Flags: cmd.Flags(), Cluster: clustered}
			if follow != "" {
				clk, err := followClock(follow)
				if err != nil {
					return err
				}
				opts.Clock = clk
			}
			return daemon.Run(cmd.Context(), cfg, opts)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "configs/headend.yaml", "configuration file")
	cmd.Flags().StringVar(&follow, "follow", "", "run on the clock of the metersim at this URL (demo)")
	cmd.Flags().BoolVar(&clustered, "cluster", false, "share the channels with the cluster's other nodes through etcd (the cluster section)")
	cmd.Flags().DurationVar(&report, "report", 10*time.Second, "how often to log the collection rates (real time)")
	config.RegisterFlags(cmd.Flags())
	return cmd
}

// followClock reads a metersim's simulated time and speed.
func followClock(url string) (schedule.ScaledClock, error) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(strings.TrimSuffix(url, "/") + "/healthz")
	if err != nil {
		return schedule.ScaledClock{}, fmt.Errorf("--follow: %w", err)
	}
	defer resp.Body.Close()
	var h struct {
		Time  time.Time `json:"simulated_time"`
		Speed float64   `json:"speed"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Speed <= 0 {
		return schedule.ScaledClock{}, fmt.Errorf("--follow %s: not a metersim /healthz (%v)", url, err)
	}
	return schedule.ScaledClock{Start: h.Time, RealStart: time.Now(), Speed: h.Speed}, nil
}
