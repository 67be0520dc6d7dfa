package main

// What the field commands (read, scan, time, relay, status) share: how
// they reach the meters (a port of their own, or the running daemon),
// the token, the audit record of control actions, and printing.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	apifield "github.com/headend/headend/api/field"
	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/fieldops"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Environment variables the field commands read.
const (
	envToken    = "HEADEND_TOKEN"          // the daemon's API token
	envPassword = "HEADEND_METER_PASSWORD" // a meter password for relay and clock writes
	envAuditLog = "HEADEND_AUDIT_LOG"      // where direct control actions are recorded
)

// fieldConn is how a field command reaches the meters.
type fieldConn struct {
	// a port of its own
	port     string
	tcp      string
	baud     int
	parity   string
	dataBits int
	stopBits int
	edition  string
	timeout  time.Duration
	retries  int
	// or the running daemon
	server    string
	token     string
	tokenFile string

	zone string

	text     bool
	auditLog string
}

func (c *fieldConn) flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.port, "port", "", "serial port of an RS-485 adapter, e.g. /dev/ttyUSB0")
	fs.StringVar(&c.tcp, "tcp", "", "host:port of a serial server or concentrator port (transparent)")
	fs.IntVar(&c.baud, "baud", 2400, "bit rate (--port)")
	fs.StringVar(&c.parity, "parity", "E", "parity: E, N or O (--port)")
	fs.IntVar(&c.dataBits, "data-bits", 8, "data bits (--port)")
	fs.IntVar(&c.stopBits, "stop-bits", 1, "stop bits (--port)")
	fs.StringVar(&c.edition, "edition", "2007", "protocol edition of the meter: 2007 or 1997 (--port, --tcp)")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "how long to wait for a reply (--port, --tcp)")
	fs.IntVar(&c.retries, "retries", 1, "times to ask again when a meter does not answer (--port, --tcp)")
	fs.StringVar(&c.zone, "zone", "local", "time zone of the meters' clocks: local, an IANA name or an offset such as +08:00 (--port, --tcp)")
	fs.StringVar(&c.server, "server", "", "URL of the running headend serve, e.g. http://127.0.0.1:8080")
	fs.StringVar(&c.token, "token", "", "API token for --server (or "+envToken+", or --token-file)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the API token")
	fs.BoolVar(&c.text, "text", false, "print for a person instead of JSON")
	fs.StringVar(&c.auditLog, "audit-log", "", "file to append control actions to, as JSON lines (--port, --tcp; or "+envAuditLog+"; default: standard error)")
}

// service opens what the flags say: a Direct on a port, or a Client of
// the daemon. close releases it.
func (c *fieldConn) service(cmd *cobra.Command) (svc apifield.Service, close func(), err error) {
	n := 0
	for _, s := range []string{c.port, c.tcp, c.server} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, nil, errors.New("say how to reach the meter: one of --port DEVICE, --tcp HOST:PORT or --server URL")
	}
	if c.server != "" {
		tok, err := c.apiToken()
		if err != nil {
			return nil, nil, err
		}
		return &apifield.Client{URL: c.server, Token: tok}, func() {}, nil
	}
	ed, err := dlt645.ParseEdition(c.edition)
	if err != nil {
		return nil, nil, fmt.Errorf("--edition: %w", err)
	}
	var l link.Link
	name := c.port
	if c.port != "" {
		s, err := link.OpenSerial(link.SerialConfig{Device: c.port, Baud: c.baud, Parity: strings.ToUpper(c.parity), DataBits: c.dataBits, StopBits: c.stopBits})
		if err != nil {
			return nil, nil, fmt.Errorf("--port %s: %w", c.port, err)
		}
		l = s
	} else {
		l, name = link.DialTCP(link.TCPConfig{Addr: c.tcp, DialTimeout: c.timeout + time.Second}), c.tcp
	}
	loc, err := parseZone(c.zone)
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	audit, closeAudit, err := c.audit(cmd.ErrOrStderr())
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	d := &fieldops.Direct{Master: &master.Master{Link: l, Timeout: c.timeout}, Edition: ed, Channel: name,
		Options: fieldops.Options{Retries: retriesOpt(c.retries), Audit: audit, Location: loc}}
	return d, func() { l.Close(); closeAudit() }, nil
}

// parseZone reads --zone: local, an IANA name, or a UTC offset (+08:00, UTC+8).
func parseZone(s string) (*time.Location, error) {
	z := strings.TrimSpace(s)
	if z == "" || strings.EqualFold(z, "local") {
		return time.Local, nil
	}
	off := strings.TrimPrefix(strings.TrimPrefix(strings.ToUpper(z), "UTC"), "GMT")
	if off != "" && (off[0] == '+' || off[0] == '-') {
		h, m, _ := strings.Cut(off[1:], ":")
		hh, err1 := strconv.Atoi(h)
		mm := 0
		var err2 error
		if m != "" {
			mm, err2 = strconv.Atoi(m)
		}
		if err1 != nil || err2 != nil || hh > 14 || mm < 0 || mm > 59 {
			return nil, fmt.Errorf("--zone %q: not a UTC offset such as +08:00", s)
		}
		sec := hh*3600 + mm*60
		if off[0] == '-' {
			sec = -sec
		}
		return time.FixedZone(z, sec), nil
	}
	loc, err := time.LoadLocation(z)
	if err != nil {
		return nil, fmt.Errorf("--zone %q: %w", s, err)
	}
	return loc, nil
}

func retriesOpt(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// apiToken is --token, or the file of --token-file, or $HEADEND_TOKEN.
func (c *fieldConn) apiToken() (string, error) {
	if c.token != "" {
		return c.token, nil
	}
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("--token-file %s is empty", c.tokenFile)
		}
		return t, nil
	}
	return os.Getenv(envToken), nil
}

// audit records the control actions done on a port of one's own: JSON
// lines appended to the audit log, or standard error.
func (c *fieldConn) audit(stderr io.Writer) (fieldops.AuditFunc, func(), error) {
	path := c.auditLog
	if path == "" {
		path = os.Getenv(envAuditLog)
	}
	w, closeFn := stderr, func() {}
	prefix := "audit: "
	if path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("--audit-log: %w", err)
		}
		w, closeFn, prefix = f, func() { f.Close() }, ""
	}
	var mu sync.Mutex
	user := os.Getenv("USER")
	return func(_ context.Context, action, target string, detail map[string]any) {
		b, _ := json.Marshal(struct {
			Time   time.Time      `json:"time"`
			User   string         `json:"user,omitempty"`
			Action string         `json:"action"`
			Target string         `json:"target"`
			Detail map[string]any `json:"detail"`
		}{time.Now(), user, action, target, detail})
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s%s\n", prefix, b)
	}, closeFn, nil
}

// meterFlag is --addr (or --meter): the meter a command is about.
func meterFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "addr", "", "meter address, up to 12 digits")
	fs.StringVar(p, "meter", "", "the same as --addr")
}

func needMeter(meter string) error {
	if meter == "" {
		return errors.New("--addr (or --meter) is required")
	}
	return nil
}

// interruptible is the command's context, ended by Ctrl-C.
func interruptible(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt)
}

// printJSON writes v as one line of JSON.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// fieldError makes a service error read well on the command line: a bad
// parameter names the flag.
func fieldError(err error) error {
	var pe *fieldops.ParamError
	if errors.As(err, &pe) {
		flag := map[string]string{"meter": "addr", "addr": "addr", "items": "di"}[pe.Param]
		if flag == "" {
			flag = strings.ReplaceAll(pe.Param, "_", "-")
		}
		return fmt.Errorf("--%s: %s", flag, pe.Reason)
	}
	return err
}

// signed formats seconds with a sign.
func signed(s int64) string { return fmt.Sprintf("%+d s", s) }

// authFlags are the authority of a control command.
type authFlags struct {
	password     string
	passwordFile string
	level        int
	operator     string
}

func (a *authFlags) flags(fs *pflag.FlagSet) {
	fs.StringVar(&a.password, "password", "", "the meter's password, 6 digits or 8 with the level first (or --password-file, or "+envPassword+")")
	fs.StringVar(&a.passwordFile, "password-file", "", "file holding the meter's password")
	fs.IntVar(&a.level, "level", 0, "password level (default 2, or the first two of 8 digits)")
	fs.StringVar(&a.operator, "operator", "", "your operator code, up to 8 hex digits")
}

// secret is --password, or the file of --password-file, or $HEADEND_METER_PASSWORD.
func (a *authFlags) secret() (string, error) {
	if a.password != "" {
		return a.password, nil
	}
	if a.passwordFile != "" {
		b, err := os.ReadFile(a.passwordFile)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return os.Getenv(envPassword), nil
}
