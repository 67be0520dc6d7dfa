package daemon

// serve --cluster: the analysis shared out by transformer area. Each
// area is a cluster item (cluster.AreaItem); a run analyses the areas the
// node owns as it begins, and the node hands on the areas another node
// should have only between runs, so that no two nodes' runs analyse one
// area at once (docs/cluster.md).

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/cluster"
)

// areaItems are the cluster items of the archive's areas.
func areaItems(a *archive.Archive) []string {
	out := make([]string, 0, len(a.Areas))
	for _, ar := range a.Areas {
		out = append(out, cluster.AreaItem(ar.ID))
	}
	return out
}

// areaPrefix is what cluster.AreaItem puts before an area's id.
var areaPrefix = cluster.AreaItem("")

// areaShare is the node's share of the areas (analysis.Areas).
type areaShare struct {
	node    *cluster.Node
	log     *slog.Logger
	trigger func() // asks for an analysis run

	mu   sync.Mutex // held while areas are handed on
	busy bool       // a run is under way: its areas stay this node's
	seen []string   // the areas owned when last looked at
}

// owned are the areas the node owns and need not hand on, sorted.
func (s *areaShare) owned() []string {
	rel := s.node.Releasable()
	var out []string
	for _, it := range s.node.Owned() {
		if id, ok := strings.CutPrefix(it, areaPrefix); ok && !slices.Contains(rel, it) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// handOnLocked releases the areas another node should have.
func (s *areaShare) handOnLocked() {
	var rel []string
	for _, it := range s.node.Releasable() {
		if strings.HasPrefix(it, areaPrefix) {
			rel = append(rel, it)
		}
	}
	if len(rel) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.node.Release(ctx, rel...); err != nil {
		s.log.Warn("cluster: handing areas over", "areas", rel, "err", err)
		return
	}
	s.log.Info("cluster: areas handed over", "areas", rel)
}

// Take is analysis.Areas: the areas the node owns as the run begins,
// those it should hand on handed on first.
func (s *areaShare) Take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handOnLocked()
	s.busy = true
	return s.owned()
}

// Holds is analysis.Areas: the node still owns the area (its fence has
// not fallen).
func (s *areaShare) Holds(area string) bool { return s.node.Owns(cluster.AreaItem(area)) }

// Done is analysis.Areas.
func (s *areaShare) Done() {
	s.mu.Lock()
	s.busy = false
	s.mu.Unlock()
}

// watch hands on, between runs, the areas another node should have, and
// asks for a run as soon as the node gains an area (a node joined or
// died, an archive reload): the new owner analyses it then, rather than
// at its next scheduled run. It checks every recheck until ctx ends.
func (s *areaShare) watch(ctx context.Context) {
	t := time.NewTicker(recheck)
	defer t.Stop()
	for {
		s.mu.Lock()
		if !s.busy {
			s.handOnLocked()
		}
		now := s.owned()
		var gained []string
		for _, id := range now {
			if !slices.Contains(s.seen, id) {
				gained = append(gained, id)
			}
		}
		s.seen = now
		s.mu.Unlock()
		if len(gained) > 0 {
			s.log.Info("cluster: areas gained: analysing them", "areas", gained, "owned", len(now))
			s.trigger()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// shareAreas gives the analysis its share of the areas under --cluster
// and watches it until ctx ends; without --cluster it does nothing.
func (d *daemon) shareAreas(ctx context.Context) {
	if d.cl == nil {
		return
	}
	d.areas = &areaShare{node: d.cl.node, log: d.log, trigger: func() {
		select {
		case d.reanalyse <- struct{}{}:
		default:
		}
	}}
	d.running.Add(1)
	go func() { defer d.running.Done(); d.areas.watch(ctx) }()
}
