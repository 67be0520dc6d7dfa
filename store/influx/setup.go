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
// aggregates), each with the retention given (0: forever; anything else
// at least 1h, the server's minimum), and returns the buckets to use. It
// runs InfluxQL through the 1.x /query endpoint; token is "user:password"
// or empty. It can be run again: policies that exist are altered to the
// durations given.
//
// On InfluxDB 2.x, buckets are made by the operator instead (influx
// bucket create --name headend-raw --retention 90d, and so on) and named
// in the configuration.
func Setup(ctx context.Context, baseURL, token, db string, ret store.Retention) (Buckets, error) {
	b := Buckets{Raw: db + "/raw", Registers: db + "/registers", Aggregates: db + "/aggregates"}
	stmts := []string{fmt.Sprintf("CREATE DATABASE %s", ident(db))}
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"raw", ret.Raw}, {"registers", ret.Registers}, {"aggregates", ret.Aggregates}} {
		dur := "INF"
		if p.d > 0 {
			if p.d < time.Hour {
				return b, fmt.Errorf("influx setup %s: retention %s of %s is below InfluxDB's minimum of 1h", db, p.d, p.name)
			}
			dur = fmt.Sprintf("%dm", int64(p.d/time.Minute))
		}
		shard := "1d"
		if p.d > 0 && p.d < 48*time.Hour {
			shard = "1h"
		}
		stmts = append(stmts,
			fmt.Sprintf("CREATE RETENTION POLICY %s ON %s DURATION %s REPLICATION 1 SHARD DURATION %s", ident(p.name), ident(db), dur, shard),
			fmt.Sprintf("ALTER RETENTION POLICY %s ON %s DURATION %s SHARD DURATION %s", ident(p.name), ident(db), dur, shard))
	}
	for _, q := range stmts {
		if err := influxQL(ctx, baseURL, token, q); err != nil {
			return b, fmt.Errorf("influx setup %s: %s: %w", db, q, err)
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
