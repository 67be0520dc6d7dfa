package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClusterSection loads the cluster section and names its bad keys.
func TestClusterSection(t *testing.T) {
	load := func(section string) (*Config, error) {
		dir := t.TempDir()
		path := filepath.Join(dir, "headend.yaml")
		yaml := "collector: {data_dir: " + dir + "}\n" + section + `
archive:
  areas: [{id: A1, name: A}]
  channels: [{id: bus1, kind: tcp, address: "127.0.0.1:1"}]
  meters: [{address: "000001000001", channel: bus1, area: A1, role: area, ct: 1, pt: 1}]
`
		if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return Load(path, nil)
	}
	c, err := load("cluster: {etcd: [http://127.0.0.1:2379], node: he1, ttl: 4s, weight: 2.5}")
	if err != nil {
		t.Fatal(err)
	}
	if cc := c.Cluster; !cc.Enabled() || cc.Node != "he1" || cc.TTL != 4*time.Second || cc.Weight != 2.5 {
		t.Errorf("cluster section: %+v", cc)
	}
	if c, err := load(""); err != nil || c.Cluster.Enabled() {
		t.Errorf("no section: %+v, %v", c, err)
	}
	c, err = load("cluster: {etcd: [http://127.0.0.1:2379], node: he1, nats: {urls: [nats://10.0.0.1:4222, tls://10.0.0.2:4222], writer: true, max_bytes: 4294967296, ack_wait: 1m}}")
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Cluster.NATS; !n.Enabled() || len(n.URLs) != 2 || !n.Writer || n.MaxBytes != 4<<30 || n.AckWait != time.Minute {
		t.Errorf("cluster.nats: %+v", n)
	}
	if c.Cluster.Node != "he1" || c.Cluster.NATS.Options(c.Cluster.Node).Node != "he1" {
		t.Errorf("cluster with nats: %+v", c.Cluster)
	}
	for _, tc := range []struct{ section, want string }{
		{"cluster: {etcd: [127.0.0.1:2379]}", "cluster.etcd[0]: "},
		{"cluster: {nats: {writer: true}}", "cluster.nats: needs cluster.etcd"},
		{"cluster: {etcd: [http://e:2379], nats: {urls: [http://n:4222]}}", "cluster.nats.urls[0]: "},
		{"cluster: {etcd: [http://e:2379], node: he.1, nats: {writer: true}}", `cluster.node: node name "he.1": '.' not allowed`},
		{"cluster: {etcd: [http://e:2379], nats: {stream: a.b}}", "cluster.nats.stream: "},
		{"cluster: {etcd: [http://e:2379], nats: {subject: a..b}}", "cluster.nats.subject: "},
		{"cluster: {etcd: [http://e:2379], nats: {replicas: 7}}", "cluster.nats.replicas: 7: want 1 to 5"},
		{"cluster: {etcd: [http://e:2379], nats: {fetch: -1}}", "cluster.nats.fetch: is negative"},
		{"cluster: {etcd: [http://e:2379], nats: {ack_wait: 100ms}}", "cluster.nats.ack_wait: 100ms: at least 1s"},
		{"cluster: {etcd: [http://e:2379], nats: {max_bytes: lots}}", `cluster.nats.max_bytes: "lots" is not an integer`},
		{"cluster: {etcd: [http://e:2379], nats: {writers: true}}", "cluster.nats.writers: unknown key"},
		{"cluster: {etcd: [http://127.0.0.1:2379], ttl: 1500ms}", "cluster: cluster: TTL 1.5s"},
		{"cluster: {etcd: [http://127.0.0.1:2379], weight: -1}", "cluster.weight: -1 is negative"},
		{"cluster: {etcd: [http://127.0.0.1:2379], weight: lots}", `cluster.weight: "lots" is not a number`},
	} {
		if _, err := load(tc.section); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.section, err, tc.want)
		}
	}
}
