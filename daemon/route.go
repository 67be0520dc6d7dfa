package daemon

// serve --cluster: a field operation on a meter (read, clock, relay) or
// a bus (scan) that arrives at a node whose collector does not poll the
// channel is forwarded to the node that owns it, at the API URL that
// node advertised in etcd (cluster.advertise; docs/cluster.md).

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"

	"github.com/headend/headend/api/field"
	"github.com/headend/headend/cluster"
	"github.com/headend/headend/daemon/config"
)

// The headers of a forwarded field operation.
const (
	// ForwardedBy, on the request, names the node that forwarded it: a
	// request that has it is never forwarded again.
	ForwardedBy = "X-Headend-Forwarded-By"
	// ForwardedTo, on the answer, names the node that answered a request
	// forwarded to it.
	ForwardedTo = "X-Headend-Forwarded-To"
)

// advertiseURL is the API URL the node advertises to the others: the
// bound http.listen address (the host name for an unspecified address),
// https with http.tls; empty without http.listen.
func advertiseURL(cfg *config.Config, ln net.Listener) string {
	if ln == nil {
		return ""
	}
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	scheme := "http"
	if cfg.HTTP.TLS.Enabled() {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// routed are the field routes that act on one channel, and how each
// names it.
var routed = map[string]func(d *daemon, r *http.Request) string{
	field.Routes.Read:  meterChannel,
	field.Routes.Time:  meterChannel,
	field.Routes.Sync:  meterChannel,
	field.Routes.Relay: meterChannel,
	field.Routes.Scan:  func(_ *daemon, r *http.Request) string { return r.PathValue("channel") },
}

// meterChannel is the channel of the request's meter; "" for a meter
// not in the archive (answered here: unknown meter).
func meterChannel(d *daemon, r *http.Request) string {
	if ix := d.archive.Load(); ix != nil {
		if m, ok := ix.Meter(r.PathValue("addr")); ok {
			return m.Channel
		}
	}
	return ""
}

// route wraps the handler of a field route that acts on a channel: under
// --cluster, a request for a shared channel another node owns is
// forwarded to that node. Without --cluster, and for the other routes,
// it is h.
func (d *daemon) route(pattern string, h http.Handler) http.Handler {
	channelOf, ok := routed[pattern]
	if d.cl == nil || !ok {
		return h
	}
	self := d.cl.node.Name()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch := channelOf(d, r)
		if ch == "" || !d.cl.isShared(ch) {
			h.ServeHTTP(w, r) // not a channel of the archive here
			return
		}
		owner, to, ok := d.cl.node.OwnerOf(cluster.ChannelItem(ch))
		from := r.Header.Get(ForwardedBy)
		switch {
		case ok && owner == self:
			h.ServeHTTP(w, r)
		case !ok:
			unavailable(w, "channel %s has no owner in the cluster now (its node may have died: its channels are taken over a lease TTL later); try again", ch)
		case from != "":
			unavailable(w, "channel %s: forwarded here by node %s, but node %s owns it now; not forwarded again: try again", ch, from, owner)
		case to == "":
			unavailable(w, "channel %s is polled by node %s, which advertises no API URL (cluster.advertise, or http.listen)", ch, owner)
		default:
			d.forward(w, r, ch, owner, to)
		}
	})
}

// forward proxies r to node owner at URL to, the Authorization header
// kept, and marks the request and the answer.
func (d *daemon) forward(w http.ResponseWriter, r *http.Request, ch, owner, to string) {
	target, err := url.Parse(to)
	if err != nil {
		unavailable(w, "channel %s is polled by node %s, whose API URL %q does not parse: %v", ch, owner, to, err)
		return
	}
	self := d.cl.node.Name()
	d.log.Info("field operation forwarded", "method", r.Method, "path", r.URL.Path, "channel", ch, "to", owner, "url", to)
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Header.Set(ForwardedBy, self)
		},
		FlushInterval: -1, // a scan's progress lines as they come
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(ForwardedTo, owner)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			d.log.Warn("field operation: forwarding failed", "channel", ch, "to", owner, "url", to, "err", err)
			unavailable(w, "channel %s is polled by node %s (%s), which did not answer: %v", ch, owner, to, err)
		},
	}
	p.ServeHTTP(w, r)
}

// unavailable answers 503 with a field problem of kind unavailable.
func unavailable(w http.ResponseWriter, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusServiceUnavailable)
	json.NewEncoder(w).Encode(field.Problem{Error: fmt.Sprintf(format, args...), Kind: field.KindUnavailable, Status: http.StatusServiceUnavailable})
}
