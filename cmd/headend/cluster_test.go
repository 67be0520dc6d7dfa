package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headend/headend/daemon/daemontest"
)

// TestServeClusterNeedsEtcd: serve --cluster on a configuration whose
// cluster section names no etcd stops before opening anything, naming
// the key.
func TestServeClusterNeedsEtcd(t *testing.T) {
	path, dir := serveConfig(t, "127.0.0.1:0", "")
	root := newRoot(strings.NewReader(""), io.Discard, daemontest.NewLogSignal())
	root.SetArgs([]string{"serve", "--config", path, "--report", "0", "--cluster"})
	err := root.ExecuteContext(t.Context())
	if err == nil || !strings.Contains(err.Error(), "serve --cluster") || !strings.Contains(err.Error(), "cluster.etcd") {
		t.Fatalf("serve --cluster without cluster.etcd: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "store")); err == nil {
		t.Error("the store was opened")
	}
}
