package jetstream

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/headend/headend/internal/natstest"
	"github.com/headend/headend/internal/testenv"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/influx"
)

// startInfluxd starts a private influxd 1.8.10 (the one scripts/influxd.sh
// builds; HEADEND_INFLUXD overrides it), killed when the test ends, and
// returns its URL.
func startInfluxd(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("HEADEND_INFLUXD")
	if bin == "" {
		cache := os.Getenv("HEADEND_CACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "headend")
		}
		bin = filepath.Join(cache, "influxd-1.8.10", "influxd")
	}
	if _, err := os.Stat(bin); err != nil {
		testenv.Skip(t, "no influxd at %s: run scripts/influxd.sh install (make influxd), or set HEADEND_INFLUXD", bin)
	}
	dir := t.TempDir()
	port, rpc := natstest.FreePort(t), natstest.FreePort(t)
	conf := filepath.Join(dir, "influxd.conf")
	if err := os.WriteFile(conf, []byte(testenv.InfluxdConf(dir, port, rpc)), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "influxd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-config", conf)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	waitFor(t, 60*time.Second, "influxd answering /ping", func() (bool, string) {
		select {
		case <-exited:
			t.Fatalf("influxd exited; see %s", log.Name())
		default:
		}
		resp, err := http.Get(url + "/ping")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode/100 == 2, resp.Status
	})
	return url
}

// TestIntoInfluxDB runs the path into InfluxDB, the production store, with
// a writer stopped before its acknowledgement: the redelivered messages
// are written again, and InfluxDB holds each read once.
func TestIntoInfluxDB(t *testing.T) {
	url := startInfluxd(t)
	c := natstest.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := influx.Setup(ctx, url, "", "jetstream_test", store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	ist, err := influx.Open(ctx, influx.Options{URL: url, Buckets: b, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer ist.Close()
	st := newCountingStore(ist)
	o := testOptions("node-a")
	n := startNode(t, ctx, c, o)

	actx, kill := context.WithCancel(ctx)
	killed := make(chan struct{})
	doomed := &countingStore{Store: st, writes: map[store.Key]int{}}
	doomed.after = func(k int) {
		if k == 1 {
			kill()
			close(killed)
		}
	}
	startWriter(t, actx, c, doomed, o, "writer-a")
	want := map[store.Key]bool{}
	appendBatches(t, n.ob, want, 0, 60, 50)
	<-killed
	w, _ := startWriter(t, ctx, c, st, o, "writer-b")
	waitFor(t, 60*time.Second, "every message stored", drained(n.ob, w))
	assertExactlyOnce(t, ist, want)
	if st.rewritten() == 0 {
		t.Fatal("nothing was written twice: the stop did not leave a batch unacknowledged")
	}
	t.Logf("writer-b %+v; %d keys written twice", w.Stats(), st.rewritten())
}
