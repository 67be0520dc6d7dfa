package cluster

import (
	"context"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DialIn is what a node does with a 376.1 terminal whose link arrived at it.
type DialIn int

const (
	// Keep: this node owns the terminal already.
	Keep DialIn = iota
	// Claim: nobody owns it; this node claims it.
	Claim
	// TakeOver: another node owns it; this node asks for it through etcd
	// (a dialin/ key under its lease), the owner releases it at its next
	// safe point, and this node claims it.
	TakeOver
)

func (d DialIn) String() string {
	switch d {
	case Keep:
		return "keep"
	case Claim:
		return "claim"
	case TakeOver:
		return "take over"
	}
	return "DialIn(?)"
}

// DecideDialIn is the decision for a terminal item that dialled in to node
// me, whose owner (by etcd) is owner ("" for none). The node holding the
// link always ends up owning the terminal: see the package doc for why.
func DecideDialIn(me, owner string) DialIn {
	switch owner {
	case me:
		return Keep
	case "":
		return Claim
	}
	return TakeOver
}

// DialIn records that terminal item's link arrived at this node: it puts
// dialin/<item> = this node under its lease, which makes this node the
// item's desired owner on every node, and returns what follows (see
// DecideDialIn). The reconcile loop claims the item as soon as it is free;
// wait for it on Changes. The owner before hands it over through Releasable
// and Release; a dead owner's key lapses with its lease.
func (n *Node) DialIn(ctx context.Context, item string) (DialIn, error) {
	n.mu.Lock()
	lease := n.lease
	cur := n.owners[item].node
	if !n.ownsLocked(item) && cur == n.opt.Node {
		cur = "" // an old session's key, or fenced: claim afresh
	}
	n.mu.Unlock()
	d := DecideDialIn(n.opt.Node, cur)
	if lease == 0 {
		return d, &ItemError{Node: n.opt.Node, Item: item, Op: "dial in", Err: errNoSession}
	}
	ctx, cancel := context.WithTimeout(ctx, n.opt.TTL)
	defer cancel()
	resp, err := n.cli.Put(ctx, n.opt.Prefix+dialinDir+item, n.opt.Node, clientv3.WithLease(lease))
	if err != nil {
		return d, &ItemError{Node: n.opt.Node, Item: item, Op: "dial in", Err: err}
	}
	n.mu.Lock()
	n.dialed[item] = true
	n.dialins[item] = n.opt.Node
	n.dialRev[item] = resp.Header.Revision
	n.mu.Unlock()
	n.poke()
	return d, nil
}

// HangUp records that terminal item's link to this node closed: its dialin/
// key is deleted if it still names this node (the terminal may have
// dialled in elsewhere since), and the item returns to the assignment.
func (n *Node) HangUp(ctx context.Context, item string) error {
	n.mu.Lock()
	delete(n.dialed, item)
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, n.opt.TTL)
	defer cancel()
	key := n.opt.Prefix + dialinDir + item
	_, err := n.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", n.opt.Node)).
		Then(clientv3.OpDelete(key)).
		Commit()
	if err != nil {
		return &ItemError{Node: n.opt.Node, Item: item, Op: "hang up", Err: err}
	}
	n.poke()
	return nil
}

// DialInHolder is the node whose dial-in key names terminal item now ("" for
// none), as this node's watch has it: a node that dialled item in and
// finds another here holds an older link than that node's.
func (n *Node) DialInHolder(item string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dialins[item]
}

// DialledIn returns the items this node's links hold (DialIn, not yet
// HangUp), sorted.
func (n *Node) DialledIn() []string {
	n.mu.Lock()
	out := make([]string, 0, len(n.dialed))
	for it := range n.dialed {
		out = append(out, it)
	}
	n.mu.Unlock()
	slices.Sort(out)
	return out
}
