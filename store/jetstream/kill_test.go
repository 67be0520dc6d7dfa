//go:build unix

package jetstream

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/headend/headend/internal/natstest"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
)

const (
	nodeChildDir = "JETSTREAM_NODE_CHILD_DIR"
	nodeChildURL = "JETSTREAM_NODE_CHILD_URL"
)

// TestNodeChild is the child of TestNodeKilled: a node that appends
// batches 0, 1, ... of 20 reads to its outbox (SyncEvery), writing each
// number to fd 3 once Append returned (the node accepted it), while Run
// delivers the outbox to a Publisher. It runs until it is killed.
func TestNodeChild(t *testing.T) {
	dir := os.Getenv(nodeChildDir)
	if dir == "" {
		t.Skip("the child of TestNodeKilled")
	}
	accepted := os.NewFile(3, "accepted")
	nc, err := nats.Connect(os.Getenv(nodeChildURL), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublisher(context.Background(), nc, testOptions("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(dir, nodeOutbox)
	if err != nil {
		t.Fatal(err)
	}
	go ob.Run(context.Background(), pub)
	for b := 0; b < 1_000_000; b++ {
		if err := ob.Append(testBatch(b, 20)); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintln(accepted, b); err != nil {
			return // the parent is gone
		}
	}
}

// TestNodeKilled SIGKILLs a node while it appends to its outbox and
// publishes at full speed, then restarts it on the same outbox: every
// batch the node accepted before the kill reaches the store, through the
// stream and a writer, exactly once.
func TestNodeKilled(t *testing.T) {
	if os.Getenv(nodeChildDir) != "" {
		t.Skip("in the child")
	}
	c := natstest.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := testOptions("node-a")
	st := newCountingStore(openSQLite(t))
	w, _ := startWriter(t, ctx, c, st, o, "writer")
	dir := t.TempDir()

	r, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNodeChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), nodeChildDir+"="+dir, nodeChildURL+"="+c.URL())
	cmd.ExtraFiles = []*os.File{wr}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wr.Close()
	var mu sync.Mutex
	last := -1
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			b, _ := strconv.Atoi(sc.Text())
			mu.Lock()
			last = b
			mu.Unlock()
		}
	}()
	// Kill it once the writer has stored some of its messages: the outbox,
	// the stream and the store each hold a part.
	waitFor(t, 60*time.Second, "the node publishing and the writer storing", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return w.Stats().Messages >= 3 && last >= 300, fmt.Sprintf("accepted %d batches; writer %+v", last+1, w.Stats())
	})
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	<-scanned
	r.Close()
	accepted := last + 1
	t.Logf("killed the node after it accepted %d batches; the writer had stored %d messages", accepted, w.Stats().Messages)

	// The node restarts on its outbox.
	n := startNodeIn(t, ctx, c, o, dir)
	waitFor(t, 60*time.Second, "every message stored and acknowledged", drained(n.ob, w))
	want := map[store.Key]bool{}
	for b := range accepted {
		for _, rd := range testBatch(b, 20) {
			want[store.KeyOf(&rd)] = true
		}
	}
	// The batch being appended at the kill may be in the outbox too
	// without its number reported: the node accepted it.
	got, err := st.Query(ctx, store.Query{Meters: []string{testRead(accepted, 0).Meter}})
	if err != nil {
		t.Fatal(err)
	}
	for _, rd := range got {
		want[store.KeyOf(&rd)] = true
	}
	assertExactlyOnce(t, st.Store, want)
	t.Logf("after the restart: publisher %+v; writer %+v; %d keys written twice", n.pub.Stats(), w.Stats(), st.rewritten())
}
