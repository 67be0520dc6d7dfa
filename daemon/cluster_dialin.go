package daemon

// Dialled-in channels under serve --cluster (dialin DTUs and 1376.1
// terminals): the node a link arrives at takes the channel over through
// etcd (cluster.Node.DialIn), since the link cannot move to the assigned
// owner; the owner before hands it over at its next safe point, as for a
// rebalance. When a link arrives at a second node, the newer link wins:
// the node holding the older one closes it (docs/cluster.md).

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/cluster"
	"github.com/headend/headend/collector"
)

// dialLinks keeps this node's dial-in keys in step with the links its
// collector holds: level-triggered, so that an event out of order or a
// put that failed (etcd away) comes right at the next look.
type dialLinks struct {
	node    *cluster.Node
	current *atomic.Pointer[atomic.Pointer[collector.Collector]] // set by watchLinks
	log     *slog.Logger

	mu      sync.Mutex
	dirty   map[string]bool // channels whose link changed, not yet settled
	dialled map[string]bool // channels this node's dial-in key names
	kick    chan struct{}
}

func newDialLinks(node *cluster.Node, log *slog.Logger) *dialLinks {
	return &dialLinks{node: node, log: log, current: new(atomic.Pointer[atomic.Pointer[collector.Collector]]),
		dirty: map[string]bool{}, dialled: map[string]bool{}, kick: make(chan struct{}, 1)}
}

// LinkChanged is collector.LinkWatcher: the link of dial-in channel ch
// came or went at this node.
func (r *clusterRun) LinkChanged(ch string) {
	r.links.mark(ch)
}

// watchLinks makes the node follow the links of the collector current
// holds (the daemon's, which a restart of the collector replaces).
func (r *clusterRun) watchLinks(current *atomic.Pointer[collector.Collector]) {
	r.links.current.Store(current)
	r.links.poke()
}

func (d *dialLinks) poke() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// follow settles the dial-in keys on every link change, every cluster
// change (forward pokes it) and every recheck until ctx ends.
func (d *dialLinks) follow(ctx context.Context) {
	t := time.NewTicker(recheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		case <-t.C:
		}
		d.settle(ctx)
	}
}

// settle puts the dial-in key of each channel whose link is here, takes
// back that of each whose link went, and closes a link here that is older
// than one another node holds.
func (d *dialLinks) settle(ctx context.Context) {
	cp := d.current.Load()
	if cp == nil {
		return
	}
	c := cp.Load()
	if c == nil {
		return
	}
	d.mu.Lock()
	var chs []string // the dirty ones are taken now: a change from here on marks them again
	for ch := range d.dirty {
		chs = append(chs, ch)
	}
	clear(d.dirty)
	for ch := range d.dialled {
		if !slices.Contains(chs, ch) {
			chs = append(chs, ch)
		}
	}
	d.mu.Unlock()
	slices.Sort(chs)
	me := d.node.Name()
	for _, ch := range chs {
		item := cluster.ChannelItem(ch)
		up := c.LinkUp(ch)
		d.mu.Lock()
		dialled := d.dialled[ch]
		d.mu.Unlock()
		switch {
		case up && !dialled:
			dec, err := d.node.DialIn(ctx, item)
			if err != nil {
				d.log.Warn("cluster: a link arrived; dial-in not recorded, tried again", "channel", ch, "err", err)
				d.retry(ch)
				continue
			}
			d.log.Info("cluster: a link arrived", "channel", ch, "decision", dec.String())
			d.set(ch, true)
		case up && dialled:
			h := d.node.DialInHolder(item)
			if h == "" { // the key went with a lease this node lost: put it again
				d.set(ch, false)
				d.mark(ch)
				continue
			}
			if h != me {
				d.log.Info("cluster: a newer link at another node; closing this one", "channel", ch, "holder", h)
				c.HangUp(ch, collector.ErrNewerLinkElsewhere)
				d.hangUp(ctx, ch, item)
				continue
			}
		case !up && dialled:
			d.hangUp(ctx, ch, item)
		}
	}
}

// hangUp takes back ch's dial-in key, if it still names this node.
func (d *dialLinks) hangUp(ctx context.Context, ch, item string) {
	if err := d.node.HangUp(ctx, item); err != nil {
		d.log.Warn("cluster: a link went; dial-in not taken back, tried again", "channel", ch, "err", err)
		d.retry(ch)
		return
	}
	d.log.Info("cluster: a link went", "channel", ch)
	d.set(ch, false)
}

func (d *dialLinks) set(ch string, dialled bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dialled {
		d.dialled[ch] = true
	} else {
		delete(d.dialled, ch)
	}
}

// mark has ch settled again at once.
func (d *dialLinks) mark(ch string) {
	d.retry(ch)
	d.poke()
}

// retry has ch settled again at the next recheck.
func (d *dialLinks) retry(ch string) {
	d.mu.Lock()
	d.dirty[ch] = true
	d.mu.Unlock()
}

// held is the dial-in channels whose link this node holds, sorted.
func (d *dialLinks) held() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.dialled))
	for ch := range d.dialled {
		out = append(out, ch)
	}
	slices.Sort(out)
	return out
}
