package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon"
	"github.com/headend/headend/store/results"

	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/fieldops"
	"github.com/spf13/cobra"
)

func newArchiveCmd() *cobra.Command {
	var cfgPath, auditLog string
	cmd := &cobra.Command{
		Use:   "archive",
		Short: "Exchange the archive's meters as CSV (export, import)",
		Long: `Exchange the meters of the archive (档案) as CSV, the form utilities'
systems export: columns ` + "address, edition, unit, channel, area, role, customer, customer_name, ct, pt, tariff" + `.`,
	}
	cmd.PersistentFlags().StringVar(&cfgPath, "config", "configs/headend.yaml", "configuration file")

	var (
		out       string
		exchanges bool
	)
	export := &cobra.Command{
		Use:   "export",
		Short: "Write every meter (or, with --exchanges, every meter exchange) of the archive as one CSV",
		Example: `  headend archive export --config configs/headend.yaml --out meters.csv
  headend archive export --config configs/headend.yaml --exchanges --out exchanges.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgPath, nil)
			if err != nil {
				return err
			}
			var b bytes.Buffer
			what, n := "meters", len(cfg.Archive.Meters)
			if exchanges {
				what, n = "exchanges", len(cfg.Archive.Exchanges)
				err = archive.WriteExchangesCSV(&b, cfg.Archive.Exchanges)
			} else {
				err = fieldops.ExportMeters(&b, archiveFiles(cfg))
			}
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(b.Bytes())
				return err
			}
			if err := writeFileAtomic(out, b.Bytes()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d %s written to %s\n", n, what, out)
			return nil
		},
	}
	export.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	export.Flags().BoolVar(&exchanges, "exchanges", false, "write the meter exchanges on record instead (archive.exchanges and archive.exchanges_csv), in the form archive.exchanges_csv reads")

	var opt fieldops.ImportOptions
	imp := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Merge meters from a CSV into the archive's CSV files",
		Long: `Merge the meters of a CSV into the archive: a meter already in the
archive has its row replaced where it is, a new one goes to the CSV file
that holds most meters of its area (or --into). Every row is checked, and
the archive with the import validated as a whole; every problem is
reported with its file and line, and nothing is written if there is one.
The files are replaced atomically; a running headend serve reloads them.
The import is audited (--audit-log, or ` + envAuditLog + `, or standard error).`,
		Example: `  headend archive import --config configs/headend.yaml meters.csv
  headend archive import --config configs/headend.yaml --into configs/archive-demo/D06.csv --dry-run new-area.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(cfgPath, nil)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			audit, closeAudit, err := (&fieldConn{auditLog: auditLog}).audit(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeAudit()
			im, err := fieldops.ImportMeters(cmd.Context(), archiveFiles(cfg), f, filepath.Base(args[0]), opt, &fieldops.Options{Audit: audit})
			if err != nil {
				var pe *fieldops.ParamError
				if errors.As(err, &pe) {
					return fieldError(err)
				}
				lines := strings.Split(err.Error(), "\n")
				for _, l := range lines {
					fmt.Fprintln(cmd.ErrOrStderr(), l)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d problems; nothing imported\n", args[0], len(lines))
				return errReported
			}
			verb := "imported"
			if im.DryRun {
				verb = "would import"
			} else if n, err := logArchiveChange(cmd.Context(), cfg, cfgPath, "headend archive import "+filepath.Base(args[0])); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "archive change log: %v\n", err)
			} else {
				fmt.Fprintf(cmd.ErrOrStderr(), "archive change log: %d changes recorded\n", n)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %d added, %d updated, in %s\n", verb, args[0], len(im.Added), len(im.Updated), strings.Join(im.Files, ", "))
			return nil
		},
	}
	imp.Flags().StringVar(&opt.Into, "into", "", "archive CSV file for new meters (default: the file of their area)")
	imp.Flags().BoolVar(&opt.DryRun, "dry-run", false, "check and say what would change, write nothing")
	imp.Flags().StringVar(&auditLog, "audit-log", "", "file to append the audit record to (JSON lines)")
	cmd.AddCommand(export, imp)
	return cmd
}

// writeFileAtomic writes a file through a temporary one and a rename.
func writeFileAtomic(path string, data []byte) error {
	t, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = t.Write(data)
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(t.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(t.Name(), path)
	}
	if err != nil {
		os.Remove(t.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// logArchiveChange records what an import changed in the archive (who,
// when, before, after) in the head-end's results store, beside the
// analysis: the archive before is before, the archive the file now loads
// is after.
func logArchiveChange(ctx context.Context, before *config.Config, cfgPath, source string) (int, error) {
	after, err := config.Load(cfgPath, nil)
	if err != nil {
		return 0, err
	}
	res, err := daemon.OpenResults(ctx, after, schedule.RealClock{}) // results.db, or PostgreSQL
	if err != nil {
		return 0, err
	}
	defer res.Close()
	who := os.Getenv("USER")
	if who == "" {
		who = "unknown user"
	}
	ch, err := (&results.ChangeLog{Results: res, Now: time.Now}).Log(ctx, who, source, before.Archive, after.Archive)
	return len(ch), err
}

// archiveFiles is the archive of cfg as the archive commands read and write it.
func archiveFiles(cfg *config.Config) fieldops.ArchiveFiles {
	return fieldops.ArchiveFiles{Config: cfg.File, Patterns: cfg.Sources.MetersCSV, Files: cfg.ArchiveFiles, Archive: cfg.Archive}
}
