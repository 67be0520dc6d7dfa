package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Status is the cluster as etcd holds it, for /status and headend status.
type Status struct {
	Members []MemberStatus    `json:"members"` // sorted by name
	Owners  map[string]string `json:"owners"`  // item → owning node
	DialIns map[string]string `json:"dialins,omitempty"`
	Free    []string          `json:"free,omitempty"` // this node's items nobody owns (Node.Status only)
	Self    *SelfStatus       `json:"self,omitempty"` // the asking node (Node.Status only)
}

// MemberStatus is one node.
type MemberStatus struct {
	Node   string        `json:"node"`
	Weight float64       `json:"weight,omitempty"`
	Joined time.Time     `json:"joined"`
	Lease  string        `json:"lease"`  // hex, as etcdctl prints it
	TTL    time.Duration `json:"ttl_ns"` // left on the lease when read; -1 when unknown
	Owns   int           `json:"owns"`
	// Advertise is the node's API URL (Options.Advertise); empty: none.
	Advertise string `json:"advertise,omitempty"`
}

// SelfStatus is what only the node itself knows.
type SelfStatus struct {
	Node     string    `json:"node"`
	Lease    string    `json:"lease"`
	Fenced   bool      `json:"fenced"`   // the fence deadline passed: it polls nothing
	Deadline time.Time `json:"deadline"` // the fence deadline
	Owned    int       `json:"owned"`
}

// ReadStatus reads the cluster's status under prefix ("" is the default
// prefix) without joining it.
func ReadStatus(ctx context.Context, cli *clientv3.Client, prefix string) (Status, error) {
	o := Options{Node: "status", Prefix: prefix}
	if err := o.fill(); err != nil {
		return Status{}, err
	}
	prefix = o.Prefix
	resp, err := cli.Get(ctx, prefix+dialinDir, clientv3.WithRange(prefix+progressDir))
	if err != nil {
		return Status{}, fmt.Errorf("cluster: status under %s: %w", prefix, err)
	}
	st := Status{Owners: map[string]string{}, DialIns: map[string]string{}}
	owns := map[string]int{}
	for _, kv := range resp.Kvs {
		rel := strings.TrimPrefix(string(kv.Key), prefix)
		switch {
		case strings.HasPrefix(rel, membersDir):
			var rec memberRecord
			if err := json.Unmarshal(kv.Value, &rec); err != nil {
				return Status{}, fmt.Errorf("cluster: status: key %s: %w", kv.Key, err)
			}
			ms := MemberStatus{Node: strings.TrimPrefix(rel, membersDir), Weight: rec.Weight, Joined: rec.Joined,
				Lease: fmt.Sprintf("%x", kv.Lease), TTL: -1, Advertise: rec.Advertise}
			if ttl, err := cli.TimeToLive(ctx, clientv3.LeaseID(kv.Lease)); err == nil && ttl.TTL >= 0 {
				ms.TTL = time.Duration(ttl.TTL) * time.Second
			}
			st.Members = append(st.Members, ms)
		case strings.HasPrefix(rel, ownerDir):
			st.Owners[strings.TrimPrefix(rel, ownerDir)] = string(kv.Value)
			owns[string(kv.Value)]++
		case strings.HasPrefix(rel, dialinDir):
			st.DialIns[strings.TrimPrefix(rel, dialinDir)] = string(kv.Value)
		}
	}
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].Node < st.Members[j].Node })
	for i := range st.Members {
		st.Members[i].Owns = owns[st.Members[i].Node]
	}
	return st, nil
}

// Status reads the cluster's status (see ReadStatus) and adds this node's
// own: its lease, its fence, and its items nobody owns.
func (n *Node) Status(ctx context.Context) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, n.opt.TTL)
	defer cancel()
	st, err := ReadStatus(ctx, n.cli, n.opt.Prefix)
	if err != nil {
		return st, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	owned := n.ownedLocked()
	st.Self = &SelfStatus{
		Node:     n.opt.Node,
		Lease:    fmt.Sprintf("%x", int64(n.lease)),
		Fenced:   !n.opt.Clock.Now().Before(n.deadline),
		Deadline: n.deadline,
		Owned:    len(owned),
	}
	for it := range n.items {
		if _, ok := st.Owners[it]; !ok {
			st.Free = append(st.Free, it)
		}
	}
	sort.Strings(st.Free)
	return st, nil
}
