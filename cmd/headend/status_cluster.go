package main

// headend status: the cluster part of GET /status (serve --cluster): the
// nodes, their leases and advertised URLs, what each owns by kind, this
// node's fence; every item and its owner with --items.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/headend/headend/cluster"
	"github.com/headend/headend/fieldops"
)

// clusterPart is the cluster part of GET /status.
type clusterPart struct {
	cluster.Status
	Node  string   `json:"node"`  // the node that answered
	Owned []string `json:"owned"` // the items it owns
	Err   string   `json:"error,omitempty"`
}

// statusWithCluster is what headend status prints as JSON: the field
// status, and the cluster part when the daemon runs --cluster.
type statusWithCluster struct {
	*fieldops.Status
	Cluster *clusterPart `json:"cluster,omitempty"`
}

// fetchCluster reads the cluster part of server's GET /status; nil
// when the daemon is not clustered.
func fetchCluster(ctx context.Context, server, token string) (*clusterPart, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	url := strings.TrimSuffix(server, "/") + "/status"
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	var st struct {
		Cluster *clusterPart `json:"cluster"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return st.Cluster, nil
}

// itemKind is the kind of a cluster item: what comes before its colon
// (channel, area), or the item itself (publish).
func itemKind(item string) string {
	k, _, _ := strings.Cut(item, ":")
	return k
}

// kindHeader is the column of a kind of item: CHANNELS, AREAS, and FEED
// for the billing publisher's item.
func kindHeader(kind string) string {
	if kind == "publish" {
		return "FEED"
	}
	return strings.ToUpper(kind) + "S"
}

// printCluster prints the nodes with the count of items of each kind
// they own, this node's lease and fence, the items nobody owns, and with
// items every item and its owner.
func printCluster(w io.Writer, cp *clusterPart, items bool) {
	self := "?"
	if s := cp.Self; s != nil {
		fenced := "no"
		if s.Fenced {
			fenced = "yes: it polls nothing"
		}
		self = fmt.Sprintf("lease %s, fence deadline %s, fenced %s", s.Lease, s.Deadline.Local().Format("2006-01-02 15:04:05"), fenced)
	}
	fmt.Fprintf(w, "\nCLUSTER\tanswered by %s (%s)\n", cp.Node, self)
	if cp.Err != "" {
		fmt.Fprintf(w, "\tetcd: %s (what the node last knew)\n", cp.Err)
	}
	kinds := map[string]bool{}
	owns := map[string]map[string]int{} // node → kind → count
	for it, n := range cp.Owners {
		k := itemKind(it)
		kinds[k] = true
		if owns[n] == nil {
			owns[n] = map[string]int{}
		}
		owns[n][k]++
	}
	ks := make([]string, 0, len(kinds))
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	fmt.Fprintf(w, "\nNODE\tADVERTISE\tLEASE\tTTL LEFT\tWEIGHT\tJOINED")
	for _, k := range ks {
		fmt.Fprintf(w, "\t%s", kindHeader(k))
	}
	fmt.Fprintln(w)
	for _, m := range cp.Members {
		ttl, adv, weight := "?", m.Advertise, m.Weight
		if m.TTL >= 0 {
			ttl = m.TTL.String()
		}
		if adv == "" {
			adv = "-"
		}
		if weight == 0 {
			weight = 1
		}
		name := m.Node
		if name == cp.Node {
			name += " *"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%g\t%s", name, adv, m.Lease, ttl, weight, m.Joined.Local().Format("2006-01-02 15:04:05"))
		for _, k := range ks {
			fmt.Fprintf(w, "\t%d", owns[m.Node][k])
		}
		fmt.Fprintln(w)
	}
	if len(cp.Free) > 0 {
		fmt.Fprintf(w, "\nnobody owns %d item(s): %s\n", len(cp.Free), strings.Join(cp.Free, ", "))
	}
	if !items {
		fmt.Fprintf(w, "(%d items owned; --items lists them)\n", len(cp.Owners))
		return
	}
	its := make([]string, 0, len(cp.Owners))
	for it := range cp.Owners {
		its = append(its, it)
	}
	sort.Strings(its)
	fmt.Fprintf(w, "\nITEM\tOWNER\tDIAL-IN\n")
	for _, it := range its {
		d := cp.DialIns[it]
		if d == "" {
			d = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", it, cp.Owners[it], d)
	}
}
