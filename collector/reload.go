package collector

// A reload of the running collector: Apply diffs the channels, as
// Prometheus' scrape manager diffs its targets, so that what did not
// change keeps its connection, its dial-in sessions, its breakers and
// today's clock syncs.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/protocol/dtu"
)

// runState is what Apply needs of a running collector.
type runState struct {
	mu      sync.Mutex // one Apply at a time, and none once Run stops
	ctx     context.Context
	stopped bool
	wg      sync.WaitGroup // the buses and the scheduler

	stopSched func() // stops the scheduler and waits for it

	dialins dialInSet // the concentrator ids of the dial-in channels
}

// dialInSet is a set swapped whole.
type dialInSet struct {
	mu  sync.Mutex
	ids map[string]bool
	reg *dtu.Registry // their configured packets
}

// stop refuses later Applies and waits for one under way.
func (r *runState) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}

// setDialIns takes the dial-in ids of cfg's channels.
func (c *Collector) setDialIns(cfg *Config) {
	ids := map[string]bool{}
	reg := &dtu.Registry{}
	for _, ch := range cfg.Archive.Channels {
		if ch.Kind == archive.KindDialIn {
			ids[ch.DialInID] = true
			if p, err := ch.DTUPackets(); err == nil { // checked by archive.Validate
				if err := reg.Add(ch.DialInID, p); err != nil {
					c.log.Warn("dial-in packets", "channel", ch.ID, "err", err)
				}
			}
		}
	}
	c.run.dialins.mu.Lock()
	c.run.dialins.ids = ids
	c.run.dialins.reg = reg
	c.run.dialins.mu.Unlock()
}

// dialInKnown reports whether id is a dial-in concentrator of the archive
// in force (link.DialInConfig.Known).
func (c *Collector) dialInKnown(id string) bool {
	c.run.dialins.mu.Lock()
	defer c.run.dialins.mu.Unlock()
	return c.run.dialins.ids[id]
}

// dialInRegistry returns the configured DTU packets of the archive in
// force (link.DialInConfig.Registry).
func (c *Collector) dialInRegistry() *dtu.Registry {
	c.run.dialins.mu.Lock()
	defer c.run.dialins.mu.Unlock()
	return c.run.dialins.reg
}

func (c *Collector) dialInCount() int {
	c.run.dialins.mu.Lock()
	defer c.run.dialins.mu.Unlock()
	return len(c.run.dialins.ids)
}

func (c *Collector) config() *Config       { return c.cfgp.Load() }
func (c *Collector) index() *archive.Index { return c.idxp.Load() }

// members are the meters of every open channel on their buses.
func (c *Collector) members() []schedule.Member {
	var out []schedule.Member
	for _, ch := range c.channelList() {
		for _, m := range c.index().MetersOnChannel(ch.id) {
			out = append(out, schedule.Member{Target: target(m), Bus: ch.bus})
		}
	}
	return out
}

// startBus runs ch's bus until ctx ends or its Stop.
func (c *Collector) startBus(ctx context.Context, ch *channel) {
	done := ch.done
	c.run.wg.Go(func() {
		defer close(done)
		ch.bus.Run(ctx)
	})
}

// startSchedule schedules the configured plans for the open channels'
// meters.
func (c *Collector) startSchedule(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	s := schedule.New(c.opts.Clock, c.plans(), c.members())
	done := make(chan struct{})
	c.run.wg.Go(func() {
		defer close(done)
		s.Run(ctx)
	})
	c.run.stopSched = func() { cancel(); <-done }
}

func (c *Collector) stopSchedule() {
	if c.run.stopSched != nil {
		c.run.stopSched()
		c.run.stopSched = nil
	}
}

// ErrNotRunning is Apply's error before Run has opened the channels or
// after it stopped: nothing was changed.
var ErrNotRunning = errors.New("collector: not running")

// Changes is what Apply did to the channels, by id.
type Changes struct {
	Added, Removed, Changed, Kept []string
	// Rebused are kept channels whose bus was rebuilt on the same link
	// (collector.breaker changed): the connection stays, the queue is
	// scheduled anew.
	Rebused []string
	// Taken are channels opened because this node now owns them, Dropped
	// those closed because it no longer does (Options.Ownership).
	Taken, Dropped []string
}

// has reports whether id was changed (closed to be opened again).
func (ch Changes) has(id string) bool {
	for _, c := range ch.Changed {
		if c == id {
			return true
		}
	}
	return false
}

// Restart names the keys Apply cannot change on a running collector:
// they need a restart.
func Restart(old, cfg *Config) []string {
	var keys []string
	if old.Collector.DataDir != cfg.Collector.DataDir {
		keys = append(keys, "collector.data_dir")
	}
	if old.Collector.Location().String() != cfg.Collector.Location().String() || old.Collector.Zone != cfg.Collector.Zone {
		keys = append(keys, "collector.zone")
	}
	if old.Collector.DialInListen != cfg.Collector.DialInListen {
		keys = append(keys, "collector.dialin_listen")
	}
	if old.Collector.GDW3761Listen != cfg.Collector.GDW3761Listen {
		keys = append(keys, "collector.gdw3761_listen")
	}
	return keys
}

// Apply makes the running collector work to cfg, changing only what
// changed: a channel removed is closed once its transaction in flight
// ends; a channel whose settings changed is closed and opened again; a
// channel added is opened; every other channel keeps its link (its
// connection, its dial-in sessions) and the breakers, collection rates
// and today's clock syncs stay. The schedules are made anew from cfg
// for every meter (collector.instantaneous ... plan, and meters added,
// moved or removed), and new channels' meters are backfilled. The first
// dial-in or gdw3761 channel starts its listener. Keys in
// [Restart] are refused, and so is an Apply before Run has opened the
// channels ([ErrNotRunning]): nothing is changed then. A channel that
// cannot be opened is in the error; the rest is applied.
func (c *Collector) Apply(cfg *Config) (Changes, error) {
	c.run.mu.Lock()
	defer c.run.mu.Unlock()
	if c.run.ctx == nil || c.run.stopped {
		return Changes{}, ErrNotRunning
	}
	if keys := Restart(c.config(), cfg); len(keys) > 0 {
		return Changes{}, fmt.Errorf("collector: %v changed: restart to apply", keys)
	}
	ch, err := c.applyLocked(cfg, c.owned(cfg))
	c.log.Info("collector reloaded", "added", ch.Added, "removed", ch.Removed, "changed", ch.Changed, "kept", len(ch.Kept),
		"meters", len(cfg.Archive.Meters))
	return ch, err
}

// applyLocked makes the running collector poll the channels of cfg that
// own names (Apply, and an ownership change: cluster.go); c.run.mu is
// held.
func (c *Collector) applyLocked(cfg *Config, own map[string]bool) (Changes, error) {
	var ch Changes
	old := c.config()
	ctx := c.run.ctx
	oldChs, newChs := channelsByID(old.Archive), channelsByID(cfg.Archive)
	rebus := old.Collector.Breaker != cfg.Collector.Breaker

	c.stopSchedule()
	var kept []*channel
	for _, live := range c.channelList() {
		nc, ok := newChs[live.id]
		switch {
		case !ok:
			ch.Removed = append(ch.Removed, live.id)
			c.closeChannel(live)
		case !own[live.id]:
			ch.Dropped = append(ch.Dropped, live.id)
			c.closeChannel(live)
		case !reflect.DeepEqual(oldChs[live.id], nc):
			ch.Changed = append(ch.Changed, live.id)
			c.closeChannel(live)
		default:
			ch.Kept = append(ch.Kept, live.id)
			if rebus {
				live.bus.Stop()
				<-live.done
			}
			kept = append(kept, live)
		}
	}

	c.cfgp.Store(cfg)
	c.idxp.Store(cfg.Archive.Index())
	c.setDialIns(cfg)
	c.clocks.mu.Lock()
	c.clocks.tolerance, c.clocks.maxCorrection = cfg.Collector.Clock.Tolerance, cfg.Collector.Clock.MaxCorrection
	c.clocks.mu.Unlock()
	sizes := map[string]int{}
	for _, a := range cfg.Archive.Areas {
		sizes[a.ID] = len(c.index().MetersInArea(a.ID))
	}
	c.health.SetExpected(sizes)

	var errs []error
	if c.dialin == nil && c.dialInCount() > 0 {
		if err := c.listenDialIn(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Terminals() == nil && c.hasTerminals() { // the first gdw3761 channel
		if err := c.listenTerminals(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	byID := map[string]*channel{}
	for _, live := range kept {
		if rebus {
			// a new channel on the same link, so that no one holding the
			// old one sees its bus change under it
			nc := newChs[live.id]
			next := *live
			next.bus, next.done = c.newBus(&nc, live.proto), make(chan struct{})
			live = &next
			ch.Rebused = append(ch.Rebused, live.id)
			c.startBus(ctx, live)
		}
		byID[live.id] = live
	}
	var opened, all []*channel
	for i := range cfg.Archive.Channels {
		a := &cfg.Archive.Channels[i]
		if live := byID[a.ID]; live != nil {
			all = append(all, live)
			continue
		}
		if !own[a.ID] {
			continue // another node's (cluster.go)
		}
		if _, was := oldChs[a.ID]; !was {
			ch.Added = append(ch.Added, a.ID)
		} else if !ch.has(a.ID) {
			ch.Taken = append(ch.Taken, a.ID)
		}
		built, err := c.build(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("channel %s: %w", a.ID, err))
			continue
		}
		c.startBus(ctx, built)
		opened = append(opened, built)
		all = append(all, built)
	}
	c.mu.Lock()
	c.channels = all
	c.mu.Unlock()
	c.backfillAtStart(opened)
	c.startSchedule(ctx)
	live := map[string]bool{}
	for _, l := range all {
		live[l.id] = true
	}
	c.idle(cfg, ch.Removed, live)
	return ch, errors.Join(errs...)
}

// closeChannel stops ch's bus once its transaction in flight ends, and
// closes its link.
func (c *Collector) closeChannel(ch *channel) {
	ch.bus.Stop()
	<-ch.done
	ch.close()
}

func channelsByID(a *archive.Archive) map[string]archive.Channel {
	out := map[string]archive.Channel{}
	for _, ch := range a.Channels {
		out[ch.ID] = ch
	}
	return out
}
