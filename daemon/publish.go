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
// cursor file carries on where it stopped).
type publisher struct {
	stop func() // stops it and waits; nil when none runs
}

// startPublish pushes validated values to the configured MQTT broker
// until ctx ends; nothing when publish.broker is empty.
func (d *daemon) startPublish(ctx context.Context, cfg *config.Config) (*publisher, error) {
	pc := cfg.Publish
	if pc.Broker == "" {
		return &publisher{}, nil
	}
	opts := paho.NewClientOptions().AddBroker(pc.Broker).SetClientID(pc.ClientID).SetCleanSession(false).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(5 * time.Second)
	c := paho.NewClient(opts)
	c.Connect() // retried in the background until the broker answers
	p, err := publish.New(d.stg.results, c, publish.Options{Topic: pc.Topic, CursorFile: filepath.Join(cfg.Collector.DataDir, "publish.cursor"),
		Location: cfg.Collector.Location(), Logger: d.log.With("component", "publish")})
	if err != nil {
		c.Disconnect(0)
		return nil, err
	}
	d.log.Info("billing publish", "broker", pc.Broker, "topic", pc.Topic, "cursor", p.Cursor())
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	d.running.Add(1)
	go func() {
		defer d.running.Done()
		defer close(done)
		p.Run(ctx, pc.Every)
		c.Disconnect(250)
	}()
	return &publisher{stop: func() { cancel(); <-done }}, nil
}

// Stop stops the publisher and waits for it.
func (p *publisher) Stop() {
	if p != nil && p.stop != nil {
		p.stop()
		p.stop = nil
	}
}
