package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Progress is how far an item's owner got in a schedule slot: written after
// each transaction (or batch) so that a node taking the item over in the
// middle of the slot starts where the last owner stopped instead of polling
// the meters it already read again.
type Progress struct {
	Slot time.Time `json:"slot"`           // the slot's start
	Done int       `json:"done"`           // transactions finished in the slot, in the channel's poll order
	Last string    `json:"last,omitempty"` // the last meter (or point) finished, to check the order agrees
	Node string    `json:"node,omitempty"` // who wrote it; SetProgress fills it in
}

// Progress returns item's progress record, ok false when there is none.
func (n *Node) Progress(ctx context.Context, item string) (p Progress, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, n.opt.TTL)
	defer cancel()
	resp, err := n.cli.Get(ctx, n.opt.Prefix+progressDir+item)
	if err != nil {
		return Progress{}, false, &ItemError{Node: n.opt.Node, Item: item, Op: "read progress", Err: err}
	}
	if len(resp.Kvs) == 0 {
		return Progress{}, false, nil
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &p); err != nil {
		return Progress{}, false, &ItemError{Node: n.opt.Node, Item: item, Op: "read progress",
			Err: fmt.Errorf("key %s: %w", resp.Kvs[0].Key, err)}
	}
	return p, true, nil
}

// SetProgress writes item's progress record, in one transaction that
// succeeds only while this node's lease holds the item's owner key, and
// only before the fence deadline: a node that lost an item cannot move its
// progress. It returns an error wrapping ErrNotOwner otherwise.
func (n *Node) SetProgress(ctx context.Context, item string, p Progress) error {
	n.mu.Lock()
	lease, owns := n.lease, n.ownsLocked(item)
	n.mu.Unlock()
	if !owns {
		return &ItemError{Node: n.opt.Node, Item: item, Op: "set progress", Err: ErrNotOwner}
	}
	p.Node = n.opt.Node
	b, err := json.Marshal(p)
	if err != nil {
		return &ItemError{Node: n.opt.Node, Item: item, Op: "set progress", Err: err}
	}
	return n.putOwned(ctx, lease, item, "set progress", n.opt.Prefix+progressDir+item, string(b))
}

// putOwned puts key = value in one transaction that succeeds only while
// lease holds item's owner key for this node; op names it in the error,
// which wraps ErrNotOwner when the transaction failed.
func (n *Node) putOwned(ctx context.Context, lease clientv3.LeaseID, item, op, key, value string) error {
	ctx, cancel := context.WithTimeout(ctx, n.opt.TTL)
	defer cancel()
	owner := n.opt.Prefix + ownerDir + item
	resp, err := n.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(owner), "=", n.opt.Node),
			clientv3.Compare(clientv3.LeaseValue(owner), "=", lease)).
		Then(clientv3.OpPut(key, value)).
		Commit()
	if err != nil {
		return &ItemError{Node: n.opt.Node, Item: item, Op: op, Err: err}
	}
	if !resp.Succeeded {
		return &ItemError{Node: n.opt.Node, Item: item, Op: op, Err: ErrNotOwner}
	}
	return nil
}

// Resume is where a new owner of an item starts in the slot beginning at
// slot, given the item's progress record: the number of transactions, in
// poll order, already done (0 when the record is of another slot).
func Resume(p Progress, ok bool, slot time.Time) int {
	if !ok || !p.Slot.Equal(slot) {
		return 0
	}
	return p.Done
}
