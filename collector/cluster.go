package collector

// Shared channels (headend serve --cluster): an Ownership says which
// channels this collector polls; the others are configured but not
// opened. When it changes, the collector opens the channels it gained
// and closes those it lost, each once its transaction in flight ends,
// by the same diff a reload makes (reload.go).

import (
	"context"
	"sort"
)

// Ownership is which of the configured channels this collector polls,
// when several head-ends share them. The daemon adapts its cluster node
// to it; nil (Options.Ownership) polls every channel.
type Ownership interface {
	// Owns reports whether the collector should poll channel now.
	Owns(channel string) bool
	// Changes receives when Owns may have changed.
	Changes() <-chan struct{}
	// Idle tells that channel is not polled: closed between transactions
	// or never opened. Its owner may hand it on to another node now. It
	// is called for every configured channel not polled after each
	// change, and for every channel a reload removed.
	Idle(channel string)
}

// owned is which channels of cfg the collector polls, decided once per
// change so that one pass sees one answer.
func (c *Collector) owned(cfg *Config) map[string]bool {
	out := make(map[string]bool, len(cfg.Archive.Channels))
	for _, ch := range cfg.Archive.Channels {
		out[ch.ID] = c.opts.Ownership == nil || c.opts.Ownership.Owns(ch.ID)
	}
	return out
}

// followOwnership applies each ownership change until ctx ends or the
// collector drains.
func (c *Collector) followOwnership(ctx context.Context) {
	o := c.opts.Ownership
	if o == nil {
		return
	}
	c.run.wg.Go(func() {
		c.reown() // a change while Run opened the channels; the idle ones told
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.drain:
				return
			case <-o.Changes():
			}
			c.reown()
		}
	})
}

// reown opens the channels newly owned and closes those no longer owned,
// if any differ from the open ones, then tells the idle ones.
func (c *Collector) reown() {
	c.run.mu.Lock()
	defer c.run.mu.Unlock()
	if c.run.ctx == nil || c.run.stopped {
		return
	}
	cfg := c.config()
	own := c.owned(cfg)
	live := map[string]bool{}
	for _, ch := range c.channelList() {
		live[ch.id] = true
	}
	same := true
	for id, o := range own {
		same = same && o == live[id]
	}
	if same {
		c.idle(cfg, nil, live)
		return
	}
	ch, err := c.applyLocked(cfg, own)
	if err != nil {
		c.log.Error("collector: taking channels over: "+err.Error(), "err", err)
	}
	c.log.Info("channel ownership", "taken", ch.Taken, "dropped", ch.Dropped, "polled", len(c.channelList()))
}

// idle tells the Ownership of every channel of cfg and of removed that
// is not live.
func (c *Collector) idle(cfg *Config, removed []string, live map[string]bool) {
	o := c.opts.Ownership
	if o == nil {
		return
	}
	ids := append([]string{}, removed...)
	for _, ch := range cfg.Archive.Channels {
		if !live[ch.ID] {
			ids = append(ids, ch.ID)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		o.Idle(id)
	}
}
