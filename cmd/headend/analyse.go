package main

// headend analyse: run the analysis now, on the running daemon.

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/api"
	"github.com/spf13/cobra"
)

// analyseHandler runs the analysis now (POST /api/v1/analysis/run) and
// answers its summary; a run under way is waited for first.
func analyseHandler(an *analysis.Analyzer, clk interface{ Now() time.Time }) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := an.Run(r.Context(), clk.Now())
		if err != nil {
			api.Error(w, http.StatusInternalServerError, "%s", err)
			return
		}
		api.JSON(w, s)
	})
}

func newAnalyseCmd() *cobra.Command {
	var c fieldConn
	cmd := &cobra.Command{
		Use:   "analyse",
		Short: "Run the analysis (VEE, line loss, flags) now on the running daemon",
		Long: `Runs the analysis on the running headend serve now, instead of waiting
for the day's reads to complete (it runs by itself a few minutes after a
day's freezes are in, at 01:30 and every analysis.every). Needs a token
of the operator or admin role. Prints the run's summary.`,
		Example: `  headend analyse --server http://127.0.0.1:8080 --token-file ~/.headend-token`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.server == "" {
				return fmt.Errorf("--server URL is needed (the running headend serve, e.g. http://127.0.0.1:8080)")
			}
			tok, err := c.apiToken()
			if err != nil {
				return err
			}
			u := strings.TrimSuffix(c.server, "/") + "/api/v1/analysis/run"
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, u, nil)
			if err != nil {
				return fmt.Errorf("--server %s: %w", c.server, err)
			}
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("analyse: %w", err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return fmt.Errorf("analyse: POST %s: %w", u, err)
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("analyse: POST %s: %s: %s", u, resp.Status, strings.TrimSpace(string(b)))
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&c.server, "server", "", "URL of the running headend serve, e.g. http://127.0.0.1:8080")
	fs.StringVar(&c.token, "token", "", "API token (or "+envToken+", or --token-file)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the API token")
	return cmd
}
