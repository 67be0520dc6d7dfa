package fieldops

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/protocol/dlt645"
)

// MaxItems bounds the data identifiers one on-demand read asks for.
const MaxItems = 64

// Groups are the names of sets of data identifiers ParseItems accepts
// besides single DIs and quantity names: the requests of the collector's
// schedules, the clock and the status words.
var Groups = []string{"instantaneous", "clock", "daily", "monthly", "status"}

func group(ed dlt645.Edition, name string) ([]dlt645.DI, bool) {
	t := poll.Target{Edition: ed}
	var rqs []poll.Request
	switch name {
	case "instantaneous":
		rqs = schedule.InstantaneousRequests(t, time.Time{})
	case "clock":
		if ed == dlt645.DLT1997 {
			return []dlt645.DI{0xC010, 0xC011}, true
		}
		return []dlt645.DI{0x04000101, 0x04000102}, true
	case "daily":
		rqs = schedule.DailyRequests(t, time.Time{})
	case "monthly":
		rqs = schedule.MonthlyRequests(t, time.Time{})
	case "status":
		if ed == dlt645.DLT1997 {
			return nil, true // 1997 meters keep no status words: ParseItems says so
		}
		return []dlt645.DI{0x040005FF}, true
	default:
		return nil, false
	}
	out := make([]dlt645.DI, 0, len(rqs))
	for _, rq := range rqs {
		out = append(out, rq.DI)
	}
	return out, true
}

// ParseItems turns what a person asks to read into data identifiers of
// the edition: each item is a DI in hex (8 digits for 2007, 4 for 1997),
// a quantity name as the registry spells it ("forward active energy
// total", any case, - or _ for spaces), or one of [Groups]; an item may
// hold several, separated by commas. No items means "instantaneous".
// Duplicates are dropped, order is kept. A bad item is a *ParamError for
// param.
func ParseItems(ed dlt645.Edition, param string, items []string) ([]dlt645.DI, error) {
	var out []dlt645.DI
	add := func(d dlt645.DI) {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	for _, item := range items {
		for part := range strings.SplitSeq(item, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if di, err := ed.ParseDI(part); err == nil {
				add(di)
			} else if _, err2 := dlt645.ParseDI(part); err2 == nil {
				return nil, badParam(param, "%q: %v", part, trimPrefix(err))
			} else if g, ok := group(ed, normalName(part)); ok {
				if len(g) == 0 {
					return nil, badParam(param, "%q: %s meters have none", part, ed)
				}
				for _, d := range g {
					add(d)
				}
			} else if di, ok := byName(ed, part); ok {
				add(di)
			} else {
				return nil, badParam(param, "%q is neither a DI (%d hex digits for %s) nor a quantity name (such as %q) nor a group (%s)",
					part, len(dlt645.DI(0).Format(ed)), ed, exampleName(ed), strings.Join(Groups, ", "))
			}
			if len(out) > MaxItems {
				return nil, badParam(param, "more than %d data identifiers", MaxItems)
			}
		}
	}
	if len(out) == 0 {
		out, _ = group(ed, "instantaneous")
	}
	return out, nil
}

func trimPrefix(err error) string { return strings.TrimPrefix(err.Error(), "dlt645: ") }

func exampleName(ed dlt645.Edition) string {
	if ed == dlt645.DLT1997 {
		return "forward active energy total"
	}
	return "phase A voltage"
}

// normalName lowercases a name and turns runs of spaces, - and _ into one
// space.
func normalName(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ' ' || r == '-' || r == '_' || r == '\t' })
	return strings.Join(f, " ")
}

var names [2]struct {
	once sync.Once
	m    map[string]dlt645.DI
}

// byName finds a DI by its registry name (the lowest DI of that name).
func byName(ed dlt645.Edition, name string) (dlt645.DI, bool) {
	n := &names[ed&1]
	n.once.Do(func() {
		n.m = map[string]dlt645.DI{}
		for _, s := range ed.Registry().Specs() {
			k := normalName(s.Name)
			if _, dup := n.m[k]; !dup && k != "" {
				n.m[k] = s.DI
			}
		}
	})
	di, ok := n.m[normalName(name)]
	return di, ok
}
