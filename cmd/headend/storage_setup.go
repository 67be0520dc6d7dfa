package main

// headend storage influx-setup: prepares an InfluxDB 1.8 database.

import (
	"fmt"

	"github.com/headend/headend/daemon"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/store/influx"
	"github.com/spf13/cobra"
)

func newStorageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "storage",
		Short: "Prepare the store (influx-setup)",
	}
	cmd.AddCommand(newInfluxSetupCmd())
	return cmd
}

func newInfluxSetupCmd() *cobra.Command {
	var cfgPath, db string
	cmd := &cobra.Command{
		Use:   "influx-setup",
		Short: "Create the database and retention policies on InfluxDB 1.8",
		Long: `Creates, on the InfluxDB 1.8 server at store.url (with store.token as
"user:password", or any token without auth), the database --database and
its retention policies raw, registers and aggregates, keeping data for
store.retention's durations (0: forever; below 1h: 1h). It can be run
again: policies that exist get the durations given. It prints the
buckets to name in store.bucket, store.bucket_raw and
store.bucket_aggregates, and says so if the configuration names others.

On InfluxDB 2.x make the buckets with "influx bucket create" instead
(see store/README.md).`,
		Example: `  headend storage influx-setup --config configs/headend.yaml
  headend storage influx-setup --config configs/headend.yaml --database ami`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgPath, nil)
			if err != nil {
				return err
			}
			s := cfg.Store
			if s.Kind != "influxdb" {
				return fmt.Errorf("%s: store.kind is %q: influx-setup needs store.kind influxdb with store.url", cfgPath, s.Kind)
			}
			if db == "" {
				return fmt.Errorf("--database: must not be empty")
			}
			b, err := influx.Setup(cmd.Context(), s.URL, s.Token, db, daemon.Retention(s.Retention))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "database %s ready on %s\n", db, s.URL)
			fmt.Fprintf(out, "store:\n  bucket: %s\n  bucket_raw: %s\n  bucket_aggregates: %s\n", b.Registers, b.Raw, b.Aggregates)
			raw, agg := s.BucketRaw, s.BucketAggregates
			if raw == "" {
				raw = s.Bucket
			}
			if agg == "" {
				agg = s.Bucket
			}
			if s.Bucket != b.Registers || raw != b.Raw || agg != b.Aggregates {
				fmt.Fprintf(out, "%s names other buckets (bucket %s, bucket_raw %s, bucket_aggregates %s): set the three above\n",
					cfgPath, s.Bucket, raw, agg)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfgPath, "config", "configs/headend.yaml", "configuration file (store.url, store.token, store.retention)")
	fs.StringVar(&db, "database", "headend", "InfluxDB 1.8 database to create")
	return cmd
}
