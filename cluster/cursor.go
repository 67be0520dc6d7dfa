package cluster

import (
	"context"
	"encoding/json"
	"fmt"
)

// cursorDir holds cursor/<item> = cursorRecord: a position in a feed
// (billing's change feed) that outlives its writer, like progress/.
const cursorDir = "cursor/"

// cursorRecord is the value of a cursor/ key.
type cursorRecord struct {
	Seq  int64  `json:"seq"`
	Node string `json:"node"` // who wrote it
}

// Cursor returns item's cursor, ok false when none was ever set.
func (n *Node) Cursor(ctx context.Context, item string) (seq int64, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, n.opt.TTL)
	defer cancel()
	resp, err := n.cli.Get(ctx, n.opt.Prefix+cursorDir+item)
	if err != nil {
		return 0, false, &ItemError{Node: n.opt.Node, Item: item, Op: "read cursor", Err: err}
	}
	if len(resp.Kvs) == 0 {
		return 0, false, nil
	}
	var rec cursorRecord
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		return 0, false, &ItemError{Node: n.opt.Node, Item: item, Op: "read cursor",
			Err: fmt.Errorf("key %s: %w", resp.Kvs[0].Key, err)}
	}
	return rec.Seq, true, nil
}

// SetCursor writes item's cursor as SetProgress writes its progress: in
// one transaction that succeeds only while this node's lease holds the
// item's owner key, and only before the fence deadline. It returns an
// error wrapping ErrNotOwner otherwise.
func (n *Node) SetCursor(ctx context.Context, item string, seq int64) error {
	n.mu.Lock()
	lease, owns := n.lease, n.ownsLocked(item)
	n.mu.Unlock()
	if !owns {
		return &ItemError{Node: n.opt.Node, Item: item, Op: "set cursor", Err: ErrNotOwner}
	}
	b, _ := json.Marshal(cursorRecord{Seq: seq, Node: n.opt.Node})
	return n.putOwned(ctx, lease, item, "set cursor", n.opt.Prefix+cursorDir+item, string(b))
}
