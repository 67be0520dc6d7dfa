package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/api/field"
	"github.com/headend/headend/fieldops"
	"github.com/headend/headend/internal/etcdtest"
)

// fieldRead POSTs a field read of meter addr to the node, with the extra
// request headers hdr, and returns the status, the answer's headers and
// its body.
func (n *clusterNode) fieldRead(addr string, hdr map[string]string) (int, http.Header, []byte) {
	n.t.Helper()
	req, _ := http.NewRequest("POST", n.http+"/api/v1/meters/"+addr+"/read", strings.NewReader(`{"di":["forward active energy total"]}`))
	req.Header.Set("Authorization", "Bearer "+tokAdmin)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s: field read of %s: %v", n.name, addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// TestClusterForwardsFieldOps: a field read through a node that does not
// poll the meter's channel is forwarded to the node that does, which
// answers it from the meter (the answer says which node); a forwarded
// request is not forwarded again; and a read for a channel whose owner
// died answers 503 naming the channel and the owner (or that it has none,
// once the lease lapsed) until the channel is taken over, then is
// answered where it arrived.
func TestClusterForwardsFieldOps(t *testing.T) {
	etcd := etcdtest.Start(t).Endpoint
	sim := clusterField(t)
	var all []string
	for _, e := range sim.Endpoints {
		all = append(all, e.Concentrator)
	}
	slices.Sort(all)
	a := startClusterNode(t, "node-a", etcd, sim, false)
	b := startClusterNode(t, "node-b", etcd, sim, true)
	_, sb := waitShared(t, all, a, b)
	ch := sb.owned()[0]
	var addr string
	for _, e := range sim.Endpoints {
		if e.Concentrator == ch {
			addr = e.Meters[0]
		}
	}
	// through a, which does not poll ch: forwarded to b
	start := time.Now()
	code, hdr, body := a.fieldRead(addr, nil)
	took := time.Since(start)
	var rd fieldops.Reading
	if code != http.StatusOK || json.Unmarshal(body, &rd) != nil {
		t.Fatalf("read of %s (channel %s, b's) through a: %d %s", addr, ch, code, body)
	}
	if hdr.Get(ForwardedTo) != "node-b" {
		t.Errorf("the answer through a says %s: %q, want node-b", ForwardedTo, hdr.Get(ForwardedTo))
	}
	if !strings.Contains(a.logs.String(), `msg="field operation forwarded"`) || !strings.Contains(a.logs.String(), "channel="+ch) {
		t.Errorf("a's log has no forwarding of channel %s", ch)
	}
	t.Logf("read of %s through a, forwarded to b, in %v: %s", addr, took, body)
	// through b itself: answered there, not forwarded
	start = time.Now()
	if code, hdr, body := b.fieldRead(addr, nil); code != http.StatusOK || hdr.Get(ForwardedTo) != "" {
		t.Errorf("read through b: %d %q %s", code, hdr.Get(ForwardedTo), body)
	}
	t.Logf("the same read through b: %v", time.Since(start))
	// a request a node forwarded is never forwarded again
	code, _, body = a.fieldRead(addr, map[string]string{ForwardedBy: "node-c"})
	var p field.Problem
	if code != http.StatusServiceUnavailable || json.Unmarshal(body, &p) != nil || p.Kind != field.KindUnavailable ||
		!strings.Contains(p.Error, "channel "+ch) || !strings.Contains(p.Error, "node-b") || !strings.Contains(p.Error, "node-c") {
		t.Errorf("a request forwarded already, at a: %d %s", code, body)
	}

	// b dies: until its lease lapses its channels are still its own and it
	// does not answer: 503 naming the channel and b; then a takes ch over
	// and answers it itself
	b.stop()
	saw503, seen := false, map[string]bool{}
	eventually(t, clusterTTL+10*time.Second, "a answers the read of "+addr+" itself", func() (bool, string) {
		code, hdr, body := a.fieldRead(addr, nil)
		switch {
		case code == http.StatusServiceUnavailable:
			// b's lease running: b named; lapsed, before a claims: no owner;
			// claimed, before a's collector opened it: not open
			if json.Unmarshal(body, &p) != nil || !strings.Contains(p.Error, "channel "+ch) ||
				!strings.Contains(p.Error, "node-b") && !strings.Contains(p.Error, "no owner") && !strings.Contains(p.Error, "is not open") {
				t.Fatalf("503 without the channel and its owner: %s", body)
			}
			if !seen[p.Error[:20]] {
				t.Logf("b dead: %s", body)
				seen[p.Error[:20]] = true
			}
			saw503 = true
			return false, string(body)
		case code == http.StatusOK && hdr.Get(ForwardedTo) == "":
			return true, ""
		}
		return false, fmt.Sprintf("%d %q %s", code, hdr.Get(ForwardedTo), body)
	})
	if !saw503 {
		t.Log("a had taken the channel over before the first read: no 503 seen")
	}
}
