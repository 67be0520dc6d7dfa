// Package collector is the head-end's polling daemon: from a
// configuration it opens every channel (collector/link), puts a bus with
// one transaction in flight on each (collector/poll), schedules every
// meter's reads (collector/schedule) and hands the reads to whoever
// consumes them, keeping the collection rate of every area
// (collector/health). Data enters at the links, leaves as meter.Read.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/health"
	"github.com/headend/headend/collector/ledger"
	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/collector/modbus"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/collector/settings"
	"github.com/headend/headend/collector/terminal"
	"github.com/headend/headend/meter"
)

// Options adjust a Collector beyond its configuration.
type Options struct {
	Clock  schedule.Clock // nil: the real clock
	Logger *slog.Logger   // nil: discard
	// Sink gets every task's reads after the collector has stamped them;
	// it must not block for long.
	Sink poll.Sink
	// OnDialIn, if set, is told of concentrators registering, being
	// refused or dropped (not of heartbeats); it must not block.
	OnDialIn func(link.DialInEvent)
	// Health, if set, is the tracker to keep the collection rates in, so
	// that they survive a reload; nil starts a new one.
	Health *health.Tracker
	// Breakers, if set, holds the meters' circuit breakers, so that an
	// open breaker stays open, resting, across a reload; nil starts anew.
	Breakers *poll.Breakers
	// Elapsed is the real-time clock breaker rests are measured on, the
	// time base of the transaction timeouts, even when Clock is
	// simulated (serve --follow); nil: time.Now.
	Elapsed func() time.Time
	// ObserveTransaction, if set, is told of every transaction on every
	// bus (poll.Options.Observe): metrics.Metrics.ObserveTransaction.
	ObserveTransaction func(channel string, d time.Duration, err error)
	// Ownership, if set, is which channels this collector polls when
	// head-ends share them (cluster.go); nil: all of them.
	Ownership Ownership
	// Links, if set, is told when a dial-in channel's link came or went
	// (dialled.go).
	Links LinkWatcher
}

// Collector is a running set of channels, buses and schedules.
type Collector struct {
	cfgp     atomic.Pointer[Config]        // config(): swapped by Apply
	idxp     atomic.Pointer[archive.Index] // index()
	opts     Options
	log      *slog.Logger
	health   *health.Tracker
	mu       sync.Mutex // guards channels while Run opens them
	channels []*channel
	dialin   *link.Listener
	gdw      *terminal.Listener // Q/GDW 1376.1 terminals (gdw.go)
	gdwEv    gdwEvents          // their event logs (gdw_event.go)
	sched    *schedule.Scheduler
	state    stateLog
	clocks   *clockCheck
	answers  *poll.Answers // the blocks each meter refuses (poll.DLT645)
	ledger   *ledger.Ledger
	marks    *ledger.Marks
	drain    chan struct{} // closed by Drain
	run      runState      // what Apply needs of the running collector (reload.go)

	// latest is each meter's latest freeze day as last read (heldFreeze);
	// commissioning, the meters whose history is read once their latest
	// freeze is held (backfill.go)
	latest, commissioning sync.Map
}

// channel is one bus and how it is reached.
type channel struct {
	id     string
	link   link.Link // DL/T 645 channels
	master *master.Master
	bus    *poll.Bus
	close  func() error
	proto  poll.Protocol    // what the bus speaks, kept when Apply builds a new bus on the same link
	done   chan struct{}    // closed when the bus's Run returns
	jobs   *onDemand        // on-demand work on the bus (ondemand.go); nil for Modbus
	modbus *modbus.Protocol // Modbus channels
}

// New builds the collector of cfg. Channels are opened by Run.
func New(cfg *Config, opts Options) (*Collector, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = schedule.RealClock{}
	}
	if opts.Breakers == nil {
		opts.Breakers = &poll.Breakers{}
	}
	idx := cfg.Archive.Index()
	sizes := map[string]int{}
	for _, a := range cfg.Archive.Areas {
		sizes[a.ID] = len(idx.MetersInArea(a.ID))
	}
	tracker := opts.Health
	if tracker == nil {
		tracker = health.New(sizes)
	} else {
		tracker.SetExpected(sizes)
	}
	c := &Collector{opts: opts, log: opts.Logger, health: tracker,
		clocks: &clockCheck{tolerance: cfg.Collector.Clock.Tolerance, maxCorrection: cfg.Collector.Clock.MaxCorrection,
			loc: cfg.Collector.Location(), synced: map[string]string{}},
		answers: &poll.Answers{}, drain: make(chan struct{})}
	c.state.last = map[string]meter.Status{}
	c.cfgp.Store(cfg)
	c.idxp.Store(idx)
	c.setDialIns(cfg)
	return c, nil
}

// Health returns the collection rates.
func (c *Collector) Health() *health.Tracker { return c.health }

// sink stamps a task's reads, acts on clock checks, and hands them on.
func (c *Collector) sink(reads []meter.Read) {
	if len(reads) == 0 {
		return // an on-demand turn (ondemand.go) reads nothing for the schedules
	}
	reads = stampFreezes(reads, c.config().Collector.Location())
	reads = stampProfile(reads, c.config().Collector.Location())
	if len(reads) > 0 && reads[0].Class == meter.Clock {
		reads = c.clock(reads)
	}
	c.health.Observe(reads)
	c.state.observe(c.log, reads)
	if c.opts.Sink != nil {
		c.opts.Sink(reads)
	}
	// the freeze ledger and the load-profile marks say "held, not to be
	// read again" only once the reads are handed over (the outbox made
	// them durable): a crash between the two then reads them again
	// instead of never
	c.heldFreeze(reads)
	c.heldIntervals(reads)
}

// clock acts on a clock check: a broadcast sync on the meter's bus, or a
// flag for a person.
func (c *Collector) clock(reads []meter.Read) []meter.Read {
	reads, ce, ok := c.clocks.check(reads)
	if !ok {
		return reads
	}
	r0 := reads[0]
	switch {
	case ce.Flag:
		c.log.Warn("clock drift beyond broadcast correction", "meter", r0.Meter, "area", r0.Area, "error", ce.Error)
	case ce.Sync && c.clocks.syncAllowed(r0.Channel, c.opts.Clock.Now()):
		m, ok := c.index().Meter(r0.Meter) // a meter a reload removed has no bus to sync
		if ch := c.channel(r0.Channel); ch != nil && ch.link != nil && ok {
			c.log.Info("broadcast time sync", "channel", r0.Channel, "meter", r0.Meter, "error", ce.Error)
			ch.bus.Enqueue(syncTask(target(m)))
		}
	}
	return reads
}

func (c *Collector) channelList() []*channel {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.channels
}

func (c *Collector) channel(id string) *channel {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.channels {
		if ch.id == id {
			return ch
		}
	}
	return nil
}

// Run opens the channels, starts the buses and the schedules, and runs
// until ctx is done.
func (c *Collector) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := c.openLedger(); err != nil {
		return err
	}
	defer c.closeLedger()
	defer c.saveAnswers()
	if err := c.open(ctx); err != nil {
		c.closeAll()
		return err
	}
	defer c.closeAll()
	c.mu.Lock()
	channels := c.channels
	c.mu.Unlock()
	// an Apply may come as soon as the run's context is set: it waits
	// until the buses and the schedule are started, so that it stops
	// this schedule and never starts a second one beside it
	c.run.mu.Lock()
	c.run.ctx = ctx
	for _, ch := range channels {
		c.startBus(ctx, ch)
	}
	c.backfillAtStart(channels)
	c.readMissedBoundary(channels)
	c.startSchedule(ctx)
	c.run.mu.Unlock()
	c.followOwnership(ctx)
	c.log.Info("collector running", "channels", len(channels), "meters", len(c.members()), "now", c.opts.Clock.Now().Format(time.DateTime))
	select {
	case <-ctx.Done():
		c.run.stop()
	case <-c.drain:
		// a graceful stop: no new tasks, the transactions in flight finish
		c.run.stop()
		c.run.mu.Lock()
		c.stopSchedule()
		c.run.mu.Unlock()
		for _, ch := range c.channelList() {
			ch.bus.Stop()
		}
	}
	c.run.wg.Wait()
	c.handOverBatches()
	return nil
}

// Drain stops the collector gracefully: no new tasks are started, the
// transactions in flight complete and hand on their reads, then Run
// returns. It is safe to call more than once.
func (c *Collector) Drain() {
	select {
	case <-c.drain:
	default:
		close(c.drain)
	}
}

func target(m *archive.Meter) poll.Target {
	ed, _ := m.Edition.DLT645()
	return poll.Target{Address: m.Address, Edition: ed, Area: m.Area, Unit: byte(m.Unit), Modbus: m.Edition == archive.EditionModbus}
}

// open opens every channel of the archive.
func (c *Collector) open(ctx context.Context) error {
	a := c.config().Archive
	if c.dialInCount() > 0 {
		if err := c.listenDialIn(ctx); err != nil {
			return err
		}
	}
	if err := c.listenTerminals(ctx); err != nil {
		return err
	}
	var errs []error
	own := c.owned(c.config())
	for i := range a.Channels {
		ch := &a.Channels[i]
		if !own[ch.ID] {
			continue // another node's (cluster.go)
		}
		built, err := c.build(ch)
		if err != nil {
			errs = append(errs, fmt.Errorf("channel %s: %w", ch.ID, err))
			continue
		}
		c.mu.Lock()
		c.channels = append(c.channels, built)
		c.mu.Unlock()
	}
	return errors.Join(errs...)
}

// listenDialIn listens on collector.dialin_listen for the dial-in
// channels' concentrators.
func (c *Collector) listenDialIn(ctx context.Context) error {
	addr := c.config().Collector.DialInListen
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("collector.dialin_listen %s: %w", addr, err)
	}
	c.dialin = link.Listen(ctx, ln, link.DialInConfig{Known: c.dialInKnown, Registry: c.dialInRegistry,
		Logger: c.log.With("listener", ln.Addr().String()), OnEvent: func(e link.DialInEvent) {
			c.dialInChanged(e)
			if e.Kind != link.EventHeartbeat {
				c.log.Info("dial-in", "event", e.Kind, "concentrator", e.ID, "remote", e.Remote, "err", e.Err)
				if c.opts.OnDialIn != nil {
					c.opts.OnDialIn(e)
				}
			}
		}})
	c.log.Info("listening for concentrators", "address", ln.Addr().String(), "known", c.dialInCount())
	return nil
}

// build makes the link, protocol and bus of one channel.
func (c *Collector) build(ch *archive.Channel) (*channel, error) {
	log := c.log.With("channel", ch.ID)
	out := &channel{id: ch.ID, close: func() error { return nil }, done: make(chan struct{})}
	var proto poll.Protocol
	switch ch.Kind {
	case archive.KindModbusTCP, archive.KindModbusRTU, archive.KindModbusRTUOverTCP:
		mp, err := modbus.New(modbusConfig(ch, c.opts.Clock.Now)) // reads are stamped on the collector's clock, as DL/T 645 reads are
		if err != nil {
			return nil, err
		}
		out.modbus = mp
		out.close = mp.Close
		proto = mp
	default:
		l, err := c.link(ch, log)
		if err != nil {
			return nil, err
		}
		out.link = l
		out.close = l.Close
		out.master = &master.Master{Link: l, Timeout: ch.Timeout}
		out.jobs = &onDemand{Protocol: poll.DLT645{Master: out.master, Now: c.opts.Clock.Now, Answers: c.answers}}
		// a history read gets its freeze index when it is made (backfill.go),
		// then goes to the meter or, on a 376.1 channel, to the terminal
		proto = freezeIndex{Protocol: c.terminalProtocol(ch, out.jobs), c: c}
	}
	out.proto = proto
	out.bus = c.newBus(ch, proto)
	return out, nil
}

// modbusConfig is how to reach a Modbus channel's meters.
func modbusConfig(ch *archive.Channel, now func() time.Time) modbus.Config {
	c := modbus.Config{Channel: ch.ID, Address: ch.Address, Device: ch.Device, Baud: ch.Baud, Parity: ch.Parity,
		DataBits: ch.DataBits, StopBits: ch.StopBits, Timeout: ch.Timeout, Now: now}
	switch ch.Kind {
	case archive.KindModbusTCP:
		c.Transport = modbus.TCP
	case archive.KindModbusRTU:
		c.Transport = modbus.RTU
	case archive.KindModbusRTUOverTCP:
		c.Transport = modbus.RTUOverTCP
	}
	return c
}

// newBus puts a bus with the configured retries and breaker on proto.
func (c *Collector) newBus(ch *archive.Channel, proto poll.Protocol) *poll.Bus {
	retries := ch.RetryCount()
	if retries == 0 {
		retries = -1
	}
	b := c.config().Collector.Breaker
	return poll.New(proto, c.sink, poll.Options{Channel: ch.ID, Gap: ch.Gap, Retries: retries,
		BreakAfter: b.Failures, Cooldown: b.Cooldown, MaxCooldown: b.MaxCooldown, Elapsed: c.opts.Elapsed, Breakers: c.opts.Breakers,
		Now: c.opts.Clock.Now, Observe: c.opts.ObserveTransaction, Logger: c.log}) // the bus names its channel
}

func (c *Collector) link(ch *archive.Channel, log *slog.Logger) (link.Link, error) {
	switch ch.Kind {
	case archive.KindSerial:
		return link.OpenSerial(link.SerialConfig{Device: ch.Device, Baud: ch.Baud, Parity: ch.Parity,
			DataBits: ch.DataBits, StopBits: ch.StopBits, Logger: log, RetryOpen: true})
	case archive.KindTCP:
		return link.DialTCP(link.TCPConfig{Addr: ch.Address, Logger: log}), nil
	case archive.KindDialIn:
		if c.dialin == nil {
			return nil, errors.New("no dial-in listener")
		}
		return c.dialin.Link(ch.DialInID), nil
	case archive.KindGDW3761:
		return c.terminalLink(ch)
	case archive.KindMQTT:
		return link.DialMQTT(link.MQTTConfig{Broker: ch.Broker, GatewayID: ch.Gateway, DownTopic: ch.TopicDown, UpTopic: ch.TopicUp, Logger: log,
			CAFile: ch.CAFile, CertFile: ch.CertFile, KeyFile: ch.KeyFile, RetryConnect: true})
	}
	return nil, fmt.Errorf("kind %q has no link", ch.Kind)
}

func (c *Collector) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.channels {
		ch.close()
	}
	if c.dialin != nil {
		c.dialin.Close()
	}
	if c.gdw != nil {
		c.gdw.Close()
	}
}

// plans turns the configured schedules into plans.
func (c *Collector) plans() []schedule.Plan {
	cc := c.config().Collector
	var out []schedule.Plan
	add := func(s settings.Schedule, class meter.Class, req func(poll.Target, time.Time) []poll.Request) {
		if !s.Enabled {
			return
		}
		p := schedule.Plan{Class: class, Jitter: s.Jitter, Requests: req}
		every, offset, ok := s.Spec.Cycle()
		if ok {
			p.Every, p.Offset = every, offset
		} else {
			spec := s.Spec
			p.Next = spec.Next // a calendar: monthly settlement day
		}
		out = append(out, p)
	}
	plan := cc.Plan.Reading() // collector.plan: which DIs each class reads
	add(cc.Instantaneous, meter.Instantaneous, plan.InstantaneousRequests)
	add(cc.Interval, meter.Interval, c.intervalRequests)
	add(cc.Daily, meter.Daily, plan.DailyRequests)
	add(cc.Monthly, meter.Monthly, plan.MonthlyRequests)
	add(cc.Clock.Schedule, meter.Clock, plan.ClockRequests)
	return out
}

// Status returns the collector's health now.
func (c *Collector) Status() Status {
	s := Status{Clock: StatusClock{Now: c.opts.Clock.Now(), Simulated: simulated(c.opts.Clock), Host: time.Now()},
		Rates: c.health.Rates()}
	c.terminalStatus(&s)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.channels {
		cs := ChannelStatus{ID: ch.id, Bus: busStatus(ch.bus.Stats()), Lag: ch.bus.Lag()}
		if ch.link != nil {
			cs.Link = linkStatus(ch.link.State())
			cs.Stray, cs.Bad = ch.master.Stats.Stray.Load(), ch.master.Stats.BadFrames.Load()
			cs.MeanLatency = ch.master.Stats.MeanLatency()
		} else if ch.modbus != nil {
			ms := ch.modbus.State()
			cs.Link = LinkStatus{Online: ms.Online, Since: ms.Since}
			cs.Bad = ch.modbus.BadAnswers()
			if !ms.Online {
				cs.Link.Err = ms.LastErr
			}
		}
		s.Channels = append(s.Channels, cs)
	}
	return s
}
