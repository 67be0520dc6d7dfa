package cluster

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// watchRange is the key range the node watches: dialin/, members/ and
// owner/, which sort before progress/ (progress records change after every
// transaction and concern only an item's owner).
func (n *Node) watchRange() (from, end string) {
	return n.opt.Prefix + dialinDir, n.opt.Prefix + progressDir
}

// sync reads the members, owners and dial-ins afresh and returns the
// revision they were read at.
func (n *Node) sync(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, n.opt.TTL)
	defer cancel()
	from, end := n.watchRange()
	resp, err := n.cli.Get(ctx, from, clientv3.WithRange(end))
	if err != nil {
		return 0, err
	}
	n.mu.Lock()
	n.members = map[string]member{}
	n.owners = map[string]owner{}
	n.dialins = map[string]string{}
	for _, kv := range resp.Kvs {
		n.applyLocked(mvccpb.PUT, kv)
	}
	n.pruneReleasingLocked()
	n.mu.Unlock()
	n.signal()
	n.poke()
	return resp.Header.Revision, nil
}

// applyLocked folds one watched key's change into the view.
func (n *Node) applyLocked(typ mvccpb.Event_EventType, kv *mvccpb.KeyValue) {
	rel := strings.TrimPrefix(string(kv.Key), n.opt.Prefix)
	switch {
	case strings.HasPrefix(rel, membersDir):
		name := strings.TrimPrefix(rel, membersDir)
		if typ == mvccpb.DELETE {
			delete(n.members, name)
			return
		}
		var rec memberRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			n.opt.Logger.Warn("cluster: bad member record", "key", string(kv.Key), "err", err)
			return
		}
		rec.Node = name
		n.members[name] = member{memberRecord: rec, lease: clientv3.LeaseID(kv.Lease)}
	case strings.HasPrefix(rel, ownerDir):
		item := strings.TrimPrefix(rel, ownerDir)
		if typ == mvccpb.DELETE {
			delete(n.owners, item)
			delete(n.releasing, item)
			return
		}
		n.owners[item] = owner{node: string(kv.Value), lease: clientv3.LeaseID(kv.Lease)}
		if string(kv.Value) != n.opt.Node {
			delete(n.releasing, item)
		}
	case strings.HasPrefix(rel, dialinDir):
		item := strings.TrimPrefix(rel, dialinDir)
		if kv.ModRevision < n.dialRev[item] {
			return // older than this node's own put, which DialIn applied already
		}
		if typ == mvccpb.DELETE {
			delete(n.dialins, item)
			return
		}
		n.dialins[item] = string(kv.Value)
	}
}

// pruneReleasingLocked forgets releases whose key is gone or another's.
func (n *Node) pruneReleasingLocked() {
	for it := range n.releasing {
		if o, ok := n.owners[it]; !ok || o.node != n.opt.Node || o.lease != n.lease {
			delete(n.releasing, it)
		}
	}
}

// watchLoop follows the cluster's keys from rev, reading them afresh when
// the watch breaks (compaction, a lost connection).
func (n *Node) watchLoop(rev int64) {
	defer n.wg.Done()
	from, end := n.watchRange()
	for n.ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(n.ctx))
		wch := n.cli.Watch(wctx, from, clientv3.WithRange(end), clientv3.WithRev(rev+1))
		for resp := range wch {
			if resp.Err() != nil {
				break
			}
			n.mu.Lock()
			for _, ev := range resp.Events {
				n.applyLocked(ev.Type, ev.Kv)
			}
			n.mu.Unlock()
			rev = resp.Header.Revision
			n.signal()
			n.poke()
		}
		cancel()
		for n.ctx.Err() == nil {
			r, err := n.sync(n.ctx)
			if err == nil {
				rev = r
				break
			}
			select {
			case <-n.ctx.Done():
			case <-time.After(n.opt.Renew):
			}
		}
	}
}

// poke asks the reconcile loop to run.
func (n *Node) poke() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// signal sends on Changes when Owned() differs from what it last sent.
func (n *Node) signal() {
	now := n.Owned()
	n.mu.Lock()
	same := len(now) == len(n.lastOwned)
	for _, it := range now {
		same = same && n.lastOwned[it]
	}
	if !same {
		n.lastOwned = make(map[string]bool, len(now))
		for _, it := range now {
			n.lastOwned[it] = true
		}
	}
	n.mu.Unlock()
	if !same {
		select {
		case n.changes <- struct{}{}:
		default:
		}
	}
}

// Changes receives a value whenever Owned() may have changed: an item
// claimed, released or lost, the fence closing or opening again.
func (n *Node) Changes() <-chan struct{} { return n.changes }

// Owned returns the items this node owns now, sorted: what its collector
// polls. It is empty once the fence deadline has passed without a lease
// renewal, whatever etcd last said.
func (n *Node) Owned() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ownedLocked()
}

func (n *Node) ownedLocked() []string {
	if n.lease == 0 || !n.opt.Clock.Now().Before(n.deadline) {
		return []string{}
	}
	out := []string{}
	for it, o := range n.owners {
		if o.node == n.opt.Node && o.lease == n.lease && !n.releasing[it] {
			out = append(out, it)
		}
	}
	sort.Strings(out)
	return out
}

// Owns reports whether this node owns item now (see Owned).
func (n *Node) Owns(item string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ownsLocked(item)
}

func (n *Node) ownsLocked(item string) bool {
	o, ok := n.owners[item]
	return ok && n.lease != 0 && o.node == n.opt.Node && o.lease == n.lease &&
		!n.releasing[item] && n.opt.Clock.Now().Before(n.deadline)
}

// SetItems sets the work items there are (channel and area items, see
// ChannelItem and AreaItem); every node is given the same list, from
// the same configuration.
func (n *Node) SetItems(items []string) {
	n.mu.Lock()
	n.items = make(map[string]bool, len(items))
	for _, it := range items {
		n.items[it] = true
	}
	n.mu.Unlock()
	n.poke()
}

// ChannelItem is the work item of a polled channel (a bus).
func ChannelItem(name string) string { return "channel:" + name }

// membersLocked lists the live members for the assignment.
func (n *Node) membersLocked() []Member {
	ms := make([]Member, 0, len(n.members))
	for _, m := range n.members {
		ms = append(ms, Member{Name: m.Node, Weight: m.Weight})
	}
	return ms
}

// desiredLocked is the node that should own item: the node a dial-in
// terminal's link arrived at while that node lives, else the assignment's.
func (n *Node) desiredLocked(ms []Member, item string) string {
	if d, ok := n.dialins[item]; ok {
		if _, live := n.members[d]; live {
			return d
		}
	}
	return Owner(ms, item)
}

// Releasable returns the items this node owns that should now be
// another's (a node joined, an item left the configuration, a terminal
// dialled in elsewhere), sorted. The caller stops polling them at a safe
// point (between transactions, at the end of a poll cycle) and calls
// Release.
func (n *Node) Releasable() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	ms := n.membersLocked()
	out := []string{}
	for _, it := range n.ownedLocked() {
		if !n.items[it] || n.desiredLocked(ms, it) != n.opt.Node {
			out = append(out, it)
		}
	}
	return out
}

// Release gives items up: it drops them from Owned at once, then deletes
// their owner keys (only where this node's lease still holds them) so that
// their desired owners can claim them. The caller must have stopped
// polling them. A delete that fails is retried by the reconcile loop.
func (n *Node) Release(ctx context.Context, items ...string) error {
	n.mu.Lock()
	lease := n.lease
	var mine []string
	for _, it := range items {
		if o, ok := n.owners[it]; ok && o.node == n.opt.Node && o.lease == lease {
			n.releasing[it] = true
			mine = append(mine, it)
		}
	}
	n.mu.Unlock()
	n.signal()
	var first error
	for _, it := range mine {
		if err := n.deleteOwner(ctx, it, lease); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (n *Node) deleteOwner(ctx context.Context, item string, lease clientv3.LeaseID) error {
	ctx, cancel := context.WithTimeout(ctx, n.opt.TTL)
	defer cancel()
	key := n.opt.Prefix + ownerDir + item
	_, err := n.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", n.opt.Node),
			clientv3.Compare(clientv3.LeaseValue(key), "=", lease)).
		Then(clientv3.OpDelete(key)).
		Commit()
	if err != nil {
		return &ItemError{Node: n.opt.Node, Item: item, Op: "release", Err: err}
	}
	return nil
}

// reconcileLoop claims, on every change seen and every Renew, the items
// whose desired owner is this node and which nobody holds, and retries
// releases whose delete failed.
func (n *Node) reconcileLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.kick:
		case <-n.opt.Clock.After(n.opt.Renew):
		}
		n.reconcile(n.ctx)
	}
}

// claimBatch is how many free items one claiming transaction takes at
// once (etcd allows 128 operations in a transaction).
const claimBatch = 64

func (n *Node) reconcile(ctx context.Context) {
	n.mu.Lock()
	lease := n.lease
	if lease == 0 || !n.opt.Clock.Now().Before(n.deadline) {
		n.mu.Unlock()
		return
	}
	ms := n.membersLocked()
	var claim, retry []string
	for it := range n.items {
		if _, held := n.owners[it]; !held && n.desiredLocked(ms, it) == n.opt.Node {
			claim = append(claim, it)
		}
	}
	for it := range n.releasing {
		if o, ok := n.owners[it]; ok && o.lease == lease {
			retry = append(retry, it)
		}
	}
	n.mu.Unlock()
	sort.Strings(claim)
	for len(claim) > 0 {
		b := claim[:min(claimBatch, len(claim))]
		claim = claim[len(b):]
		n.claim(ctx, lease, b)
	}
	for _, it := range retry {
		n.deleteOwner(ctx, it, lease)
	}
	n.signal()
}

// claim creates the owner keys of items under lease, all in one
// transaction when none is held, else one by one; each is created only if
// absent, so no item ever has two owners.
func (n *Node) claim(ctx context.Context, lease clientv3.LeaseID, items []string) {
	ctx, cancel := context.WithTimeout(ctx, n.opt.TTL)
	defer cancel()
	cmps := make([]clientv3.Cmp, len(items))
	puts := make([]clientv3.Op, len(items))
	for i, it := range items {
		key := n.opt.Prefix + ownerDir + it
		cmps[i] = clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
		puts[i] = clientv3.OpPut(key, n.opt.Node, clientv3.WithLease(lease))
	}
	resp, err := n.cli.Txn(ctx).If(cmps...).Then(puts...).Commit()
	if err != nil {
		n.opt.Logger.Warn("cluster: claiming", "node", n.opt.Node, "items", len(items), "err", err)
		return
	}
	if resp.Succeeded {
		n.mu.Lock()
		for _, it := range items {
			n.owners[it] = owner{node: n.opt.Node, lease: lease}
			delete(n.releasing, it)
		}
		n.mu.Unlock()
		n.signal()
		return
	}
	if len(items) > 1 {
		for _, it := range items {
			n.claim(ctx, lease, []string{it})
		}
	}
}
