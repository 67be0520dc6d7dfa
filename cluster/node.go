package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Options configure a Node. Node is required; the zero value of every other
// field picks the default named on it.
type Options struct {
	Node   string  // this node's name, unique in the cluster
	Weight float64 // its share of the work relative to the others; 0 is 1
	Prefix string  // where the cluster's keys live in etcd; "/headend/cluster/"
	// Advertise is the URL of the node's HTTP API as the other nodes
	// reach it (http://host:port), put in its member record: where they
	// forward the field operations on its channels. Empty: none.
	Advertise string

	// TTL is the lease's time to live (etcd counts whole seconds, at least
	// 2): how long a node that stops renewing keeps its work. 10 s.
	TTL time.Duration
	// Margin is how long before its lease can expire on the server a node
	// whose renewals fail drops all its work: it must cover the longest
	// transaction on a bus (so that the one in flight ends first) and the
	// drift of the node's clock against the server's over a TTL. TTL/3.
	Margin time.Duration
	// Renew is the interval between lease renewals; TTL/6.
	Renew time.Duration

	Clock  Clock        // the wall clock
	Logger *slog.Logger // slog.Default()
}

func (o *Options) fill() error {
	if o.Node == "" {
		return errors.New("cluster: Options.Node is empty: every node needs a unique name")
	}
	if strings.ContainsAny(o.Node, "/\x00") {
		return fmt.Errorf("cluster: node name %q contains / or NUL", o.Node)
	}
	if o.Prefix == "" {
		o.Prefix = "/headend/cluster/"
	}
	if !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	if o.TTL == 0 {
		o.TTL = 10 * time.Second
	}
	if o.TTL < 2*time.Second || o.TTL%time.Second != 0 {
		return fmt.Errorf("cluster: TTL %v: etcd leases count whole seconds, at least 2", o.TTL)
	}
	if o.Margin == 0 {
		o.Margin = o.TTL / 3
	}
	if o.Renew == 0 {
		o.Renew = o.TTL / 6
	}
	if o.Margin <= 0 || o.Renew <= 0 || o.Margin+o.Renew >= o.TTL {
		return fmt.Errorf("cluster: TTL %v, margin %v, renew %v: need margin + renew < TTL", o.TTL, o.Margin, o.Renew)
	}
	if o.Clock == nil {
		o.Clock = wallClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// The keys, under Options.Prefix. owner/ and dialin/ keys are put under
// the putting node's lease, so they vanish when it does; progress/ keys
// outlive their writer for the node that takes the item over.
const (
	dialinDir   = "dialin/"   // dialin/<item> = the node a terminal's link arrived at
	membersDir  = "members/"  // members/<node> = memberRecord
	ownerDir    = "owner/"    // owner/<item> = the owning node's name
	progressDir = "progress/" // progress/<item> = Progress
)

// memberRecord is the value of a members/ key.
type memberRecord struct {
	Node      string    `json:"node"`
	Weight    float64   `json:"weight,omitempty"`
	Joined    time.Time `json:"joined"`
	Advertise string    `json:"advertise,omitempty"` // the node's API URL
}

type member struct {
	memberRecord
	lease clientv3.LeaseID
}

type owner struct {
	node  string
	lease clientv3.LeaseID
}

// Node is this process's membership of the cluster: its lease, its view of
// the members and owners (kept by a watch), the items it owns, and the
// loops that keep them. Its methods are safe for concurrent use.
type Node struct {
	cli *clientv3.Client
	opt Options

	mu        sync.Mutex
	lease     clientv3.LeaseID // 0 between sessions
	deadline  time.Time        // local fence: owned only before it
	items     map[string]bool  // the work items there are
	members   map[string]member
	owners    map[string]owner
	dialins   map[string]string // item → node
	dialed    map[string]bool   // this node's dial-ins, put again in a new session
	dialRev   map[string]int64  // the revision of this node's last dial-in put, per item
	releasing map[string]bool   // released here, the delete not yet seen
	lastOwned map[string]bool   // Owned() when last signalled

	changes chan struct{} // Owned() may have changed
	kick    chan struct{} // reconcile
	moved   chan struct{} // the deadline moved
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Join registers the node in the cluster under a new lease, reads the
// members and owners, and starts renewing the lease, watching the cluster
// and claiming the items SetItems names that the assignment gives it. Close
// (or Leave) stops it.
func Join(ctx context.Context, cli *clientv3.Client, opt Options) (*Node, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	n := &Node{
		cli:       cli,
		opt:       opt,
		items:     map[string]bool{},
		members:   map[string]member{},
		owners:    map[string]owner{},
		dialins:   map[string]string{},
		dialed:    map[string]bool{},
		dialRev:   map[string]int64{},
		releasing: map[string]bool{},
		lastOwned: map[string]bool{},
		changes:   make(chan struct{}, 1),
		kick:      make(chan struct{}, 1),
		moved:     make(chan struct{}, 1),
	}
	if err := n.session(ctx); err != nil {
		return nil, err
	}
	rev, err := n.sync(ctx)
	if err != nil {
		n.revoke(ctx)
		return nil, err
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Add(4)
	go n.renewLoop()
	go n.watchLoop(rev)
	go n.fenceLoop()
	go n.reconcileLoop()
	n.poke()
	return n, nil
}

// Name is the node's name.
func (n *Node) Name() string { return n.opt.Node }

// session grants a new lease and registers the node under it.
func (n *Node) session(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.opt.TTL)
	defer cancel()
	sent := n.opt.Clock.Now()
	g, err := n.cli.Grant(ctx, int64(n.opt.TTL/time.Second))
	if err != nil {
		return fmt.Errorf("cluster: node %s: granting a lease: %w", n.opt.Node, err)
	}
	rec := memberRecord{Node: n.opt.Node, Weight: n.opt.Weight, Joined: n.opt.Clock.Now().UTC(), Advertise: n.opt.Advertise}
	b, _ := json.Marshal(rec)
	if _, err := n.cli.Put(ctx, n.opt.Prefix+membersDir+n.opt.Node, string(b), clientv3.WithLease(g.ID)); err != nil {
		return fmt.Errorf("cluster: node %s: registering: %w", n.opt.Node, err)
	}
	n.mu.Lock()
	n.lease = g.ID
	n.setDeadlineLocked(sent.Add(time.Duration(g.TTL)*time.Second - n.opt.Margin))
	n.members[n.opt.Node] = member{memberRecord: rec, lease: g.ID}
	dialed := make([]string, 0, len(n.dialed))
	for it := range n.dialed {
		dialed = append(dialed, it)
	}
	n.mu.Unlock()
	for _, it := range dialed { // unless a newer link elsewhere put its own meanwhile
		key := n.opt.Prefix + dialinDir + it
		resp, err := n.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, n.opt.Node, clientv3.WithLease(g.ID))).Commit()
		if err != nil {
			n.opt.Logger.Warn("cluster: dial-in again", "node", n.opt.Node, "item", it, "err", err)
			continue
		}
		if resp.Succeeded {
			n.mu.Lock()
			n.dialRev[it] = resp.Header.Revision
			n.mu.Unlock()
		}
	}
	n.opt.Logger.Info("cluster: joined", "node", n.opt.Node, "lease", fmt.Sprintf("%x", int64(g.ID)), "ttl", g.TTL)
	return nil
}

func (n *Node) setDeadlineLocked(t time.Time) {
	n.deadline = t
	select {
	case n.moved <- struct{}{}:
	default:
	}
}

// renewLoop renews the lease every Renew. Each success moves the fence to
// the time the renewal was sent + the TTL granted − Margin: the server
// cannot expire the lease before the request reaches it plus the TTL, so
// the fence falls at least Margin before any other node can be given this
// node's items. A lease the server no longer knows ends the session: every
// item is dropped, and a new lease is granted.
func (n *Node) renewLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.opt.Clock.After(n.opt.Renew):
		}
		n.mu.Lock()
		lease := n.lease
		n.mu.Unlock()
		if lease == 0 {
			n.newSession()
			continue
		}
		sent := n.opt.Clock.Now()
		ctx, cancel := context.WithTimeout(n.ctx, n.opt.Renew)
		resp, err := n.cli.KeepAliveOnce(ctx, lease)
		cancel()
		switch {
		case err == nil:
			n.mu.Lock()
			if n.lease == lease {
				n.setDeadlineLocked(sent.Add(time.Duration(resp.TTL)*time.Second - n.opt.Margin))
			}
			n.mu.Unlock()
			n.signal()
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			n.opt.Logger.Warn("cluster: lease lost: dropping all work", "node", n.opt.Node, "lease", fmt.Sprintf("%x", int64(lease)))
			n.endSession(lease)
			n.newSession()
		case n.ctx.Err() != nil:
			return
		default:
			n.opt.Logger.Warn("cluster: lease renewal failed", "node", n.opt.Node, "err", err)
		}
	}
}

// endSession forgets lease and everything held under it.
func (n *Node) endSession(lease clientv3.LeaseID) {
	n.mu.Lock()
	if n.lease == lease {
		n.lease = 0
		n.setDeadlineLocked(time.Time{})
		for it, o := range n.owners {
			if o.lease == lease {
				delete(n.owners, it)
			}
		}
		n.pruneReleasingLocked()
	}
	n.mu.Unlock()
	n.signal()
}

func (n *Node) newSession() {
	if err := n.session(n.ctx); err != nil {
		if n.ctx.Err() == nil {
			n.opt.Logger.Warn("cluster: rejoining", "node", n.opt.Node, "err", err)
		}
		return
	}
	n.poke()
}

// fenceLoop signals Changes when the fence deadline passes, so that the
// poller learns at once that it owns nothing.
func (n *Node) fenceLoop() {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		dl := n.deadline
		n.mu.Unlock()
		wait := dl.Sub(n.opt.Clock.Now())
		var fire <-chan time.Time
		if wait > 0 {
			fire = n.opt.Clock.After(wait)
		} else {
			n.signal()
		}
		select {
		case <-n.ctx.Done():
			return
		case <-n.moved:
		case <-fire:
		}
	}
}

// Close stops the node's loops without revoking its lease, as a crash
// would: its items stay claimed until the lease lapses, a TTL later. Use
// Leave to hand them on at once.
func (n *Node) Close() {
	n.cancel()
	n.wg.Wait()
	n.mu.Lock()
	n.setDeadlineLocked(time.Time{})
	n.mu.Unlock()
	n.signal()
}

// Leave releases everything and revokes the lease, so the others claim the
// node's items at once, then closes the node. The caller stops polling
// first.
func (n *Node) Leave(ctx context.Context) error {
	n.Close()
	return n.revoke(ctx)
}

func (n *Node) revoke(ctx context.Context) error {
	n.mu.Lock()
	lease := n.lease
	n.lease = 0
	n.mu.Unlock()
	if lease == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, n.opt.TTL)
	defer cancel()
	if _, err := n.cli.Revoke(ctx, lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("cluster: node %s: revoking lease %x: %w", n.opt.Node, int64(lease), err)
	}
	return nil
}
