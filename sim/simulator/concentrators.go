package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
)

// lineMeters returns the meters physically on an area's line: its area
// meter and the customers wired to it, including meters the archive puts
// elsewhere (moved in the field) and excluding those moved away.
func lineMeters(fleet *model.Fleet, a *model.Area) []*model.Meter {
	out := []*model.Meter{a.Meter}
	for _, m := range fleet.Meters() {
		if m.Role == model.RoleArea || m == a.Meter {
			continue
		}
		if physicalArea(m) == a.ID {
			out = append(out, m)
		}
	}
	return out
}

// physicalArea is where a meter is wired: the archive's area unless a
// "moved" fault takes it elsewhere.
func physicalArea(m *model.Meter) string {
	for _, f := range m.Faults {
		if f.Kind == model.FaultMoved && f.Area != "" {
			return f.Area
		}
	}
	return m.Area.ID
}

func (s *Simulator) startConcentrators(ctx context.Context) error {
	var broker *field.Broker
	var brokerAt string
	for _, a := range s.Fleet.Areas() {
		c := a.Concentrator
		meters := lineMeters(s.Fleet, a)
		// meters answer at the simulated instant, not at the start of the
		// model's 15-minute step: a clock read shows the clock's own
		// error, not up to a step of it
		bus, err := meterbus.New(s.Fleet, meters, meterbus.Options{Sleep: s.opts.Sleep, Seed: uint64(s.Fleet.Seed), Now: s.Clock.Sim})
		if err != nil {
			return fmt.Errorf("concentrator %s: %w", c.ID, err)
		}
		s.buses = append(s.buses, bus)
		ep := Endpoint{Concentrator: c.ID, Area: a.ID, Kind: c.Access.Kind}
		for _, m := range meters {
			ep.Meters = append(ep.Meters, m.Address)
		}
		opts := field.Options{Baud: c.Access.Baud, Latency: c.Access.LineDelay, Sleep: s.opts.Sleep,
			Logger: s.log.With("concentrator", c.ID)}
		if s.opts.Baud > 0 {
			opts.Baud, opts.Latency = s.opts.Baud, 0
		}
		if s.opts.ZeroDelay {
			opts.Baud, opts.Latency = 0, 0
		}
		i := len(s.Endpoints)
		s.Endpoints = append(s.Endpoints, ep)
		var start func(ctx context.Context) (stop func(), err error)
		switch c.Access.Kind {
		case model.AccessTCPListen:
			addr := s.listenAddr(c.Access.Listen)
			conc := field.NewConcentrator(bus, opts)
			start = func(ctx context.Context) (func(), error) {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					return nil, fmt.Errorf("listen: %w", err)
				}
				addr = ln.Addr().String() // the same port when brought up again
				s.setAddress(i, addr)
				return s.serve(ctx, func(ctx context.Context) {
					if err := conc.Serve(ctx, ln); err != nil && ctx.Err() == nil {
						s.log.Error("concentrator stopped", "concentrator", c.ID, "err", err)
					}
				}, nil), nil
			}
		case model.AccessTCPDialIn:
			if t, ok := s.Scenario.Terminals[c.ID]; ok {
				start, err = s.startTerminal(a, t, meters, bus, opts, i)
				if err != nil {
					return fmt.Errorf("concentrator %s: %w", c.ID, err)
				}
				ep.Kind = "gdw3761"
				s.setEndpoint(i, func(e *Endpoint) { e.Kind = "gdw3761" })
				break
			}
			addr := c.Access.Dial
			if s.opts.HeadEnd != "" {
				addr = s.opts.HeadEnd
			}
			d, err := field.NewDialIn(c.ID, addr, bus, field.DialInOptions{Options: opts})
			if err != nil {
				return fmt.Errorf("concentrator %s: %w", c.ID, err)
			}
			s.setAddress(i, addr)
			start = func(ctx context.Context) (func(), error) {
				return s.serve(ctx, func(ctx context.Context) { d.Run(ctx) }, nil), nil
			}
		case model.AccessSerial:
			start = func(ctx context.Context) (func(), error) {
				line, err := field.OpenSerialLine(ctx, bus, opts)
				if err != nil {
					return nil, err
				}
				s.setAddress(i, line.Path())
				if c.Access.Device != "" {
					if err := link(line.Path(), c.Access.Device); err != nil {
						line.Close()
						return nil, err
					}
					s.setEndpoint(i, func(e *Endpoint) { e.Link = c.Access.Device })
				}
				return s.serve(ctx, nil, line.Close), nil
			}
			if dev := c.Access.Device; dev != "" {
				s.closers = append(s.closers, func() error { os.Remove(dev); return nil })
			}
		case model.AccessMQTT:
			url := c.Access.Broker
			if s.opts.Broker != "" {
				url = s.opts.Broker
			}
			at, embedded := embeddedBroker(url)
			if embedded && broker == nil {
				if broker, err = field.StartBroker(at); err != nil {
					return err
				}
				brokerAt = broker.Addr()
				s.closers = append(s.closers, func() error {
					if broker == nil {
						return nil
					}
					return broker.Close()
				})
			}
			own := false // whether this gateway's down and up stop and restart the broker
			if embedded {
				url = broker.URL()
				own = !s.brokerOwned
				s.brokerOwned = true
			}
			start = func(ctx context.Context) (func(), error) {
				if own && broker == nil {
					b, err := field.StartBroker(brokerAt)
					if err != nil {
						return nil, err
					}
					broker = b
				}
				gw, err := field.StartMQTTGateway(ctx, field.MQTTConfig{Broker: url, GatewayID: c.ID,
					DownTopic: c.Access.TopicDown, UpTopic: c.Access.TopicUp, Baud: opts.Baud, Sleep: s.opts.Sleep, Logger: opts.Logger}, bus)
				if err != nil {
					return nil, err
				}
				s.setEndpoint(i, func(e *Endpoint) { e.Address, e.TopicDown, e.TopicUp = url, gw.DownTopic(), gw.UpTopic() })
				return s.serve(ctx, nil, func() error {
					err := gw.Close()
					if own && broker != nil {
						broker.Close()
						broker = nil
					}
					return err
				}), nil
			}
		case model.AccessModbusTCP, model.AccessModbusRTU:
			start, err = s.startModbus(c, meters, i)
			if err != nil {
				return fmt.Errorf("concentrator %s: %w", c.ID, err)
			}
		default:
			return fmt.Errorf("concentrator %s: access kind %q is not one metersim offers", c.ID, c.Access.Kind)
		}
		acc := &access{id: c.ID, start: start}
		if err := acc.up(ctx); err != nil {
			return fmt.Errorf("concentrator %s: %w", c.ID, err)
		}
		s.access = append(s.access, acc)
		s.closers = append(s.closers, func() error { acc.down(); return nil })
		s.log.Info("concentrator up", "concentrator", c.ID, "area", a.ID, "kind", ep.Kind, "address", s.Endpoints[i].Address, "meters", len(meters))
	}
	return nil
}

// listenAddr is the scenario's address, or with AnyPort the same host on
// a free port.
func (s *Simulator) listenAddr(addr string) string {
	if !s.opts.AnyPort {
		return addr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, "0")
}

// embeddedBroker reads "", "embedded" (a free port) and
// "embedded://host:port" (that address): the broker metersim runs itself.
func embeddedBroker(url string) (addr string, ok bool) {
	switch {
	case url == "" || url == "embedded":
		return "127.0.0.1:0", true
	case strings.HasPrefix(url, "embedded://"):
		return strings.TrimPrefix(url, "embedded://"), true
	}
	return "", false
}

// link makes path a symbolic link to the pty, replacing an old link (but
// never a file that is not a link).
func link(pty, path string) error {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("serial device %s exists and is not a link metersim made", path)
		}
		os.Remove(path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.Symlink(pty, path)
}
