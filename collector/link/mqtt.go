package link

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gateway"
)

// Default MQTT topic templates (the simulator's gateways use the same);
// {id} stands for the gateway id.
const (
	DefaultDownTopic = gateway.DownTopic
	DefaultUpTopic   = gateway.UpTopic
)

// MQTTConfig configures a link to one gateway on an MQTT broker.
type MQTTConfig struct {
	Broker    string // broker URL, e.g. tcp://127.0.0.1:1883
	GatewayID string // {id} in the topic templates
	// ClientID is the head-end's MQTT client id for this link; "" is
	// "headend-" + GatewayID. Two clients with one id throw each other
	// off the broker.
	ClientID  string
	DownTopic string // requests go here; "" is DefaultDownTopic
	UpTopic   string // replies come from here; "" is DefaultUpTopic
	Username  string
	Password  string

	// TLS, for a broker URL tls://, ssl://, mqtts:// (or tcps://,
	// mqtt+ssl://, wss://): CAFile is the PEM CA that signed the broker's
	// certificate (empty: the system's roots); CertFile and KeyFile a
	// client certificate, for a broker that asks for one. TLSConfig, if
	// set, is the base the files are added to. See mqtt_tls.go.
	CAFile, CertFile, KeyFile string
	TLSConfig                 *tls.Config

	// ConnectTimeout bounds the first connection and subscription in
	// DialMQTT; 0 is 10 s. Later reconnects retry for ever.
	ConnectTimeout time.Duration
	// PublishTimeout bounds waiting for the broker to take a request
	// (PUBACK); 0 is 10 s.
	PublishTimeout time.Duration
	// Queue is how many received frames the link holds for Receive; the
	// oldest goes when it is full. 0 is 16.
	Queue int
	// Logger gets connection events; nil discards them.
	Logger *slog.Logger
	// RetryConnect makes DialMQTT return at once, the link down, while
	// the first connection is tried in the background (every 5 s) for as
	// long as it takes: a broker that is away at start stops no other
	// channel. The collector sets it.
	RetryConnect bool
	// RetryInterval is the wait between those first attempts; 0 is 5 s.
	RetryInterval time.Duration
}

// MQTT is a Link to a gateway over an MQTT broker: Send publishes a
// request frame on the gateway's downlink topic, and the frames published
// on its uplink topic come back from Receive. Both use QoS 1. The client
// reconnects on its own and subscribes again on every connection; the
// link is online while it is connected and subscribed.
type MQTT struct {
	cfg    MQTTConfig
	down   string
	up     string
	client paho.Client
	log    *slog.Logger
	h      *health
	q      *frameQueue

	subs    chan error    // capacity 1: the first subscription's result
	closing chan struct{} // closed by Close
	once    sync.Once
}

var _ Link = (*MQTT)(nil)

// DialMQTT connects to the broker and subscribes to the gateway's uplink,
// waiting up to cfg.ConnectTimeout.
func DialMQTT(cfg MQTTConfig) (*MQTT, error) {
	if cfg.GatewayID == "" {
		return nil, errors.New("link mqtt: no gateway id")
	}
	if cfg.Broker == "" {
		return nil, fmt.Errorf("link mqtt gateway %s: no broker", cfg.GatewayID)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "headend-" + cfg.GatewayID
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 10 * time.Second
	}
	m := &MQTT{
		cfg:     cfg,
		down:    gateway.Topic(cfg.DownTopic, DefaultDownTopic, cfg.GatewayID),
		up:      gateway.Topic(cfg.UpTopic, DefaultUpTopic, cfg.GatewayID),
		h:       newHealth(),
		q:       newFrameQueue(cfg.Queue),
		subs:    make(chan error, 1),
		closing: make(chan struct{}),
	}
	m.log = discardLogger(cfg.Logger).With("link", "mqtt", "gateway", cfg.GatewayID, "broker", cfg.Broker)
	tlsc, err := mqttTLS(cfg)
	if err != nil {
		return nil, m.errorf("%w", err)
	}

	opts := paho.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetOrderMatters(true).
		SetConnectTimeout(cfg.ConnectTimeout).
		SetMaxReconnectInterval(30 * time.Second).
		SetConnectRetry(cfg.RetryConnect).
		SetConnectRetryInterval(cmp.Or(cfg.RetryInterval, 5*time.Second)).
		SetOnConnectHandler(m.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			if m.isClosing() {
				return
			}
			m.h.down(fmt.Errorf("connection lost: %w", err))
			m.log.Warn("mqtt connection lost", "err", err)
		}).
		SetReconnectingHandler(func(paho.Client, *paho.ClientOptions) {
			m.log.Info("mqtt reconnecting")
		})
	if tlsc != nil {
		opts.SetTLSConfig(tlsc)
	}
	m.client = paho.NewClient(opts)

	fail := func(err error) (*MQTT, error) {
		m.client.Disconnect(0)
		return nil, m.errorf("%w", err)
	}
	if cfg.RetryConnect {
		// paho keeps trying in the background; onConnect subscribes and
		// marks the link up when the broker is there
		m.h.down(fmt.Errorf("connecting to %s", cfg.Broker))
		m.client.Connect()
		return m, nil
	}
	ctx, stop := context.WithTimeout(context.Background(), cfg.ConnectTimeout)
	defer stop()
	if err := waitToken(ctx, m.client.Connect()); err != nil {
		return fail(fmt.Errorf("connect: %w", err))
	}
	select {
	case err := <-m.subs:
		if err != nil {
			return fail(err)
		}
	case <-ctx.Done():
		return fail(fmt.Errorf("subscribe %s: %w", m.up, ctx.Err()))
	}
	return m, nil
}

// DownTopic returns the topic requests are published on.
func (m *MQTT) DownTopic() string { return m.down }

// UpTopic returns the topic replies are taken from.
func (m *MQTT) UpTopic() string { return m.up }

// onConnect subscribes after every connection; paho runs it in a
// goroutine of its own.
func (m *MQTT) onConnect(c paho.Client) {
	tok := c.Subscribe(m.up, 1, m.onMessage)
	var err error
	if !tok.WaitTimeout(m.cfg.ConnectTimeout) {
		err = fmt.Errorf("subscribe %s: timed out", m.up)
	} else if tok.Error() != nil {
		err = fmt.Errorf("subscribe %s: %w", m.up, tok.Error())
	}
	switch {
	case m.isClosing():
	case err != nil:
		m.h.down(err)
		m.log.Error("mqtt subscribe failed", "err", err)
	default:
		m.h.up()
		m.log.Info("mqtt connected and subscribed", "up", m.up)
	}
	select { // only DialMQTT waits for this; later results may drop
	case m.subs <- err:
	default:
	}
}

// onMessage queues the frames in an uplink payload; paho calls it in
// arrival order and it must not block.
func (m *MQTT) onMessage(_ paho.Client, msg paho.Message) {
	payload := msg.Payload()
	if len(payload) == 0 {
		return
	}
	m.h.seen()
	r := dlt645.NewReader(bytes.NewReader(payload))
	frames := 0
	for {
		_, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		var it item
		if err != nil {
			var fe *dlt645.FrameError
			if !errors.As(err, &fe) {
				break // cannot happen with a bytes.Reader
			}
			it.err = err
		} else {
			it.frame = bytes.Clone(r.Raw())
		}
		frames++
		if m.q.push(it) {
			m.log.Warn("frame queue full; oldest frame dropped")
		}
	}
	if frames == 0 {
		m.log.Debug("uplink message without a frame", "payload", fmt.Sprintf("% X", payload))
	}
}

// Send publishes frame on the downlink topic and waits for the broker to
// take it.
func (m *MQTT) Send(ctx context.Context, frame []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.isClosing() {
		return m.errorf("send: %w", ErrClosed)
	}
	if s := m.h.get(); !s.Online {
		return m.errorf("send: %w (%s)", ErrOffline, s.Err)
	}
	ctx, stop := context.WithTimeout(ctx, m.cfg.PublishTimeout)
	defer stop()
	tok := m.client.Publish(m.down, 1, false, bytes.Clone(frame))
	if err := waitToken(ctx, tok); err != nil {
		return m.errorf("publish on %s: %w: %w", m.down, ErrOffline, err)
	}
	return nil
}

// Receive returns the next frame published on the uplink topic, waiting
// until deadline at most.
func (m *MQTT) Receive(ctx context.Context, deadline time.Time) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.isClosing() {
		return nil, m.errorf("receive: %w", ErrClosed)
	}
	expired, stop := timer(deadline)
	defer stop()
	select {
	case it := <-m.q.ch:
		return it.frame, it.err
	case <-expired:
		if it, ok := m.q.pop(); ok {
			return it.frame, it.err
		}
		return nil, ErrTimeout
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-m.closing:
		return nil, m.errorf("receive: %w", ErrClosed)
	}
}

// Discard drops the frames received and not yet read.
func (m *MQTT) Discard() { m.q.drain() }

// State reports whether the client is connected and subscribed; LastSeen
// is the last uplink message.
func (m *MQTT) State() State { return m.h.get() }

// Close disconnects from the broker; Send and Receive then fail with
// ErrClosed.
func (m *MQTT) Close() error {
	m.once.Do(func() {
		close(m.closing)
		m.client.Disconnect(250)
		m.h.down(ErrClosed)
	})
	return nil
}

func (m *MQTT) isClosing() bool {
	select {
	case <-m.closing:
		return true
	default:
		return false
	}
}

func (m *MQTT) errorf(format string, args ...any) error {
	return fmt.Errorf("link mqtt gateway %s: "+format, append([]any{m.cfg.GatewayID}, args...)...)
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
