package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/gdw3761"
)

// fakeTerminal376 logs in to addr as terminal a and answers AFN 0D daily
// freeze reads for every point asked (point n: n.1234 kWh forward), a
// test-only stand-in for the simulated concentrator.
func fakeTerminal376(t *testing.T, addr string, a gdw3761.Address, reads *atomic.Int64) {
	t.Helper()
	var nc net.Conn
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if nc, err = net.Dial("tcp", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", addr, err)
		}
	}
	t.Cleanup(func() { nc.Close() })
	login, _ := gdw3761.Link(a, 0, 1, gdw3761.DateTime{})
	b, _ := login.MarshalBinary()
	nc.Write(b)
	go func() {
		r := gdw3761.NewReader(nc)
		for {
			f, err := r.ReadFrame()
			var fe *gdw3761.FrameError
			if errors.As(err, &fe) {
				continue
			}
			if err != nil {
				return
			}
			if f.AFN != gdw3761.AFNClass2 {
				continue
			}
			reads.Add(1)
			us, err := f.Units(nil)
			if err != nil {
				t.Error(err)
				return
			}
			rep := gdw3761.Response(f, f.Seq.Num(), true, true)
			for _, u := range us {
				d, _ := gdw3761.MakeDADT([]uint16{u.Pn}, []uint8{u.Fn})
				rep.Data = append(rep.Data, d[:]...)
				date, _ := gdw3761.A20.Decode(u.Data)
				e := gdw3761.Energy{Date: date, ReadTime: gdw3761.DateTime{Year: date.Year, Month: date.Month, Day: date.Day, Hour: 23, Minute: 59},
					Total: gdw3761.N(int64(u.Pn)*10000+1234, 4), Tariffs: []gdw3761.Num{gdw3761.N(1, 4), gdw3761.N(2, 4), gdw3761.N(3, 4), gdw3761.N(4, 4)}}
				rep.Data, _ = e.AppendUnit(rep.Data, gdw3761.AFNClass2, u.Fn)
			}
			out, _ := rep.MarshalBinary()
			if _, err := nc.Write(out); err != nil {
				return
			}
		}
	}()
}

// TestGDW3761FrozenModeReadsAnAreaInOneRequest: a gdw3761 channel in
// frozen mode with 32 meters; the daily schedule asks each meter its 645
// daily freeze identifiers, and the terminal is asked once (AFN 0D
// F161/F163 for all 32 points); the reads are named and stamped as 645
// daily freezes.
func TestGDW3761FrozenModeReadsAnAreaInOneRequest(t *testing.T) {
	dir := t.TempDir()
	listen := closedPort(t)
	var meters strings.Builder
	for i := 1; i <= 32; i++ {
		role := "customer"
		if i == 1 {
			role = "area"
		}
		fmt.Fprintf(&meters, "    - {address: \"%012d\", edition: \"2007\", channel: T1, area: A1, role: %s, ct: 1, pt: 1, point: %d}\n", i, role, i)
	}
	text := fmt.Sprintf(`collector:
  data_dir: %s
  zone: UTC
  gdw3761_listen: %q
  daily: {enabled: true, spec: daily 00:05, jitter: 0s}
  backfill_days: 0
http: {listen: ""}
archive:
  areas: [{id: A1, name: A1, feeder: F1, voltage_level: 10kV/0.4kV}]
  concentrators: [{id: C1, area: A1, channels: [T1]}]
  channels:
    - {id: T1, kind: gdw3761, terminal: "4401 0001", mode: frozen, timeout: 2s, gap: 1ms}
  meters:
%s`, dir, listen, meters.String())
	path := filepath.Join(dir, "headend.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	clk := &testClock{now: time.Date(2026, 12, 7, 0, 4, 0, 0, time.UTC)}
	var mu sync.Mutex
	var got []meter.Read
	c, err := New(&Config{Collector: cfg.Collector, Archive: cfg.Archive}, Options{Clock: clk, Sink: func(rs []meter.Read) {
		mu.Lock()
		got = append(got, rs...)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var requests atomic.Int64
	fakeTerminal376(t, listen, gdw3761.Address{Area: 4401, Terminal: 1}, &requests)
	waitCond(t, "terminal online", func() bool {
		st := c.Status()
		return len(st.Terminals) == 1 && st.Terminals[0].Online
	})
	waitCond(t, "the schedule waiting", func() bool { return clk.waiting() > 0 })
	clk.Set(time.Date(2026, 12, 7, 0, 6, 0, 0, time.UTC))
	fwd := map[string]meter.Read{}
	waitCond(t, "32 meters' daily forward totals", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range got {
			if r.Class == meter.Daily && r.Quantity == "forward active energy total" && r.Status == meter.OK {
				fwd[r.Meter] = r
			}
		}
		return len(fwd) == 32
	})
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d AFN 0D requests for 32 meters' daily freezes, want 1", n)
	}
	r := fwd["000000000007"]
	if r.Value.String() != "7.1234" || r.Unit != "kWh" || r.DI != 0x05060101 || !r.MeterTime.Equal(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)) ||
		len(r.Frame.Request) == 0 || len(r.Frame.Reply) != 1 {
		t.Fatalf("read %+v", r)
	}
	b, err := json.Marshal(c.Status())
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, w := range []string{`"terminals":[{"id":"4401 0001","online":true`, `"terminal_counts":{"online":1,"logins":1,"refused":0`} {
		if !strings.Contains(js, w) {
			t.Errorf("/status lacks %s:\n%s", w, js)
		}
	}
	for _, k := range regexp.MustCompile(`"([^"]+)":`).FindAllStringSubmatch(js, -1) {
		if k[1] != strings.ToLower(k[1]) || strings.Contains(js, "0001-01-01") {
			t.Errorf("key %q not snake_case, or a zero time, in %s", k[1], js)
		}
	}
}

func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
