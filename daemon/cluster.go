package daemon

// headend serve --cluster: the node joins the cluster named in the
// configuration's cluster section, shares the channels out through it,
// and its collector polls only the channels the node owns
// (docs/cluster.md).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/cluster"
	"github.com/headend/headend/daemon/config"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// recheck is how often the node's ownership is compared with what the
// collector was last told: cluster.Node signals a change of Owned, not a
// member joining that makes an item Releasable.
const recheck = time.Second

// clusterRun is the node's membership and what the collector sees of it
// (collector.Ownership).
type clusterRun struct {
	cli  *clientv3.Client
	node *cluster.Node
	log  *slog.Logger

	mu      sync.Mutex
	shared  map[string]bool // the channels shared out: all of the archive's
	changes chan struct{}
	links   *dialLinks // the dial-in channels' links (cluster_dialin.go)
	stop    context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// joinCluster joins the cluster of cfg's cluster section and shares the
// archive's channels out; advertise is the API URL put in the member
// record when cluster.advertise is empty (route.go).
func joinCluster(ctx context.Context, cfg *config.Config, log *slog.Logger, advertise string) (*clusterRun, error) {
	cc := cfg.Cluster
	if !cc.Enabled() {
		return nil, errors.New("serve --cluster: the configuration's cluster section names no etcd (cluster.etcd)")
	}
	opt := cc.Options()
	if opt.Node == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("serve --cluster: cluster.node is empty and the host has no name: %w", err)
		}
		opt.Node = h
	}
	opt.Logger = log
	if opt.Advertise == "" {
		opt.Advertise = advertise
	}
	cli, err := cc.Client()
	if err != nil {
		return nil, err
	}
	node, err := cluster.Join(ctx, cli, opt)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("serve --cluster: etcd %v: %w", cc.Etcd, err)
	}
	r := &clusterRun{cli: cli, node: node, log: log, changes: make(chan struct{}, 1), done: make(chan struct{}),
		links: newDialLinks(node, log)}
	r.setArchive(cfg.Archive)
	var fctx context.Context
	fctx, r.stop = context.WithCancel(context.Background())
	go r.forward(fctx)
	go r.links.follow(fctx)
	return r, nil
}

// setArchive shares out the archive's channels: one cluster item each.
// A dial-in or 1376.1 channel goes to the node its link arrived at
// (cluster_dialin.go), and by the assignment while it has none. Its areas
// are items too, for the analysis.
func (r *clusterRun) setArchive(a *archive.Archive) {
	shared := map[string]bool{}
	var items []string
	for _, ch := range a.Channels {
		shared[ch.ID] = true
		items = append(items, cluster.ChannelItem(ch.ID))
	}
	items = append(items, areaItems(a)...) // the analysis's (areas.go)
	items = append(items, cluster.PublishItem)
	r.mu.Lock()
	r.shared = shared
	r.mu.Unlock()
	r.node.SetItems(items)
	r.signal()
}

func (r *clusterRun) isShared(ch string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.shared[ch]
}

// Owns is collector.Ownership: the node owns the channel's item and
// need not hand it on.
func (r *clusterRun) Owns(ch string) bool {
	if !r.isShared(ch) {
		return true
	}
	it := cluster.ChannelItem(ch)
	return r.node.Owns(it) && !slices.Contains(r.node.Releasable(), it)
}

// Changes is collector.Ownership.
func (r *clusterRun) Changes() <-chan struct{} { return r.changes }

// Idle is collector.Ownership: a channel the collector no longer polls
// is handed on if another node should have it.
func (r *clusterRun) Idle(ch string) {
	it := cluster.ChannelItem(ch)
	if !slices.Contains(r.node.Releasable(), it) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.node.Release(ctx, it); err != nil {
		r.log.Warn("cluster: handing a channel over", "channel", ch, "err", err)
		return
	}
	r.log.Info("cluster: channel handed over", "channel", ch)
}

func (r *clusterRun) signal() {
	select {
	case r.changes <- struct{}{}:
	default:
	}
}

// polled is what Owns says of every shared channel now.
func (r *clusterRun) polled() []string {
	r.mu.Lock()
	ids := make([]string, 0, len(r.shared))
	for id := range r.shared {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	rel := r.node.Releasable()
	out := ids[:0]
	for _, id := range ids {
		if it := cluster.ChannelItem(id); r.node.Owns(it) && !slices.Contains(rel, it) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// forward tells the collector when what it should poll changed: on the
// node's Changes (a claim, a loss, the fence) and, every recheck, when an
// item became Releasable.
func (r *clusterRun) forward(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(recheck)
	defer t.Stop()
	last := r.polled()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.node.Changes():
			r.links.poke() // a newer link elsewhere, maybe
		case <-t.C:
		}
		if now := r.polled(); !slices.Equal(now, last) {
			last = now
			r.signal()
		}
	}
}

// close ends the membership once the collector stopped: leave hands the
// channels on at once (a clean stop), else the lease lapses a TTL later
// as after a crash.
func (r *clusterRun) close(leave bool) {
	r.once.Do(func() {
		r.stop()
		<-r.done
		if leave {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.node.Leave(ctx); err != nil {
				r.log.Warn("cluster: leaving", "err", err)
			} else {
				r.log.Info("cluster: left", "node", r.node.Name())
			}
		} else {
			r.node.Close()
		}
		r.cli.Close()
	})
}

// clusterStatus is the cluster part of GET /status.
type clusterStatus struct {
	cluster.Status
	Node  string   `json:"node"`
	Owned []string `json:"owned"` // the items this node owns now
	// Dialled is the dial-in channels whose link this node holds.
	Dialled []string `json:"dialled,omitempty"`
	Err     string   `json:"error,omitempty"`

	// Stream is the reads stream with cluster.nats (jetstream.go).
	Stream *streamStatus `json:"stream,omitempty"`
}

// status is the cluster as etcd has it and this node's part.
func (r *clusterRun) status(ctx context.Context) *clusterStatus {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second) // etcd down: answer with what the node knows
	defer cancel()
	st, err := r.node.Status(ctx)
	cs := &clusterStatus{Status: st, Node: r.node.Name(), Owned: r.node.Owned(), Dialled: r.links.held()}
	if err != nil {
		cs.Err = err.Error()
	}
	return cs
}
