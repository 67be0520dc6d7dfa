// Package config loads the head-end's configuration (headend.yaml): a
// YAML file whose every key can be overridden by an environment variable
// HEADEND_<SECTION>_<KEY> (collector.daily.jitter is
// HEADEND_COLLECTOR_DAILY_JITTER) and by a command-line flag
// (--collector.daily.jitter; see [RegisterFlags]), with defaults for all
// of them, and the archive written inline or in CSV files the YAML points
// to. Relative paths written in the file are relative to the file's
// directory; those given by environment or flag to the working directory.
//
// Load refuses unknown keys and bad values and reports every problem at
// once, each naming where it came from (file:line, env VAR, flag --name,
// or a CSV file:line:column), the key and the reason, followed by the
// archive's validation errors. [Watch] reloads on SIGHUP and when the
// files change, and hands on only configurations that load.
package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/settings"
)

// Config is the collector's configuration.
type Config struct {
	File      string             `yaml:"-"` // the configuration file, as given to Load
	Collector settings.Collector `yaml:"collector"`
	Sources   ArchiveFiles       `yaml:"archive"` // where the archive's meters come from besides the inline list
	Store     Store              `yaml:"store"`
	Results   Results            `yaml:"results"`
	HTTP      HTTP               `yaml:"http"`
	Log       Log                `yaml:"log"`
	Analysis  Analysis           `yaml:"analysis"`
	Publish   Publish            `yaml:"publish"`
	Audit     Audit              `yaml:"audit"` // access.go
	// Cluster is how serve --cluster shares the channels with other
	// head-ends through etcd and carries their reads to storage through
	// NATS JetStream (cluster.go, docs/cluster.md); unused without
	// --cluster.
	Cluster Cluster `yaml:"cluster"`

	// Archive is the archive: the inline lists plus the meters of the
	// CSV files, validated, with channel defaults applied.
	Archive *archive.Archive `yaml:"-"`
	// ArchiveFiles are the CSV files read, in order (globs expanded).
	ArchiveFiles []string `yaml:"-"`
}

// ArchiveFiles are the archive's file keys.
type ArchiveFiles struct {
	MetersCSV []string `yaml:"meters_csv" path:"true" help:"meter CSV files or globs (comma-separated in env)"`
	// ResponsibleCSV names the person responsible for each area's loss
	// (columns area,responsible); it wins over the areas' own field.
	ResponsibleCSV string `yaml:"responsible_csv" path:"true" help:"CSV of the person responsible for each area (area,responsible)"`
	// ExchangesCSV holds meter exchanges on record (columns
	// [archive.ExchangeColumns]), added to archive.exchanges.
	ExchangesCSV string `yaml:"exchanges_csv" path:"true" help:"CSV of meter exchanges (area,old_meter,new_meter,date,removal_reading,install_reading), besides archive.exchanges"`
}

// Store is where reads go.
type Store struct {
	Kind   string `yaml:"kind" help:"embedded or influxdb"`
	Path   string `yaml:"path" path:"true" help:"directory of the embedded store and of the results database, on any kind (default <data_dir>/store)"`
	URL    string `yaml:"url" help:"InfluxDB URL"`
	Org    string `yaml:"org" help:"InfluxDB organisation"`
	Bucket string `yaml:"bucket" help:"InfluxDB bucket"`
	Token  string `yaml:"token" help:"InfluxDB token (prefer HEADEND_STORE_TOKEN or token_file)"`
	// TokenFile holds the token (a secret mounted as a file); it wins
	// over Token when set.
	TokenFile        string `yaml:"token_file" path:"true" help:"file holding the InfluxDB token"`
	BucketRaw        string `yaml:"bucket_raw" help:"InfluxDB bucket of raw reads (interval, instantaneous); default: bucket"`
	BucketAggregates string `yaml:"bucket_aggregates" help:"InfluxDB bucket of the daily aggregates; default: bucket"`

	Outbox    Outbox    `yaml:"outbox"`
	Retention Retention `yaml:"retention"`
}

// Analysis is when and over what VEE, line loss and the flags run.
type Analysis struct {
	History int           `yaml:"history" help:"days of reads each analysis run reads (the flags' baselines)"`
	Settle  int           `yaml:"settle" help:"days back a run may still revise a stored value or balance"`
	Every   time.Duration `yaml:"every" help:"how often the analysis runs besides 01:30 each day (late reads, backfills)"`
	// ClockTolerance is the clock error beyond which a meter is flagged
	// for clock drift.
	ClockTolerance time.Duration `yaml:"clock_tolerance" help:"clock error beyond which a meter is flagged for clock drift"`
	// Targets is a CSV of loss-rate targets (area_or_group,from,to,target_rate).
	Targets string `yaml:"targets" path:"true" help:"CSV of loss-rate targets per area or group and period; empty: none"`

	// The rules of each stage, from the file only, over their defaults
	// (rules.go, configs/headend.yaml): validation, estimation and
	// editing (VEE); line loss; the anomaly flags, whose clock tolerance
	// is ClockTolerance; and the review (审核) rules, kept as written
	// for the review API to decode.
	VEE     vee.Config     `yaml:"vee" file:"only"`
	Loss    loss.Config    `yaml:"loss" file:"only"`
	Anomaly anomaly.Config `yaml:"anomaly" file:"only"`
	Review  string         `yaml:"review" file:"only"`
}

// Publish is where validated values are pushed for billing systems.
type Publish struct {
	Broker   string        `yaml:"broker" help:"MQTT broker for billing pushes (tcp://host:1883, tls://...); empty: none"`
	Topic    string        `yaml:"topic" help:"topic of each value; {area} and {meter} are replaced"`
	ClientID string        `yaml:"client_id" help:"MQTT client ID of the publisher"`
	Every    time.Duration `yaml:"every" help:"how often new and revised values are published"`
}

// Outbox is the durable log every read goes through before the store.
type Outbox struct {
	Dir      string        `yaml:"dir" path:"true" help:"outbox directory (default <data_dir>/outbox)"`
	Sync     string        `yaml:"sync" help:"when to fsync appended reads: every (each batch), interval, or none"`
	Interval time.Duration `yaml:"interval" help:"fsync period for sync: interval"`
	MaxBytes Size          `yaml:"max_bytes" help:"bound of the outbox on disk; when reached, polling slows until the store catches up"`
	// ReserveBytes is the free space kept on the outbox's filesystem:
	// below it polling is held back (reason "low disk"), so that the
	// checkpoint, the store's journal and the log can still be written.
	ReserveBytes Size `yaml:"reserve_bytes" help:"free space kept on the outbox's filesystem, below which polling is held back (0: 5% of the filesystem, at most 256MiB)"`
}

// Retention says how long each kind of data is kept (0: forever).
type Retention struct {
	Raw        Age `yaml:"raw" help:"how long raw interval and instantaneous reads are kept (e.g. 90d)"`
	Registers  Age `yaml:"registers" help:"how long daily and monthly register reads are kept (0: forever)"`
	Aggregates Age `yaml:"aggregates" help:"how long daily aggregates of raw reads are kept (0: forever)"`
	// MaxShare is the largest share of the store one retention pass may
	// remove; a pass that would remove more removes nothing and says
	// so. 1 lifts the bound.
	MaxShare Share `yaml:"max_share" help:"largest share of the stored reads one retention pass may remove (0.25; 1: no bound); a pass that would remove more removes nothing"`
}

// String describes the store without its token.
func (s Store) String() string {
	if s.Kind == "influxdb" {
		t := ""
		if s.Token != "" {
			t = " token=******"
		}
		return fmt.Sprintf("influxdb %s org=%s bucket=%s%s", s.URL, s.Org, s.Bucket, t)
	}
	return "embedded " + s.Path
}

// Results is where what the analysis derives is kept: values, balances,
// flags, corrections, every version, and billing's change feed.
type Results struct {
	Kind string `yaml:"kind" help:"embedded (results.db in store.path) or postgres (one database the nodes of a cluster share)"`
	DSN  string `yaml:"dsn" help:"PostgreSQL connection URL or key=value string (prefer HEADEND_RESULTS_DSN or dsn_file: it may hold a password)"`
	// DSNFile holds the DSN (a secret mounted as a file); it wins over
	// DSN when set.
	DSNFile string `yaml:"dsn_file" path:"true" help:"file holding the PostgreSQL DSN"`
}

// HTTP is the API and dashboard.
type HTTP struct {
	Listen string           `yaml:"listen" help:"address of the HTTP API and dashboard; empty: none"`
	TLS    TLS              `yaml:"tls"`    // access.go
	Tokens []auth.TokenSpec `yaml:"tokens"` // API tokens and their roles (access.go)
	// TileURL is a map tile server for the status map (e.g.
	// https://tiles.example/{z}/{x}/{y}.png); empty: the map is drawn
	// from the coordinates alone, with no internet access.
	TileURL string `yaml:"tile_url" help:"map tile URL template ({z}/{x}/{y}) for the status map; empty: none (offline)"`

	// Connection limits: a slow or idle client is cut off, and one client
	// address holds at most MaxConnsPerClient connections at once.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout" help:"time a client has to send a request's headers"`
	ReadTimeout       time.Duration `yaml:"read_timeout" help:"time a client has to send a whole request, body included"`
	WriteTimeout      time.Duration `yaml:"write_timeout" help:"time a response may take to write (CSV exports included)"`
	IdleTimeout       time.Duration `yaml:"idle_timeout" help:"how long an idle keep-alive connection is kept open"`
	MaxConnsPerClient int           `yaml:"max_conns_per_client" help:"concurrent connections one client address may hold; 0: no limit"`
}

// check validates the server settings.
func (h *HTTP) check(bad func(key, format string, args ...any)) {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"http.read_header_timeout", h.ReadHeaderTimeout}, {"http.read_timeout", h.ReadTimeout},
		{"http.write_timeout", h.WriteTimeout}, {"http.idle_timeout", h.IdleTimeout}} {
		if d.v <= 0 {
			bad(d.key, "%s: must be > 0", d.v)
		}
	}
	if h.MaxConnsPerClient < 0 {
		bad("http.max_conns_per_client", "%d: must be >= 0 (0: no limit)", h.MaxConnsPerClient)
	}
}

// Log is logging.
type Log struct {
	Level  string `yaml:"level" help:"debug, info, warn or error"`
	Format string `yaml:"format" help:"text or json"`
}

// Default returns the defaults of every key.
func Default() *Config {
	rules := analysis.DefaultConfig()
	rules.Anomaly.ClockTolerance = 30 * time.Second
	return &Config{
		Collector: settings.Collector{
			DataDir:       "data",
			Zone:          "+08:00",
			Instantaneous: settings.Schedule{Enabled: true, Spec: settings.Spec{Kind: settings.SpecEvery, Every: 15 * time.Minute}, Jitter: time.Minute},
			Interval:      settings.Schedule{Enabled: true, Spec: settings.Spec{Kind: settings.SpecEvery, Every: time.Hour, At: 5 * time.Minute}, Jitter: 5 * time.Minute},
			Daily:         settings.Schedule{Enabled: true, Spec: settings.Spec{Kind: settings.SpecDaily, At: 5 * time.Minute}, Jitter: 20 * time.Minute},
			Monthly:       settings.Schedule{Enabled: true, Spec: settings.Spec{Kind: settings.SpecMonthly, Day: 1, At: 30 * time.Minute}, Jitter: 30 * time.Minute},
			Clock: settings.Clock{Schedule: settings.Schedule{Enabled: true, Spec: settings.Spec{Kind: settings.SpecDaily, At: 10 * time.Hour}, Jitter: time.Hour},
				Tolerance: 30 * time.Second, MaxCorrection: 5 * time.Minute},
			Breaker: settings.Breaker{Failures: 5, Cooldown: time.Minute, MaxCooldown: time.Hour},
			Plan:    settings.DefaultPlan(),
		},
		Results: Results{Kind: "embedded"},
		Store: Store{Kind: "embedded", Outbox: Outbox{Sync: "every", Interval: time.Second, MaxBytes: 1 << 30},
			Retention: Retention{Raw: Age(90 * day), MaxShare: 0.25}},
		Analysis: Analysis{History: 35, Settle: 14, Every: 6 * time.Hour, ClockTolerance: 30 * time.Second,
			VEE: rules.VEE, Loss: rules.Loss, Anomaly: rules.Anomaly},
		Publish: Publish{Topic: "headend/billing/{area}/{meter}", ClientID: "headend-billing", Every: 10 * time.Second},
		HTTP: HTTP{Listen: "127.0.0.1:8080", ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxConnsPerClient: 32},
		Log: Log{Level: "info", Format: "text"},
	}
}

// check validates the section values; bad(key, reason) reports one.
func (c *Config) check(bad func(key, format string, args ...any)) {
	c.Collector.Check(bad)
	c.Cluster.Check(bad)
	if c.Collector.DialInListen != "" {
		listenAddr(bad, "collector.dialin_listen", c.Collector.DialInListen)
	}
	if c.Collector.GDW3761Listen != "" {
		listenAddr(bad, "collector.gdw3761_listen", c.Collector.GDW3761Listen)
	}

	s := &c.Store
	switch s.Kind {
	case "embedded":
	case "influxdb":
		if s.URL == "" {
			bad("store.url", "must be set for kind influxdb")
		} else if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("store.url", "%q is not an http(s) URL", s.URL)
		}
		if s.Org == "" {
			bad("store.org", "must be set for kind influxdb")
		}
		if s.Bucket == "" {
			bad("store.bucket", "must be set for kind influxdb")
		}
		if s.Token == "" && s.TokenFile == "" {
			bad("store.token", "must be set for kind influxdb (HEADEND_STORE_TOKEN or store.token_file)")
		}
	default:
		bad("store.kind", "%q: want embedded or influxdb", s.Kind)
	}
	switch r := c.Results; r.Kind {
	case "embedded":
	case "postgres":
		if r.DSN == "" && r.DSNFile == "" {
			bad("results.dsn", "must be set for kind postgres (HEADEND_RESULTS_DSN or results.dsn_file)")
		}
	default:
		bad("results.kind", "%q: want embedded or postgres", r.Kind)
	}
	switch s.Outbox.Sync {
	case "every", "none":
	case "interval":
		if s.Outbox.Interval <= 0 {
			bad("store.outbox.interval", "%s: must be > 0 for sync: interval", s.Outbox.Interval)
		}
	default:
		bad("store.outbox.sync", "%q: want every, interval or none", s.Outbox.Sync)
	}
	if s.Outbox.MaxBytes < 1<<20 {
		bad("store.outbox.max_bytes", "%d bytes: must be at least 1MiB", s.Outbox.MaxBytes)
	}
	if s.Outbox.ReserveBytes > 1<<40 {
		bad("store.outbox.reserve_bytes", "%d bytes: must be at most 1TiB", s.Outbox.ReserveBytes)
	}
	if m := s.Retention.MaxShare; !(m > 0 && m <= 1) {
		bad("store.retention.max_share", "%v: must be a share above 0 and at most 1 (0.25 is the default, 1 lifts the bound)", m)
	}
	if c.HTTP.Listen != "" {
		listenAddr(bad, "http.listen", c.HTTP.Listen)
	}
	c.HTTP.check(bad)
	if p := c.Publish.Broker; p != "" {
		if err := archive.CheckBrokerURL(p); err != nil {
			bad("publish.broker", "%v", err)
		}
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "warning", "error":
	default:
		bad("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q: want text or json", c.Log.Format)
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// listenAddr checks an address to listen on: host:port with a port
// 0..65535 (0: any free port).
func listenAddr(bad func(key, format string, args ...any), key, v string) {
	if err := archive.CheckHostPort(v, true); err != nil {
		bad(key, "%v", err)
	}
}
