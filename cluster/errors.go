package cluster

import (
	"errors"
	"fmt"
)

// ErrNotOwner is the error of an operation only an item's owner may do.
var ErrNotOwner = errors.New("not its owner")

// errNoSession: the node's lease was lost and a new one not yet granted.
var errNoSession = errors.New("no lease: rejoining the cluster")

// ItemError is an operation on one item that failed.
type ItemError struct {
	Node string // this node
	Item string
	Op   string // "release", "set progress", ...
	Err  error
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("cluster: node %s: %s %s: %v", e.Node, e.Op, e.Item, e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }
