package cluster

import (
	"fmt"
	"net/url"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Config is the configuration section `cluster` of headend serve
// --cluster. The zero value (no etcd) is a single node: no cluster.
type Config struct {
	Etcd   []string      `yaml:"etcd" help:"etcd client URLs (http://host:2379); empty: a single node, no cluster"`
	Node   string        `yaml:"node" help:"this node's name, unique in the cluster (default: the host name)"`
	Prefix string        `yaml:"prefix" help:"where the cluster's keys live in etcd (default /headend/cluster/)"`
	TTL    time.Duration `yaml:"ttl" help:"lease time to live, whole seconds: how long a dead node's work waits (default 10s)"`
	Margin time.Duration `yaml:"margin" help:"how long before its lease can lapse a node cut off from etcd stops; more than the longest transaction (default ttl/3)"`
	Weight float64       `yaml:"weight" help:"this node's share of the work relative to the others (default 1)"`
	// Advertise is where the other nodes reach this node's API.
	Advertise string `yaml:"advertise" help:"URL of this node's HTTP API as the other nodes reach it, for forwarded field operations (default: from http.listen, the host name for an unspecified address)"`
}

// Enabled reports whether the section names an etcd.
func (c Config) Enabled() bool { return len(c.Etcd) > 0 }

// Check reports each bad key to bad, named as in the file (cluster.ttl).
func (c Config) Check(bad func(key, format string, args ...any)) {
	if !c.Enabled() {
		return
	}
	for i, e := range c.Etcd {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(fmt.Sprintf("cluster.etcd[%d]", i), "%q is not an http(s)://host:port URL", e)
		}
	}
	o := c.Options()
	if o.Node == "" {
		o.Node = "check" // Join's caller fills in the host name
	}
	if err := o.fill(); err != nil {
		bad("cluster", "%v", err)
	}
	if c.Advertise != "" {
		if u, err := url.Parse(c.Advertise); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("cluster.advertise", "%q is not an http(s)://host:port URL", c.Advertise)
		}
	}
	if c.Weight < 0 {
		bad("cluster.weight", "%v is negative", c.Weight)
	}
}

// Options are the section's Options for Join (Node as configured: the
// caller fills in a default).
func (c Config) Options() Options {
	return Options{Node: c.Node, Prefix: c.Prefix, TTL: c.TTL, Margin: c.Margin, Weight: c.Weight, Advertise: c.Advertise}
}

// Client connects to the section's etcd.
func (c Config) Client() (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Etcd, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("cluster: etcd %v: %w", c.Etcd, err)
	}
	return cli, nil
}
