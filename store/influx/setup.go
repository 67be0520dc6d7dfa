package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/headend/headend/store"
)

// Setup prepares an InfluxDB 1.8 database for the head-end: it creates the
// database db and one retention policy per kind (raw, registers,
// aggregates) keeping data for the durations in ret (0: forever), and
// returns the buckets to use ("db/raw" and so on). A duration below
// InfluxDB's minimum of 1h gets a 1h policy; give the same ret as
// Options.Retention and Query hides what is past it. Shard durations are
// InfluxDB's defaults for the durations (1h below 2 days, 1 day up to 6
// months, 7 days beyond). It runs InfluxQL through the 1.x /query
// endpoint; token is "user:password", or empty without auth. It can be
// run again: policies that exist are altered to the durations given.
//
// On InfluxDB 2.x the operator makes the buckets instead, with their
// retention (see store/README.md), and names them in Options.Buckets.
func Setup(ctx context.Context, baseURL, token, db string, ret store.Retention) (Buckets, error) {
	b := Buckets{Raw: db + "/raw", Registers: db + "/registers", Aggregates: db + "/aggregates"}
	stmts := []string{fmt.Sprintf("CREATE DATABASE %s", ident(db))}
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"raw", ret.Raw}, {"registers", ret.Registers}, {"aggregates", ret.Aggregates}} {
		dur, shard := "INF", "7d"
		if p.d > 0 {
			d := max(p.d, time.Hour)
			dur = fmt.Sprintf("%dm", int64((d+time.Minute-1)/time.Minute))
			switch {
			case d < 48*time.Hour:
				shard = "1h"
			case d <= 180*24*time.Hour:
				shard = "1d"
			}
		}
		stmts = append(stmts,
			fmt.Sprintf("CREATE RETENTION POLICY %s ON %s DURATION %s REPLICATION 1 SHARD DURATION %s", ident(p.name), ident(db), dur, shard),
			fmt.Sprintf("ALTER RETENTION POLICY %s ON %s DURATION %s SHARD DURATION %s", ident(p.name), ident(db), dur, shard))
	}
	for _, q := range stmts {
		if err := influxQL(ctx, baseURL, token, q); err != nil {
			return b, fmt.Errorf("influx setup %s: database %s: %s: %w", baseURL, db, q, err)
		}
	}
	return b, nil
}

// ident quotes an InfluxQL identifier.
func ident(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// influxQL runs one statement through /query and reports its error.
func influxQL(ctx context.Context, baseURL, token, q string) error {
	form := url.Values{"q": {q}}
	if u, p, ok := strings.Cut(token, ":"); ok {
		form.Set("u", u)
		form.Set("p", p)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var out struct {
		Error   string `json:"error"`
		Results []struct {
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if out.Error != "" {
		return fmt.Errorf("%s", out.Error)
	}
	for _, r := range out.Results {
		if r.Error != "" {
			return fmt.Errorf("%s", r.Error)
		}
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}
