package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/internal/etcdtest"
	"github.com/headend/headend/internal/tcpfront"
	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// dialField is a simulated field of one DTU (D1) and two 1376.1
// terminals (T1, T2), dialling in through the balancers dtu and gdw.
func dialField(t *testing.T, dtu, gdw *tcpfront.Front) *simulator.Simulator {
	t.Helper()
	y := fmt.Sprintf(`name: dialin
seed: 5
start: 2025-05-01T00:00:00+08:00
speed: 1
areas:
  - {id: D1, name: D1, feeder: F1, address_prefix: "000031", customers: {residential: 2},
     concentrator: {id: D1, access: {kind: tcp-dialin, dial: %q}}}
  - {id: T1, name: T1, feeder: F1, address_prefix: "000032", customers: {residential: 2},
     concentrator: {id: T1, protocol: gdw3761, address: "4401 0001", access: {kind: tcp-dialin, dial: %q}}}
  - {id: T2, name: T2, feeder: F1, address_prefix: "000033", customers: {residential: 2},
     concentrator: {id: T2, protocol: gdw3761, address: "4401 0002", access: {kind: tcp-dialin, dial: %q}}}
`, dtu.Addr(), gdw.Addr(), gdw.Addr())
	sc, err := scenario.Parse("dialin.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	noSleep := func(context.Context, time.Duration) error { return nil }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Sleep: noSleep,
		Backoff: func(int) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	sim.Fleet.AdvanceTo(sim.Fleet.Start().Add(2 * time.Hour))
	sim.Step()
	return sim
}

// dialNode is a cluster node listening for the DTUs and the terminals.
type dialNode struct {
	*clusterNode
	dtu, gdw string // its listeners
}

func startDialNode(t *testing.T, name, etcd string, sim *simulator.Simulator) *dialNode {
	t.Helper()
	n := &dialNode{dtu: freeAddr(t), gdw: freeAddr(t)}
	n.clusterNode = startClusterNodeOn(t, name, etcd, sim, false,
		fmt.Sprintf("  dialin_listen: %q\n  gdw3761_listen: %q\n", n.dtu, n.gdw), nil)
	return n
}

// dialled is what the node's /status says: the dial-in channels whose
// link it holds, those it owns, and those it polls with success.
func (n *dialNode) dialled() (held, owned []string, polled map[string]int64) {
	st := n.status()
	return st.Cluster.Dialled, st.owned(), st.polled()
}

var dialChannels = []string{"D1", "T1", "T2"}

// holds reports whether n holds, owns and reads every dial-in channel,
// each read more than before (from a previous call's polled).
func holds(n *dialNode, before map[string]int64) (bool, string) {
	held, owned, polled := n.dialled()
	why := fmt.Sprintf("%s holds %v, owns %v, polls %v", n.name, held, owned, polled)
	if !slices.Equal(held, dialChannels) {
		return false, why
	}
	for _, ch := range dialChannels {
		if !slices.Contains(owned, ch) || polled[ch] <= before[ch] {
			return false, why
		}
	}
	return true, why
}

// holdsNone reports whether n neither holds, owns nor polls a dial-in
// channel.
func holdsNone(n *dialNode) (bool, string) {
	held, owned, polled := n.dialled()
	why := fmt.Sprintf("%s holds %v, owns %v, polls %v", n.name, held, owned, polled)
	for _, ch := range dialChannels {
		if _, ok := polled[ch]; ok || slices.Contains(owned, ch) || slices.Contains(held, ch) {
			return false, why
		}
	}
	return true, why
}

// TestClusterTakesOverDialledInTerminals runs two nodes behind one TCP
// front for a DTU and two 1376.1 terminals: the node their links arrive
// at takes them over and polls them, whatever the assignment says; when
// the front moves them to the other node, that node takes them over
// within a TTL and the first stops polling them; a second link of a
// terminal to the first node makes the older link close, and the
// cluster settles with one link and one poller per terminal.
func TestClusterTakesOverDialledInTerminals(t *testing.T) {
	etcd := etcdtest.Start(t)
	dtu, gdw := tcpfront.Start(t), tcpfront.Start(t)
	sim := dialField(t, dtu, gdw)
	a := startDialNode(t, "node-a", etcd.Endpoint, sim)
	b := startDialNode(t, "node-b", etcd.Endpoint, sim)

	// every link arrives at node-a: it polls all three, node-b none
	dtu.Route(a.dtu)
	gdw.Route(a.gdw)
	took := eventually(t, 20*time.Second, "node-a takes the dialled-in channels", func() (bool, string) {
		if ok, why := holds(a, nil); !ok {
			return false, why
		}
		return holdsNone(b)
	})
	t.Logf("node-a holds and polls D1, T1, T2 %v after the links were routed to it", took.Round(time.Millisecond))

	// the front sends them to node-b and the links drop
	dtu.Route(b.dtu)
	gdw.Route(b.gdw)
	_, _, before := b.dialled()
	dtu.Cut()
	gdw.Cut()
	took = eventually(t, 2*clusterTTL+5*time.Second, "node-b takes the dialled-in channels", func() (bool, string) {
		if ok, why := holds(b, before); !ok {
			return false, why
		}
		return holdsNone(a)
	})
	t.Logf("node-b holds and polls D1, T1, T2 %v after the links were cut (TTL %v)", took.Round(time.Millisecond), clusterTTL)

	// a second link of T1, straight to node-a's listener: the newer
	// link wins there, node-b closes T1's; T1 dials again through the
	// front to node-b, whose link is then the newer: node-a closes ours
	raw, err := net.Dial("tcp", a.gdw)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	t1, err := gdw3761.ParseAddress("4401 0001")
	if err != nil {
		t.Fatal(err)
	}
	login, err := gdw3761.Link(t1, 0, 1, gdw3761.DateTime{})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := login.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Write(lb); err != nil {
		t.Fatal(err)
	}
	r := gdw3761.NewReader(raw)
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	if f, err := r.ReadFrame(); err != nil || f.AFN != gdw3761.AFNConfirm {
		t.Fatalf("node-a did not confirm the second login of T1: %+v %v", f, err)
	}
	start := time.Now()
	raw.SetReadDeadline(time.Now().Add(2*clusterTTL + 10*time.Second))
	for {
		if _, err := r.ReadFrame(); err != nil {
			var fe *gdw3761.FrameError
			if errors.As(err, &fe) {
				continue
			}
			break // node-a closed the older link
		}
	}
	t.Logf("node-a closed the second link of T1 %v after it logged in", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(b.logs.String(), "a newer link at another node") {
		t.Errorf("node-b did not close T1's link for node-a's newer one:\n%s", b.logs.String())
	}
	if !strings.Contains(a.logs.String(), "a newer link at another node") {
		t.Errorf("node-a did not close its link of T1 for node-b's newer one")
	}
	_, _, before = b.dialled()
	eventually(t, 2*clusterTTL+5*time.Second, "the cluster settles on node-b", func() (bool, string) {
		if ok, why := holds(b, before); !ok {
			return false, why
		}
		return holdsNone(a)
	})
}
