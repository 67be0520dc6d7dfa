package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/daemon/config"
)

// closedPort is an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestStatusJSON checks GET /status's body: snake_case keys only, no time
// that was never set (a channel that never connected has no last_seen),
// and the clocks named.
func TestStatusJSON(t *testing.T) {
	dir := t.TempDir()
	text := fmt.Sprintf(`collector:
  data_dir: %s
  instantaneous: {enabled: true, spec: every 1h}
http: {listen: ""}
archive:
  areas: [{id: A1, name: A1, feeder: F1, voltage_level: 10kV/0.4kV}]
  concentrators: [{id: C1, area: A1, channels: [C1-1, C1-2]}]
  channels:
    - {id: C1-1, kind: tcp, address: %q, timeout: 100ms}
    - {id: C1-2, kind: modbus-tcp, address: %q, timeout: 100ms}
  meters:
    - {address: "000000000001", edition: "2007", channel: C1-1, area: A1, role: area, ct: 20, pt: 1}
    - {address: "000000000002", edition: "modbus", unit: 1, channel: C1-2, area: A1, role: customer, ct: 1, pt: 1}
`, dir, closedPort(t), closedPort(t))
	path := filepath.Join(dir, "headend.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{now: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)}
	c, err := New(&Config{Collector: cfg.Collector, Archive: cfg.Archive}, Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); len(c.Status().Channels) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the channels did not open in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b, err := json.Marshal(c.Status())
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, k := range regexp.MustCompile(`"([^"]+)":`).FindAllStringSubmatch(s, -1) {
		if k[1] != strings.ToLower(k[1]) {
			t.Errorf("key %q is not snake_case in %s", k[1], s)
		}
	}
	if strings.Contains(s, "0001-01-01") {
		t.Errorf("a zero time in %s", s)
	}
	var st struct {
		Clock struct {
			Now       time.Time `json:"now"`
			Simulated *bool     `json:"simulated"`
			Host      time.Time `json:"host"`
		} `json:"clock"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if !st.Clock.Now.Equal(clk.Now()) || st.Clock.Simulated == nil || !*st.Clock.Simulated || st.Clock.Host.Year() < 2026 {
		t.Errorf("clock: %+v, want now %s on a simulated clock and the host's time", st.Clock, clk.Now())
	}
}

// TestBusStatusHasEveryStat keeps BusStatus in step with poll.Stats: a
// counter added to the bus shows in /status.
func TestBusStatusHasEveryStat(t *testing.T) {
	bt := reflect.TypeOf(BusStatus{})
	st := reflect.TypeOf(poll.Stats{})
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		if !f.IsExported() {
			continue
		}
		if _, ok := bt.FieldByName(f.Name); !ok {
			t.Errorf("poll.Stats.%s is not in BusStatus (/status): add it and copy it in busStatus", f.Name)
		}
	}
	// every field is copied
	var s poll.Stats
	v := reflect.ValueOf(&s).Elem()
	for i := 0; i < v.NumField(); i++ {
		switch f := v.Field(i); f.Kind() {
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 1))
		}
	}
	s.LastSuccess = time.Unix(1, 0)
	b := reflect.ValueOf(busStatus(s))
	for i := 0; i < st.NumField(); i++ {
		if n := st.Field(i).Name; !reflect.DeepEqual(b.FieldByName(n).Interface(), v.Field(i).Interface()) {
			t.Errorf("busStatus does not copy %s", n)
		}
	}
}
