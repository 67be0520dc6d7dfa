package cluster

import (
	"strings"
	"testing"
	"time"
)

func TestConfigCheck(t *testing.T) {
	var got []string
	bad := func(key, format string, args ...any) { got = append(got, key) }
	Config{}.Check(bad)
	Config{Etcd: []string{"http://127.0.0.1:2379"}, Node: "n1", TTL: 10 * time.Second}.Check(bad)
	if len(got) != 0 {
		t.Fatalf("good sections reported %v", got)
	}
	Config{Etcd: []string{"127.0.0.1:2379"}, TTL: 1500 * time.Millisecond, Weight: -1}.Check(bad)
	if s := strings.Join(got, " "); s != "cluster.etcd[0] cluster cluster.weight" {
		t.Fatalf("reported %q", s)
	}
}
