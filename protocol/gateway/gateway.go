// Package gateway is the convention for DL/T 645 over MQTT that the
// head-end and its gateways share: the head-end publishes a request frame
// (raw bytes, FE preamble allowed) on a gateway's downlink topic with QoS
// 1, and the gateway publishes the meter's reply frame on its uplink
// topic. Topics are templates in which {id} stands for the gateway id.
package gateway

import "strings"

// The default topic templates.
const (
	DownTopic = "headend/gw/{id}/down"
	UpTopic   = "headend/gw/{id}/up"
)

// Topic fills the gateway id into a template, or into def when tmpl is "".
func Topic(tmpl, def, id string) string {
	if tmpl == "" {
		tmpl = def
	}
	return strings.ReplaceAll(tmpl, "{id}", id)
}
