package field

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/headend/headend/protocol/gateway"
)

// Default MQTT topic templates; {id} stands for the gateway id.
const (
	DefaultDownTopic = gateway.DownTopic
	DefaultUpTopic   = gateway.UpTopic
)

// MQTTConfig configures an MQTT gateway.
type MQTTConfig struct {
	Broker    string // broker URL, e.g. tcp://127.0.0.1:1883
	GatewayID string // MQTT client id and {id} in the topic templates
	DownTopic string // requests arrive here; "" means DefaultDownTopic
	UpTopic   string // replies go here; "" means DefaultUpTopic
	Username  string
	Password  string

	Baud  int     // speed of the line behind the gateway; 0 is an ideal line
	Sleep Sleeper // waits the line time; nil means Sleep

	// ConnectTimeout bounds the first connection and subscription in
	// StartMQTTGateway; 0 means 10 s. Later reconnects retry forever.
	ConnectTimeout time.Duration
	Logger         *slog.Logger // nil means slog.Default()
}

// MQTTGateway is a gateway on an MQTT broker in front of a Bus: every
// message on its downlink topic is one DL/T 645 request frame (raw bytes,
// FE preamble allowed); it runs them through the bus one at a time in
// arrival order and publishes each reply, if any, on its uplink topic.
// Both directions use QoS 1. It reconnects and resubscribes on its own.
type MQTTGateway struct {
	cfg    MQTTConfig
	bus    Bus
	down   string
	up     string
	client paho.Client
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the worker has stopped

	mu    sync.Mutex
	queue [][]byte
	wake  chan struct{} // capacity 1: the queue has work
	subs  chan error    // capacity 1: result of the latest subscription
}

// StartMQTTGateway connects to the broker, subscribes to the downlink
// topic and starts serving bus. It returns once the subscription is in
// place, so requests published afterwards are not lost; ctx bounds only
// this start. The gateway then runs until Close.
func StartMQTTGateway(ctx context.Context, cfg MQTTConfig, bus Bus) (*MQTTGateway, error) {
	if cfg.GatewayID == "" {
		return nil, errors.New("mqtt gateway: empty gateway id")
	}
	if cfg.Broker == "" {
		return nil, fmt.Errorf("mqtt gateway %s: no broker", cfg.GatewayID)
	}
	if cfg.Sleep == nil {
		cfg.Sleep = Sleep
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	g := &MQTTGateway{
		cfg:  cfg,
		bus:  bus,
		down: gateway.Topic(cfg.DownTopic, DefaultDownTopic, cfg.GatewayID),
		up:   gateway.Topic(cfg.UpTopic, DefaultUpTopic, cfg.GatewayID),
		log:  cfg.Logger,
		done: make(chan struct{}),
		wake: make(chan struct{}, 1),
		subs: make(chan error, 1),
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.log = g.log.With("gateway", cfg.GatewayID)

	opts := paho.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.GatewayID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetCleanSession(false).
		SetAutoReconnect(true).
		SetOrderMatters(true).
		SetConnectTimeout(cfg.ConnectTimeout).
		SetMaxReconnectInterval(30 * time.Second).
		SetOnConnectHandler(g.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			g.log.Warn("mqtt connection lost", "err", err)
		})
	g.client = paho.NewClient(opts)

	g.ctx, g.cancel = context.WithCancel(context.Background())
	fail := func(err error) (*MQTTGateway, error) {
		g.cancel()
		g.client.Disconnect(0)
		return nil, fmt.Errorf("mqtt gateway %s: %w", cfg.GatewayID, err)
	}
	tctx, stop := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer stop()
	if err := waitToken(tctx, g.client.Connect()); err != nil {
		return fail(fmt.Errorf("connect to %s: %w", cfg.Broker, err))
	}
	select {
	case err := <-g.subs:
		if err != nil {
			return fail(err)
		}
	case <-tctx.Done():
		return fail(fmt.Errorf("subscribe %s: %w", g.down, tctx.Err()))
	}
	go g.work()
	return g, nil
}

// DownTopic returns the topic the gateway takes requests from.
func (g *MQTTGateway) DownTopic() string { return g.down }

// UpTopic returns the topic the gateway publishes replies on.
func (g *MQTTGateway) UpTopic() string { return g.up }

// Close stops serving, drops queued requests and disconnects.
func (g *MQTTGateway) Close() error {
	g.cancel()
	<-g.done
	g.client.Disconnect(250)
	return nil
}

// onConnect (re)subscribes after every connection; paho calls it in a
// goroutine of its own.
func (g *MQTTGateway) onConnect(c paho.Client) {
	tok := c.Subscribe(g.down, 1, g.onMessage)
	var err error
	if !tok.WaitTimeout(g.cfg.ConnectTimeout) {
		err = fmt.Errorf("subscribe %s: timed out", g.down)
	} else if tok.Error() != nil {
		err = fmt.Errorf("subscribe %s: %w", g.down, tok.Error())
	}
	if err != nil {
		g.log.Error("mqtt subscribe failed", "err", err)
	}
	select { // only StartMQTTGateway waits for this; later results may drop
	case g.subs <- err:
	default:
	}
}

// onMessage queues a request; paho calls it in arrival order.
func (g *MQTTGateway) onMessage(_ paho.Client, m paho.Message) {
	if len(m.Payload()) == 0 {
		return
	}
	req := append([]byte(nil), m.Payload()...)
	g.mu.Lock()
	g.queue = append(g.queue, req)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// work runs queued requests through the bus, one transaction at a time.
func (g *MQTTGateway) work() {
	defer close(g.done)
	for {
		g.mu.Lock()
		var req []byte
		if len(g.queue) > 0 {
			req = g.queue[0]
			g.queue[0] = nil
			g.queue = g.queue[1:]
		}
		g.mu.Unlock()
		if req == nil {
			select {
			case <-g.wake:
				continue
			case <-g.ctx.Done():
				return
			}
		}
		if err := g.transact(req); err != nil {
			if g.ctx.Err() != nil {
				return
			}
			g.log.Warn("mqtt transaction", "err", err)
		}
	}
}

// transact is one request on the line and its reply back on the broker.
func (g *MQTTGateway) transact(req []byte) error {
	reply := g.bus.Exchange(g.ctx, req)
	if err := g.cfg.Sleep(g.ctx, LineTime(g.cfg.Baud, len(req)+len(reply))); err != nil {
		return err
	}
	if len(reply) == 0 {
		return nil
	}
	if err := waitToken(g.ctx, g.client.Publish(g.up, 1, false, reply)); err != nil {
		return fmt.Errorf("publish on %s: %w", g.up, err)
	}
	return nil
}

// waitToken waits for a paho token or ctx.
func waitToken(ctx context.Context, t paho.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
