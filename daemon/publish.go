package daemon

import (
	"context"
	"path/filepath"
	"time"

	"github.com/headend/headend/api/publish"
	"github.com/headend/headend/daemon/config"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// publisher pushes validated values to publish.broker; a reload that
// changes the publish section stops it and starts it on the new one (the
// cursor carries on where it stopped). Under --cluster only the owner of
// the publish item runs one (publish_cluster.go).
type publisher struct {
	stop func() // stops it and waits; nil when none runs
}

// startPublish pushes validated values to the configured MQTT broker
// until ctx ends; nothing when publish.broker is empty.
func (d *daemon) startPublish(ctx context.Context, cfg *config.Config) (*publisher, error) {
	if cfg.Publish.Broker == "" {
		return &publisher{}, nil
	}
	if d.cl != nil {
		return d.startClusterPublish(ctx, cfg), nil
	}
	run, err := d.newPublisher(ctx, cfg, publish.Options{CursorFile: cursorFile(cfg)})
	if err != nil {
		return nil, err
	}
	return &publisher{stop: d.spawn(ctx, func(ctx context.Context) { run(ctx) })}, nil
}

// cursorFile is a single node's publish cursor.
func cursorFile(cfg *config.Config) string {
	return filepath.Join(cfg.Collector.DataDir, "publish.cursor")
}

// newPublisher connects to publish.broker and makes a Publisher of
// opts (its cursor set) and the rest of cfg; run publishes until ctx ends
// or the publisher is fenced (its error), then disconnects.
func (d *daemon) newPublisher(ctx context.Context, cfg *config.Config, opts publish.Options) (run func(context.Context) error, err error) {
	pc := cfg.Publish
	mo := paho.NewClientOptions().AddBroker(pc.Broker).SetClientID(pc.ClientID).SetCleanSession(false).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(5 * time.Second)
	c := paho.NewClient(mo)
	c.Connect() // retried in the background until the broker answers
	opts.Topic, opts.Location, opts.Logger = pc.Topic, cfg.Collector.Location(), d.log.With("component", "publish")
	p, err := publish.New(ctx, d.stg.results, c, opts)
	if err != nil {
		c.Disconnect(0)
		return nil, err
	}
	d.log.Info("billing publish", "broker", pc.Broker, "topic", pc.Topic, "cursor", p.Cursor())
	return func(ctx context.Context) error {
		defer c.Disconnect(250)
		return p.Run(ctx, pc.Every)
	}, nil
}

// Stop stops the publisher and waits for it.
func (p *publisher) Stop() {
	if p != nil && p.stop != nil {
		p.stop()
		p.stop = nil
	}
}
