package daemon

// serve --cluster: billing's change feed is published by one node at a
// time, the owner of the cluster item cluster.PublishItem, from a cursor
// kept in etcd and written only by that owner (docs/cluster.md).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/headend/headend/api/publish"
	"github.com/headend/headend/cluster"
	"github.com/headend/headend/daemon/config"
)

// clusterCursor is publish.Cursor in etcd, fenced by the publish item's
// owner key; until one is saved there, it starts from the node's cursor
// file, so a single node turned into a cluster carries on.
type clusterCursor struct {
	node *cluster.Node
	file publish.FileCursor
}

// Load is publish.Cursor.
func (c clusterCursor) Load(ctx context.Context) (int64, error) {
	seq, ok, err := c.node.Cursor(ctx, cluster.PublishItem)
	if err != nil {
		return 0, fmt.Errorf("publish: the cluster's cursor: %w", err)
	}
	if !ok {
		return c.file.Load(ctx)
	}
	return seq, nil
}

// Save is publish.Cursor: refused unless this node owns the feed.
func (c clusterCursor) Save(ctx context.Context, seq int64) error {
	err := c.node.SetCursor(ctx, cluster.PublishItem, seq)
	if errors.Is(err, cluster.ErrNotOwner) {
		return fmt.Errorf("%w: %w", publish.ErrFenced, err)
	}
	return err
}

// feedShare runs the publisher while the node owns the feed.
type feedShare struct {
	node *cluster.Node
	log  *slog.Logger
	// start makes a publisher on the shared cursor (newPublisher).
	start func(context.Context) (func(context.Context) error, error)
}

// feedRun is a publisher running.
type feedRun struct {
	cancel context.CancelFunc
	done   chan error
	since  time.Time
}

// stop stops the publisher after its batch in flight and waits for it.
func (r *feedRun) stop() error {
	r.cancel()
	return <-r.done
}

// begin starts a publisher; nil (logged) when it cannot start.
func (s *feedShare) begin(ctx context.Context) *feedRun {
	run, err := s.start(ctx)
	if err != nil {
		s.log.Warn("cluster: billing publish: cannot start; will retry", "err", err)
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &feedRun{cancel: cancel, done: make(chan error, 1), since: time.Now()}
	go func() { r.done <- run(ctx) }()
	s.log.Info("cluster: billing feed gained: publishing it", "node", s.node.Name())
	return r
}

// watch starts the publisher when the node gains the feed, and stops it
// when the node loses it (its fence fell, a save was refused) or should
// hand it on, which it then does. It checks every recheck until ctx ends.
func (s *feedShare) watch(ctx context.Context) {
	t := time.NewTicker(recheck)
	defer t.Stop()
	var cur *feedRun
	for {
		if cur != nil {
			select {
			case err := <-cur.done:
				s.log.Warn("cluster: billing publish stopped: the feed is no longer this node's", "err", err)
				cur = nil
			default:
			}
		}
		handOn := slices.Contains(s.node.Releasable(), cluster.PublishItem)
		owns := s.node.Owns(cluster.PublishItem) && !handOn
		switch {
		case cur == nil && owns:
			cur = s.begin(ctx)
		case cur != nil && !owns:
			err := cur.stop()
			s.log.Info("cluster: billing publish stopped", "handing_on", handOn, "err", err, "ran", time.Since(cur.since).Round(time.Millisecond).String())
			cur = nil
		}
		if cur == nil && handOn {
			s.release()
		}
		select {
		case <-ctx.Done():
			if cur != nil {
				cur.stop()
			}
			return
		case <-t.C:
		}
	}
}

// release hands the feed on once its publisher stopped.
func (s *feedShare) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.node.Release(ctx, cluster.PublishItem); err != nil {
		s.log.Warn("cluster: handing the billing feed over", "err", err)
		return
	}
	s.log.Info("cluster: billing feed handed over")
}

// startClusterPublish runs the publisher under --cluster: only while the
// node owns cluster.PublishItem, on the cursor in etcd.
func (d *daemon) startClusterPublish(ctx context.Context, cfg *config.Config) *publisher {
	node := d.cl.node
	cur := clusterCursor{node: node, file: publish.FileCursor(cursorFile(cfg))}
	s := &feedShare{node: node, log: d.log, start: func(ctx context.Context) (func(context.Context) error, error) {
		return d.newPublisher(ctx, cfg, publish.Options{Cursor: cur, Holds: func() bool { return node.Owns(cluster.PublishItem) }})
	}}
	return &publisher{stop: d.spawn(ctx, s.watch)}
}
