package field

import (
	"fmt"
	"log/slog"
	"net"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is an embedded MQTT broker (mochi-mqtt) on one TCP listener that
// lets every client connect, publish and subscribe. metersim offers it
// when no broker is installed; it is not meant to face a network.
type Broker struct {
	server *mqtt.Server
	addr   string
	once   sync.Once
	err    error
}

// StartBroker starts an embedded broker listening on addr (host:port; port
// 0 picks a free one, see Addr). It serves until Close.
func StartBroker(addr string) (*Broker, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt broker: listen on %s: %w", addr, err)
	}
	s := mqtt.New(&mqtt.Options{
		InlineClient: false,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		l.Close()
		return nil, fmt.Errorf("mqtt broker: auth hook: %w", err)
	}
	if err := s.AddListener(listeners.NewNet("tcp", l)); err != nil {
		l.Close()
		return nil, fmt.Errorf("mqtt broker: add listener: %w", err)
	}
	if err := s.Serve(); err != nil {
		s.Close()
		return nil, fmt.Errorf("mqtt broker: serve on %s: %w", l.Addr(), err)
	}
	return &Broker{server: s, addr: l.Addr().String()}, nil
}

// Addr returns the address the broker listens on, e.g. 127.0.0.1:41883.
func (b *Broker) Addr() string { return b.addr }

// URL returns the broker's address as a client wants it: tcp://host:port.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Close disconnects every client and stops the broker. Calling it again
// does nothing.
func (b *Broker) Close() error {
	b.once.Do(func() {
		if err := b.server.Close(); err != nil {
			b.err = fmt.Errorf("mqtt broker %s: close: %w", b.addr, err)
		}
	})
	return b.err
}
