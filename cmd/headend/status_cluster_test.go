package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/daemon/daemontest"
	"github.com/headend/headend/internal/etcdtest"
)

// TestStatusShowsTheCluster runs serve --cluster on one etcd and asks
// headend status: the text names the node, its advertised URL, its
// counts of channels and areas and its fence; --items lists the items
// and their owner; the JSON has the cluster part.
func TestStatusShowsTheCluster(t *testing.T) {
	etcd := etcdtest.Start(t)
	path, dir := serveConfig(t, "127.0.0.1:0", "")
	b, _ := os.ReadFile(path)
	os.WriteFile(path, append(b, fmt.Sprintf("cluster: {etcd: [%q], node: he1, ttl: 3s}\n", etcd.Endpoint)...), 0o644)
	logs := daemontest.NewLogSignal("collector running", "msg=http ", "cluster: areas gained")
	root := newRoot(strings.NewReader(""), io.Discard, logs)
	root.SetArgs([]string{"serve", "--config", path, "--report", "0", "--cluster"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	logs.Wait(t, "collector running")
	logs.Wait(t, "msg=http ")
	logs.Wait(t, "cluster: areas gained") // it owns its items
	addr := regexp.MustCompile(`msg=http address=(\S+)`).FindStringSubmatch(logs.String())
	if addr == nil {
		t.Fatalf("no http address in the log:\n%s", logs.String())
	}
	server := []string{"--server", "http://" + addr[1], "--token-file", filepath.Join(dir, "data", "api-token")}
	out, _, err := run(t, "", append([]string{"status", "--text"}, server...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("headend status --text:\n%s", out)
	for _, want := range []string{"CLUSTER  answered by he1 (lease ", "fenced no", "CHANNELS", "AREAS",
		"he1 *  http://" + addr[1], "FEED", "(3 items owned; --items lists them)"} {
		if !strings.Contains(out, want) {
			t.Errorf("status --text lacks %q", want)
		}
	}
	if !regexp.MustCompile(`he1 \* +http://\S+ +[0-9a-f]+ +\d+s +1 +\S+ \S+ +1 +1 +1\n`).MatchString(out) {
		t.Errorf("he1's line does not count 1 area, 1 channel and the feed")
	}
	out, _, err = run(t, "", append([]string{"status", "--text", "--items"}, server...)...)
	if err != nil || !regexp.MustCompile(`area:A1 +he1`).MatchString(out) || !regexp.MustCompile(`channel:bus1 +he1`).MatchString(out) {
		t.Errorf("status --text --items: %v\n%s", err, out)
	}
	out, _, err = run(t, "", append([]string{"status"}, server...)...)
	var js struct {
		Channels []any `json:"channels"`
		Cluster  *struct {
			Node    string            `json:"node"`
			Owners  map[string]string `json:"owners"`
			Members []struct {
				Advertise string `json:"advertise"`
			} `json:"members"`
		} `json:"cluster"`
	}
	if err != nil || json.Unmarshal([]byte(out), &js) != nil || len(js.Channels) != 1 || js.Cluster == nil ||
		js.Cluster.Node != "he1" || js.Cluster.Owners["area:A1"] != "he1" || len(js.Cluster.Members) != 1 ||
		js.Cluster.Members[0].Advertise != "http://"+addr[1] {
		t.Errorf("status (JSON): %v %s", err, out)
	}
}
