package fieldops

import (
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/meter"
)

// Status is the field view of the running collector: every channel,
// every concentrator and every area's collection rate per class.
type Status struct {
	Now           time.Time            `json:"now"`
	Channels      []ChannelStatus      `json:"channels"`
	Concentrators []ConcentratorStatus `json:"concentrators"`
	Areas         []AreaStatus         `json:"areas"`
}

// ChannelStatus is one channel (bus).
type ChannelStatus struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	Concentrator string    `json:"concentrator,omitempty"`
	Area         string    `json:"area,omitempty"`
	Meters       int       `json:"meters"`
	Online       bool      `json:"online"`
	Since        time.Time `json:"since,omitzero"`
	LastSeen     time.Time `json:"last_seen,omitzero"`
	Error        string    `json:"error,omitempty"`
	Queued       int       `json:"queued"`
	Transactions int64     `json:"transactions"`
	Retries      int64     `json:"retries"`
	Failed       int64     `json:"failed"`
	BadFrames    int64     `json:"bad_frames"`
	MeanLatency  float64   `json:"mean_latency_ms"`
}

// ConcentratorStatus is one concentrator: online when all its channels are.
type ConcentratorStatus struct {
	ID       string   `json:"id"`
	Area     string   `json:"area"`
	Channels []string `json:"channels"`
	Online   bool     `json:"online"`
}

// AreaStatus is one transformer area's collection.
type AreaStatus struct {
	ID     string      `json:"id"`
	Name   string      `json:"name,omitempty"`
	Meters int         `json:"meters"`
	Rates  []ClassRate `json:"rates"`
}

// ClassRate is the collection rate of one reading class.
type ClassRate struct {
	Class     meter.Class `json:"class"`
	Expected  int         `json:"expected"`
	Collected int         `json:"collected"`
	Percent   float64     `json:"percent"`
}

// StatusOf joins the collector's status with its archive.
func StatusOf(st collector.Status, ix *archive.Index) *Status {
	out := &Status{Now: st.Now, Channels: []ChannelStatus{}, Concentrators: []ConcentratorStatus{}, Areas: []AreaStatus{}}
	online := map[string]bool{}
	for _, c := range st.Channels {
		cs := ChannelStatus{ID: c.ID, Online: c.Link.Online, Since: c.Link.Since, LastSeen: c.Link.LastSeen, Error: c.Link.Err,
			Queued: c.Bus.Queued, Transactions: c.Bus.Transactions, Retries: c.Bus.Retries, Failed: c.Bus.Failed,
			BadFrames: c.Bad, MeanLatency: float64(c.MeanLatency) / float64(time.Millisecond)}
		if ix != nil {
			if ch, ok := ix.Channel(c.ID); ok {
				cs.Kind = string(ch.Kind)
			}
			if con, ok := ix.ConcentratorOf(c.ID); ok {
				cs.Concentrator, cs.Area = con.ID, con.Area
			}
			cs.Meters = len(ix.MetersOnChannel(c.ID))
		}
		online[c.ID] = c.Link.Online
		out.Channels = append(out.Channels, cs)
	}
	if ix == nil {
		return out
	}
	a := ix.Archive()
	for _, con := range a.Concentrators {
		cs := ConcentratorStatus{ID: con.ID, Area: con.Area, Channels: append([]string{}, con.Channels...), Online: len(con.Channels) > 0}
		for _, ch := range con.Channels {
			cs.Online = cs.Online && online[ch]
		}
		out.Concentrators = append(out.Concentrators, cs)
	}
	rates := map[string][]ClassRate{}
	for _, r := range st.Rates {
		rates[r.Area] = append(rates[r.Area], ClassRate{Class: r.Class, Expected: r.Expected, Collected: r.Collected, Percent: r.Percent})
	}
	for _, ar := range a.Areas {
		as := AreaStatus{ID: ar.ID, Name: ar.Name, Meters: len(ix.MetersInArea(ar.ID)), Rates: rates[ar.ID]}
		if as.Rates == nil {
			as.Rates = []ClassRate{}
		}
		out.Areas = append(out.Areas, as)
	}
	return out
}
