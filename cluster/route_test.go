package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/headend/headend/internal/etcdtest"
)

// Every node sees each item's owner and the API URL it advertised, in its
// member record and in the status.
func TestOwnerOfNamesTheOwnerAndItsURL(t *testing.T) {
	srv := etcdtest.Start(t)
	all := items(8)
	url := map[string]string{"alpha": "http://10.0.0.1:8080", "bravo": "https://bravo.example:8443"}
	var nodes []*testNode
	for _, name := range []string{"alpha", "bravo"} {
		nodes = append(nodes, join(t, srv, srv.Endpoint, name, all, func(o *Options) { o.Advertise = url[name] }))
	}
	waitFor(t, 10*time.Second, "two nodes own the assignment", func() bool { return settled(nodes, all) == nil })
	// each node learns the other's owner keys by its watch, a moment later
	waitFor(t, 10*time.Second, "every node sees every owner", func() bool {
		for _, n := range nodes {
			for _, it := range all {
				if _, _, ok := n.OwnerOf(it); !ok {
					return false
				}
			}
		}
		return true
	})
	for _, n := range nodes {
		for _, it := range all {
			owner, adv, ok := n.OwnerOf(it)
			if !ok || adv != url[owner] || nodes[0].Owns(it) != (owner == "alpha") {
				t.Errorf("%s: OwnerOf(%s) = %q %q %v", n.Name(), it, owner, adv, ok)
			}
		}
	}
	if _, _, ok := nodes[0].OwnerOf("channel:nowhere"); ok {
		t.Error("an item nobody owns has an owner")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := nodes[1].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Members {
		if m.Advertise != url[m.Node] {
			t.Errorf("status: member %s advertises %q", m.Node, m.Advertise)
		}
	}
}
