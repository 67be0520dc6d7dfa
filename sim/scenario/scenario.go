// Package scenario reads metersim scenario files (YAML) into a validated
// [model.Config]. Unknown keys are refused, and every error names the file,
// the key and the reason, e.g. "tiny.yaml: areas[1].ct_ratio: must be > 0".
//
// A scenario lists areas with customer counts per class; meters, their
// 12-digit addresses (6-digit area prefix + 6-digit sequence, 000000 being
// the area meter), editions and PV are allocated deterministically from the
// seed. An area entry with repeat: N stands for N areas (IDs suffixed
// -001.., prefixes and access ports counted up). Faults name a meter by
// address, or by area and index (1.. customers in allocation order:
// residential, commercial, industrial; 0 the area meter).
package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/model"
	"go.yaml.in/yaml/v3"
)

// Scenario is a loaded scenario.
type Scenario struct {
	File   string       // base name of the file, for messages
	Speed  float64      // simulated seconds per real second (1 = real time)
	Config model.Config // the resolved fleet
	// Terminals are the concentrators that speak Q/GDW 1376.1 to the
	// head-end (protocol: gdw3761), by concentrator id; the others are
	// transparent DL/T 645 pipes.
	Terminals map[string]Terminal
}

// Terminal is a 376.1 concentrator's own settings: its address (area
// code A1 and terminal address A2, from the concentrator's address, e.g.
// "4401 0001"; counted up by repeat) and its clock drift.
type Terminal struct {
	Address gdw3761.Address
	Drift   float64 // seconds per day, positive fast
}

// Load reads and validates a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(filepath.Base(path), data)
}

// Parse validates scenario YAML; name is used in error messages.
func Parse(name string, data []byte) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var f fileYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, decodeError(name, &root, err)
	}
	b := &builder{file: name, terminals: map[string]Terminal{}}
	s := b.build(&f)
	if len(b.terminals) > 0 {
		s.Terminals = b.terminals
	}
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	return s, nil
}

type fileYAML struct {
	Name       string        `yaml:"name"`
	Seed       int64         `yaml:"seed"`
	Start      string        `yaml:"start"`
	Zone       string        `yaml:"zone"`
	Speed      *float64      `yaml:"speed"`
	TOU        []touYAML     `yaml:"tou"`
	Settlement settleYAML    `yaml:"settlement"`
	Retention  retentionYAML `yaml:"retention"`
	Areas      []areaYAML    `yaml:"areas"`
	Faults     []faultYAML   `yaml:"faults"`
}

type touYAML struct {
	Start  string `yaml:"start"`
	Tariff string `yaml:"tariff"`
}

type settleYAML struct {
	Day  *int `yaml:"day"`
	Hour int  `yaml:"hour"`
}

type retentionYAML struct {
	Daily          int `yaml:"daily"`
	Hourly         int `yaml:"hourly"`
	ProfileDays    int `yaml:"profile_days"`
	Settlements    int `yaml:"settlements"`
	TruthDays      int `yaml:"truth_days"`
	TruthIntervals int `yaml:"truth_intervals"`
}

type areaYAML struct {
	ID               string      `yaml:"id"`
	Name             string      `yaml:"name"`
	Feeder           string      `yaml:"feeder"`
	VoltageLevel     string      `yaml:"voltage_level"`
	Repeat           int         `yaml:"repeat"`
	CTRatio          *int        `yaml:"ct_ratio"`
	PTRatio          *int        `yaml:"pt_ratio"`
	TechLossPct      *float64    `yaml:"tech_loss_pct"`
	AddressPrefix    string      `yaml:"address_prefix"`
	AreaMeterEdition int         `yaml:"area_meter_edition"`
	Customers        countsYAML  `yaml:"customers"`
	PVShare          float64     `yaml:"pv_share"`
	Edition1997Share float64     `yaml:"edition_1997_share"`
	LargeCustomerCT  int         `yaml:"large_customer_ct"`
	Concentrator     concYAML    `yaml:"concentrator"`
	Meters           []meterYAML `yaml:"meters"`
}

type countsYAML struct {
	Residential int `yaml:"residential"`
	Commercial  int `yaml:"commercial"`
	Industrial  int `yaml:"industrial"`
}

type concYAML struct {
	ID       string     `yaml:"id"`
	Address  string     `yaml:"address"`
	Protocol string     `yaml:"protocol"`
	Drift    float64    `yaml:"clock_drift_s_per_day"`
	Access   accessYAML `yaml:"access"`
}

type accessYAML struct {
	Kind      string `yaml:"kind"`
	Listen    string `yaml:"listen"`
	Dial      string `yaml:"dial"`
	Device    string `yaml:"device"`
	Baud      int    `yaml:"baud"`
	Parity    string `yaml:"parity"`
	LineDelay string `yaml:"line_delay"`
	Broker    string `yaml:"broker"`
	TopicDown string `yaml:"topic_down"`
	TopicUp   string `yaml:"topic_up"`
	UnitID    int    `yaml:"unit_id"`
}

type meterYAML struct {
	Index    int      `yaml:"index"`
	Address  string   `yaml:"address"`
	Edition  int      `yaml:"edition"`
	Class    string   `yaml:"class"`
	Phases   int      `yaml:"phases"`
	CTRatio  *int     `yaml:"ct_ratio"`
	PTRatio  *int     `yaml:"pt_ratio"`
	DailyKWh float64  `yaml:"daily_kwh"`
	PVKW     *float64 `yaml:"pv_kw"`
}

type faultYAML struct {
	Meter    string  `yaml:"meter"`
	Area     string  `yaml:"area"`
	Index    *int    `yaml:"index"`
	Kind     string  `yaml:"kind"`
	Start    string  `yaml:"start"`
	End      string  `yaml:"end"`
	Fraction float64 `yaml:"fraction"`
	Amount   float64 `yaml:"amount_kwh"`
	Drift    float64 `yaml:"drift_s_per_day"`
	Phase    string  `yaml:"phase"`
	To       string  `yaml:"to"`
	Delay    string  `yaml:"delay"`
	Rate     float64 `yaml:"rate"`
	Bytes    int     `yaml:"bytes"`
}

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)
var fieldRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

// decodeError rewrites yaml.v3 decode errors to name the key path.
func decodeError(name string, root *yaml.Node, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var errs []error
	for _, e := range te.Errors {
		m := lineRE.FindStringSubmatch(e)
		if m == nil {
			errs = append(errs, fmt.Errorf("%s: %s", name, e))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		reason := m[2]
		key := ""
		if fm := fieldRE.FindStringSubmatch(reason); fm != nil {
			key = fm[1]
			reason = "unknown key"
		}
		path := locate(root, line, key)
		if path == "" {
			errs = append(errs, fmt.Errorf("%s: line %d: %s", name, line, reason))
		} else {
			errs = append(errs, fmt.Errorf("%s: %s: %s (line %d)", name, path, reason, line))
		}
	}
	return errors.Join(errs...)
}

// locate finds the key path of the mapping entry on a line (whose key is
// key, if given).
func locate(n *yaml.Node, line int, key string) string {
	var walk func(n *yaml.Node, path string) string
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				if p := walk(c, path); p != "" {
					return p
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if (k.Line == line && (key == "" || k.Value == key)) || (key == "" && v.Line == line && v.Kind == yaml.ScalarNode) {
					return p
				}
				if r := walk(v, p); r != "" {
					return r
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if key == "" && c.Line == line && c.Kind == yaml.ScalarNode {
					return p
				}
				if r := walk(c, p); r != "" {
					return r
				}
			}
		}
		return ""
	}
	return walk(n, "")
}

type builder struct {
	file   string
	errs   []error
	meters int // meters allocated so far, against MaxMeters

	terminals map[string]Terminal
}

// MaxMeters is the most meters a scenario may hold: a million, the size
// of fleet the head-end is designed for.
const MaxMeters = 1_000_000

func (b *builder) bad(key, format string, a ...any) {
	b.errs = append(b.errs, fmt.Errorf("%s: %s: %s", b.file, key, fmt.Sprintf(format, a...)))
}

var timeLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

func (b *builder) time(key, s string, z *time.Location) (time.Time, bool) {
	if s == "" {
		b.bad(key, "must be set")
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, z); err == nil {
			return t.In(z), true
		}
	}
	b.bad(key, "%q is not a time (want e.g. 2025-01-01T00:00:00+08:00 or 2025-01-01 00:00)", s)
	return time.Time{}, false
}

func zone(s string) (*time.Location, error) {
	switch s {
	case "", "Asia/Shanghai", "CST", "+08:00":
		return model.DefaultZone, nil
	case "UTC", "Z", "+00:00":
		return time.UTC, nil
	}
	if len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':' {
		h, err1 := strconv.Atoi(s[1:3])
		m, err2 := strconv.Atoi(s[4:])
		if err1 == nil && err2 == nil && h <= 14 && m < 60 {
			off := h*3600 + m*60
			if s[0] == '-' {
				off = -off
			}
			return time.FixedZone(s, off), nil
		}
	}
	return time.LoadLocation(s)
}

func tariff(s string) (int, bool) {
	switch strings.ToLower(s) {
	case "1", "sharp":
		return 1, true
	case "2", "peak":
		return 2, true
	case "3", "flat":
		return 3, true
	case "4", "valley":
		return 4, true
	}
	return 0, false
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// resolved area, before faults are attached
type areaRef struct {
	key  string // YAML key of the source area entry
	cfg  *model.AreaConfig
	addr map[string]*model.MeterConfig
	keys map[string]string // YAML key of explicitly given addresses
}

func (b *builder) build(f *fileYAML) *Scenario {
	s := &Scenario{File: b.file, Speed: 1}
	c := &s.Config
	c.Name = f.Name
	if c.Name == "" {
		c.Name = strings.TrimSuffix(b.file, filepath.Ext(b.file))
	}
	c.Seed = f.Seed
	z, err := zone(f.Zone)
	if err != nil {
		b.bad("zone", "%v", err)
		z = model.DefaultZone
	}
	c.Zone = z
	if t, ok := b.time("start", f.Start, z); ok {
		c.Start = t
		if t.Sub(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, z))%model.Step != 0 || t.Nanosecond() != 0 {
			b.bad("start", "must lie on a 15-minute boundary")
		}
	}
	if f.Speed != nil {
		if *f.Speed <= 0 {
			b.bad("speed", "must be > 0")
		}
		s.Speed = *f.Speed
	}
	if f.TOU != nil {
		c.TOU = []model.TOUPeriod{}
		for i, p := range f.TOU {
			key := fmt.Sprintf("tou[%d]", i)
			hm, err := time.Parse("15:04", p.Start)
			if err != nil {
				b.bad(key+".start", "%q is not HH:MM", p.Start)
				continue
			}
			off := time.Duration(hm.Hour())*time.Hour + time.Duration(hm.Minute())*time.Minute
			tr, ok := tariff(p.Tariff)
			if !ok {
				b.bad(key+".tariff", "%q is not 1..4 or sharp/peak/flat/valley", p.Tariff)
			}
			if i == 0 && off != 0 {
				b.bad(key+".start", "the first period must start at 00:00")
			}
			if i > 0 && len(c.TOU) > 0 && off <= c.TOU[len(c.TOU)-1].Start {
				b.bad(key+".start", "periods must be in increasing order")
			}
			c.TOU = append(c.TOU, model.TOUPeriod{Start: off, Tariff: tr})
		}
		if len(f.TOU) == 0 {
			b.bad("tou", "must not be empty (leave it out for the default table)")
		}
	}
	if f.Settlement.Day != nil {
		c.Settlement.Day = *f.Settlement.Day
		if c.Settlement.Day < 1 || c.Settlement.Day > 28 {
			b.bad("settlement.day", "must be 1..28")
		}
	}
	c.Settlement.Hour = f.Settlement.Hour
	if c.Settlement.Hour < 0 || c.Settlement.Hour > 23 {
		b.bad("settlement.hour", "must be 0..23")
	}
	r := f.Retention
	for _, v := range []struct {
		k        string
		v, lo, n int
	}{{"daily", r.Daily, 1, 62}, {"hourly", r.Hourly, 48, 254}, {"profile_days", r.ProfileDays, 7, 62},
		{"settlements", r.Settlements, 1, 12}, {"truth_days", r.TruthDays, 1, 400}, {"truth_intervals", r.TruthIntervals, 1, 96 * 62}} {
		if v.v != 0 && (v.v < v.lo || v.v > v.n) {
			b.bad("retention."+v.k, "must be %d..%d", v.lo, v.n)
		}
	}
	c.Retention = model.Retention{Daily: r.Daily, Hourly: r.Hourly, ProfileDays: r.ProfileDays,
		Settlements: r.Settlements, TruthDays: r.TruthDays, TruthIntervals: r.TruthIntervals}

	if len(f.Areas) == 0 {
		b.bad("areas", "at least one area is needed")
	}
	var refs []*areaRef
	byID := map[string]*areaRef{}
	owner := map[string]string{} // address → key
	n := 0
	for i := range f.Areas {
		for _, r := range b.areas(c, i, &f.Areas[i], &n) {
			if prev, dup := byID[r.cfg.ID]; dup {
				b.bad(r.key+".id", "%q duplicates %s", r.cfg.ID, prev.key)
				continue
			}
			byID[r.cfg.ID] = r
			refs = append(refs, r)
			prefixDup := false // report a clashing prefix once
			for _, m := range append([]*model.MeterConfig{&r.cfg.AreaMeter}, ptrs(r.cfg.Customers)...) {
				k, ok := r.keys[m.Address]
				if !ok {
					k = r.key + ".address_prefix"
				}
				if prev, dup := owner[m.Address]; dup {
					if ok || !prefixDup {
						b.bad(k, "meter address %s duplicates %s", m.Address, prev)
					}
					prefixDup = prefixDup || !ok
					continue
				}
				owner[m.Address] = k
				r.addr[m.Address] = m
			}
		}
	}
	for i := range f.Faults {
		b.fault(c, fmt.Sprintf("faults[%d]", i), &f.Faults[i], refs, byID, z)
	}
	for _, r := range refs {
		c.Areas = append(c.Areas, *r.cfg)
	}
	if len(b.errs) == 0 {
		if err := c.Validate(); err != nil {
			// everything should have been caught above; name the file anyway
			b.errs = append(b.errs, fmt.Errorf("%s: %w", b.file, err))
		}
	}
	return s
}

func ptrs(ms []model.MeterConfig) []*model.MeterConfig {
	out := make([]*model.MeterConfig, len(ms))
	for i := range ms {
		out[i] = &ms[i]
	}
	return out
}

var classes = map[string]model.Class{"residential": model.Residential, "commercial": model.Commercial, "industrial": model.Industrial}

// areas expands one area entry (repeat: N gives N areas).
func (b *builder) areas(c *model.Config, i int, a *areaYAML, n *int) []*areaRef {
	key := fmt.Sprintf("areas[%d]", i)
	errs := len(b.errs)
	if a.ID == "" {
		b.bad(key+".id", "must be set")
	}
	reps := 1
	if a.Repeat != 0 {
		if a.Repeat < 1 || a.Repeat > 9999 {
			b.bad(key+".repeat", "must be 1..9999")
		}
		reps = max(a.Repeat, 1)
	}
	ct, pt := 1, 1
	if a.CTRatio != nil {
		ct = *a.CTRatio
		if ct <= 0 {
			b.bad(key+".ct_ratio", "must be > 0")
		}
	}
	if a.PTRatio != nil {
		pt = *a.PTRatio
		if pt <= 0 {
			b.bad(key+".pt_ratio", "must be > 0")
		}
	}
	loss := 4.0
	if a.TechLossPct != nil {
		loss = *a.TechLossPct
		if loss < 0 || loss >= 50 {
			b.bad(key+".tech_loss_pct", "must be in [0, 50)")
		}
	}
	cu := a.Customers
	if cu.Residential < 0 || cu.Commercial < 0 || cu.Industrial < 0 {
		b.bad(key+".customers", "counts must be >= 0")
	}
	total := cu.Residential + cu.Commercial + cu.Industrial
	if total > 999_999 {
		b.bad(key+".customers", "at most 999999 customers per area")
	}
	if b.meters += reps * (total + 1); b.meters > MaxMeters {
		b.bad(key, "the scenario would hold %d meters or more, at most %d", b.meters, MaxMeters)
		return nil
	}
	if a.PVShare < 0 || a.PVShare > 1 {
		b.bad(key+".pv_share", "must be in [0, 1]")
	}
	if a.Edition1997Share < 0 || a.Edition1997Share > 1 {
		b.bad(key+".edition_1997_share", "must be in [0, 1]")
	}
	if a.AreaMeterEdition != 0 && a.AreaMeterEdition != 2007 && a.AreaMeterEdition != 1997 {
		b.bad(key+".area_meter_edition", "must be 2007 or 1997")
	}
	if a.LargeCustomerCT < 0 {
		b.bad(key+".large_customer_ct", "must be > 0")
	}
	prefix := 0
	if a.AddressPrefix != "" {
		if !digits(a.AddressPrefix, 6) {
			b.bad(key+".address_prefix", "%q is not 6 decimal digits", a.AddressPrefix)
		}
		prefix, _ = strconv.Atoi(a.AddressPrefix)
	} else {
		prefix = *n + 1
	}
	if prefix+reps-1 > 999_999 {
		b.bad(key+".address_prefix", "prefixes run past 999999")
	}
	acc, delay := b.access(key+".concentrator.access", &a.Concentrator.Access)
	term, isTerm := b.terminal(key+".concentrator", &a.Concentrator, acc, reps)
	for j, m := range a.Meters {
		mk := fmt.Sprintf("%s.meters[%d]", key, j)
		if m.Index < 1 || m.Index > total {
			b.bad(mk+".index", "must be 1..%d (the area's customers)", total)
		}
		if m.Address != "" && !digits(m.Address, 12) {
			b.bad(mk+".address", "%q is not 12 decimal digits", m.Address)
		}
		if m.Edition != 0 && m.Edition != 2007 && m.Edition != 1997 {
			b.bad(mk+".edition", "must be 2007 or 1997")
		}
		if _, ok := classes[m.Class]; m.Class != "" && !ok {
			b.bad(mk+".class", "%q is not residential, commercial or industrial", m.Class)
		}
		if m.Phases != 0 && m.Phases != 1 && m.Phases != 3 {
			b.bad(mk+".phases", "must be 1 or 3")
		}
		if m.CTRatio != nil && *m.CTRatio <= 0 {
			b.bad(mk+".ct_ratio", "must be > 0")
		}
		if m.PTRatio != nil && *m.PTRatio <= 0 {
			b.bad(mk+".pt_ratio", "must be > 0")
		}
		if m.DailyKWh < 0 || (m.PVKW != nil && *m.PVKW < 0) {
			b.bad(mk, "daily_kwh and pv_kw must be >= 0")
		}
	}
	if len(b.errs) > errs {
		*n += reps
		return nil
	}
	var out []*areaRef
	for r := 0; r < reps; r++ {
		*n++
		ac := &model.AreaConfig{ID: a.ID, Name: a.Name, Feeder: a.Feeder, VoltageLevel: a.VoltageLevel, TechLossPct: loss}
		conc := a.Concentrator
		ac.Concentrator = model.Concentrator{ID: conc.ID, Address: conc.Address, Access: acc}
		if ac.Concentrator.ID == "" {
			ac.Concentrator.ID = "C-" + a.ID
		}
		if a.Repeat > 0 {
			sfx := fmt.Sprintf("-%03d", r+1)
			ac.ID += sfx
			ac.Concentrator.ID += sfx
			if ac.Name != "" {
				ac.Name += sfx
			}
			ac.Concentrator.Access.Listen = bumpPort(acc.Listen, r)
			ac.Concentrator.Access.Dial = bumpPort(acc.Dial, r)
			ac.Concentrator.Access.UnitID = acc.UnitID + r
		}
		ac.Concentrator.Access.LineDelay = delay
		if isTerm {
			t := term
			t.Address.Terminal += uint16(r)
			ac.Concentrator.Address = t.Address.String()
			b.terminals[ac.Concentrator.ID] = t
		}
		pfx := fmt.Sprintf("%06d", prefix+r)
		ac.AreaMeter = model.MeterConfig{Address: pfx + "000000", Edition: a.AreaMeterEdition, Phases: 3, CT: ct, PT: pt}
		if ac.AreaMeter.Edition == 0 {
			ac.AreaMeter.Edition = 2007
		}
		rng := rand.New(rand.NewPCG(uint64(c.Seed), uint64(prefix+r)))
		for k := 1; k <= total; k++ {
			mc := model.MeterConfig{Address: fmt.Sprintf("%s%06d", pfx, k), Edition: 2007, Phases: 1}
			switch {
			case k <= cu.Residential:
				mc.Class = model.Residential
			case k <= cu.Residential+cu.Commercial:
				mc.Class = model.Commercial
				mc.Phases = 3
			default:
				mc.Class = model.Industrial
				mc.Phases = 3
				mc.CT = max(a.LargeCustomerCT, 1)
			}
			if rng.Float64() < a.Edition1997Share {
				mc.Edition = 1997
			}
			pvDraw, pvSize := rng.Float64(), rng.Float64()
			if mc.Class != model.Industrial && pvDraw < a.PVShare {
				mc.PVKW = math.Round((3+7*pvSize)*10) / 10
				if mc.Class == model.Commercial {
					mc.PVKW *= 3
				}
			}
			ac.Customers = append(ac.Customers, mc)
		}
		keys := map[string]string{}
		for j, m := range a.Meters {
			mc := &ac.Customers[m.Index-1]
			if m.Address != "" && reps == 1 {
				mc.Address = m.Address
				keys[m.Address] = fmt.Sprintf("%s.meters[%d].address", key, j)
			}
			if m.Edition != 0 {
				mc.Edition = m.Edition
			}
			if m.Class != "" {
				mc.Class = classes[m.Class]
			}
			if m.Phases != 0 {
				mc.Phases = m.Phases
			}
			if m.CTRatio != nil {
				mc.CT = *m.CTRatio
			}
			if m.PTRatio != nil {
				mc.PT = *m.PTRatio
			}
			mc.DailyKWh = m.DailyKWh
			if m.PVKW != nil {
				mc.PVKW = *m.PVKW
			}
		}
		out = append(out, &areaRef{key: key, cfg: ac, addr: map[string]*model.MeterConfig{}, keys: keys})
	}
	return out
}

// terminal reads a concentrator's 376.1 settings; ok is false for a
// DL/T 645 concentrator (or a bad one, reported).
func (b *builder) terminal(key string, c *concYAML, acc model.Access, reps int) (Terminal, bool) {
	switch c.Protocol {
	case "", "dlt645":
		if c.Drift != 0 {
			b.bad(key+".clock_drift_s_per_day", "only a protocol: gdw3761 concentrator keeps a clock")
		}
		return Terminal{}, false
	case "gdw3761":
	default:
		b.bad(key+".protocol", "%q is not dlt645 or gdw3761", c.Protocol)
		return Terminal{}, false
	}
	if acc.Kind != model.AccessTCPDialIn {
		b.bad(key+".access.kind", "a gdw3761 concentrator dials in: kind must be %s", model.AccessTCPDialIn)
	}
	a, err := gdw3761.ParseAddress(c.Address)
	if err != nil {
		b.bad(key+".address", "%q is not a 376.1 terminal address (area code and terminal, e.g. \"4401 0001\")", c.Address)
		return Terminal{}, false
	}
	if a.Terminal == 0 || int(a.Terminal)+max(reps, 1)-1 > 0xFFFE {
		b.bad(key+".address", "terminal addresses must be 0001..FFFE (counted up by repeat)")
	}
	if c.Drift < -3600 || c.Drift > 3600 {
		b.bad(key+".clock_drift_s_per_day", "must be -3600..3600")
	}
	return Terminal{Address: a, Drift: c.Drift}, true
}

func bumpPort(addr string, r int) string {
	if addr == "" || r == 0 {
		return addr
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	n, err := strconv.Atoi(p)
	if err != nil || n == 0 {
		return addr
	}
	return net.JoinHostPort(h, strconv.Itoa(n+r))
}

var accessKinds = []string{model.AccessTCPListen, model.AccessTCPDialIn, model.AccessSerial, model.AccessMQTT, model.AccessModbusTCP, model.AccessModbusRTU}

func (b *builder) access(key string, a *accessYAML) (model.Access, time.Duration) {
	acc := model.Access{Kind: a.Kind, Listen: a.Listen, Dial: a.Dial, Device: a.Device, Baud: a.Baud, Parity: a.Parity,
		Broker: a.Broker, TopicDown: a.TopicDown, TopicUp: a.TopicUp, UnitID: a.UnitID}
	if acc.Kind == "" {
		// no access block: listen on an ephemeral local port
		acc.Kind = model.AccessTCPListen
		if acc.Listen == "" {
			acc.Listen = "127.0.0.1:0"
		}
	}
	var delay time.Duration
	if a.LineDelay != "" {
		d, err := time.ParseDuration(a.LineDelay)
		if err != nil || d < 0 {
			b.bad(key+".line_delay", "%q is not a duration >= 0 (e.g. 50ms)", a.LineDelay)
		}
		delay = d
	}
	hostport := func(k, v string, need bool) {
		if v == "" {
			if need {
				b.bad(key+"."+k, "must be set for kind %s", acc.Kind)
			}
			return
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			b.bad(key+"."+k, "%q is not host:port", v)
		}
	}
	switch acc.Kind {
	case model.AccessTCPListen, model.AccessModbusTCP:
		hostport("listen", acc.Listen, true)
	case model.AccessTCPDialIn:
		hostport("dial", acc.Dial, true)
	case model.AccessSerial, model.AccessModbusRTU:
		if acc.Baud == 0 {
			acc.Baud = 2400
		}
	case model.AccessMQTT:
		if acc.Broker == "" {
			b.bad(key+".broker", "must be set for kind mqtt")
		}
		// empty topics: the gateway's defaults, headend/gw/{id}/down and /up
	default:
		b.bad(key+".kind", "%q is not one of %s", acc.Kind, strings.Join(accessKinds, ", "))
	}
	if acc.Baud < 0 || acc.Baud > 115200 {
		b.bad(key+".baud", "must be 1..115200")
	}
	switch acc.Parity {
	case "":
		if acc.Baud > 0 {
			acc.Parity = "E"
		}
	case "E", "N", "O":
	default:
		b.bad(key+".parity", "must be E, N or O")
	}
	return acc, delay
}

var faultKinds = map[string]model.FaultKind{}

func init() {
	for _, k := range []model.FaultKind{model.FaultTheft, model.FaultStopped, model.FaultReverseWiring, model.FaultJump,
		model.FaultBackwards, model.FaultClockDrift, model.FaultPhaseLoss, model.FaultCoverOpen, model.FaultMoved,
		model.FaultBatteryLow, model.WireNoAnswer, model.WireOffline, model.WireSlow, model.WireCorrupt,
		model.WireBadChecksum, model.WireNoise, model.WireNoBlocks} {
		faultKinds[string(k)] = k
	}
}

func (b *builder) fault(c *model.Config, key string, f *faultYAML, refs []*areaRef, byID map[string]*areaRef, z *time.Location) {
	// find the meter
	var mc *model.MeterConfig
	var owner *areaRef
	switch {
	case f.Meter != "" && (f.Area != "" || f.Index != nil):
		b.bad(key, "give either meter or area+index, not both")
		return
	case f.Meter != "":
		if !digits(f.Meter, 12) {
			b.bad(key+".meter", "%q is not a 12-digit address", f.Meter)
			return
		}
		for _, r := range refs {
			if m, ok := r.addr[f.Meter]; ok {
				mc, owner = m, r
			}
		}
		if mc == nil {
			b.bad(key+".meter", "no meter %s in the scenario", f.Meter)
			return
		}
	case f.Area != "" && f.Index != nil:
		r := byID[f.Area]
		if r == nil {
			b.bad(key+".area", "no area %q", f.Area)
			return
		}
		i := *f.Index
		if i < 0 || i > len(r.cfg.Customers) {
			b.bad(key+".index", "must be 0..%d (0 = area meter)", len(r.cfg.Customers))
			return
		}
		owner = r
		if i == 0 {
			mc = &r.cfg.AreaMeter
		} else {
			mc = &r.cfg.Customers[i-1]
		}
	default:
		b.bad(key+".meter", "must be set (or area and index)")
		return
	}
	kind, ok := faultKinds[f.Kind]
	if !ok {
		names := make([]string, 0, len(faultKinds))
		for n := range faultKinds {
			names = append(names, n)
		}
		slices.Sort(names)
		b.bad(key+".kind", "%q is not one of %s", f.Kind, strings.Join(names, ", "))
		return
	}
	ft := model.Fault{Kind: kind, Fraction: f.Fraction, DriftPerDay: f.Drift, Rate: f.Rate, Bytes: f.Bytes}
	start, ok := b.time(key+".start", f.Start, z)
	if !ok {
		return
	}
	ft.Start = start
	if f.End != "" {
		end, ok := b.time(key+".end", f.End, z)
		if !ok {
			return
		}
		if !end.After(start) {
			b.bad(key+".end", "must be after start")
			return
		}
		ft.End = end
	}
	isArea := mc == &owner.cfg.AreaMeter
	switch kind {
	case model.FaultTheft:
		if f.Fraction <= 0 || f.Fraction > 1 {
			b.bad(key+".fraction", "must be in (0, 1]")
		}
	case model.FaultJump, model.FaultBackwards:
		if f.Amount <= 0 {
			b.bad(key+".amount_kwh", "must be > 0")
		}
		ft.Amount = int64(math.Round(f.Amount * 100))
	case model.FaultClockDrift:
		if f.Drift == 0 {
			b.bad(key+".drift_s_per_day", "must not be 0")
		}
	case model.FaultPhaseLoss:
		p := strings.Index("ABC", strings.ToUpper(f.Phase))
		if len(f.Phase) != 1 || p < 0 {
			b.bad(key+".phase", "must be A, B or C")
		} else if mc.Phases != 3 {
			b.bad(key+".phase", "meter %s is single-phase", mc.Address)
		}
		ft.Phase = max(p, 0)
	case model.FaultMoved:
		if isArea {
			b.bad(key+".kind", "an area meter cannot be moved")
		} else if byID[f.To] == nil {
			b.bad(key+".to", "no area %q", f.To)
		} else if f.To == owner.cfg.ID {
			b.bad(key+".to", "the meter is already in area %s", f.To)
		}
		ft.Area = f.To
	case model.WireSlow:
		d, err := time.ParseDuration(f.Delay)
		if err != nil || d <= 0 {
			b.bad(key+".delay", "%q is not a duration > 0 (e.g. 800ms)", f.Delay)
		}
		ft.Delay = d
	}
	if f.Rate < 0 || f.Rate > 1 {
		b.bad(key+".rate", "must be in [0, 1]")
	}
	if f.Bytes < 0 {
		b.bad(key+".bytes", "must be >= 0")
	}
	mc.Faults = append(mc.Faults, ft)
}
