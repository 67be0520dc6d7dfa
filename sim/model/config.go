package model

import (
	"errors"
	"fmt"
	"time"
)

// Step is the fixed integration step: the demand and load-profile interval.
const Step = 15 * time.Minute

// StepsPerDay is the number of integration steps in a simulated day.
const StepsPerDay = int(24 * time.Hour / Step)

// DefaultZone is the default zone of simulated timestamps: China Standard
// Time as a fixed +08:00 offset (needs no tzdata).
var DefaultZone = time.FixedZone("Asia/Shanghai", 8*3600)

// Config is a complete, resolved description of a simulated fleet. The
// scenario package builds it from YAML; tests may build it directly.
type Config struct {
	Name       string
	Seed       int64
	Start      time.Time      // first simulated instant; must lie on a 15-minute boundary of Zone
	Zone       *time.Location // zone of simulated timestamps; nil = DefaultZone
	TOU        []TOUPeriod    // time-of-use table; nil = DefaultTOU()
	Settlement Settlement     // monthly settlement (billing cut-off); zero = the 1st at 00:00
	Retention  Retention      // ring-buffer depths; zero fields = defaults
	Areas      []AreaConfig
}

// TOUPeriod starts a tariff at a time of day; a period lasts until the next
// one (the table wraps at midnight).
type TOUPeriod struct {
	Start  time.Duration // offset from 00:00, multiple of a minute, < 24h
	Tariff int           // 1 sharp, 2 peak, 3 flat, 4 valley
}

// Tariff numbers (DL/T 645 DI1 = 01..04).
const (
	TariffSharp  = 1
	TariffPeak   = 2
	TariffFlat   = 3
	TariffValley = 4
)

// DefaultTOU is a typical provincial time-of-use table: valley 00–08,
// flat 08–10, peak 10–12, flat 12–14, peak 14–17, sharp 17–19,
// peak 19–22, flat 22–24.
func DefaultTOU() []TOUPeriod {
	h := time.Hour
	return []TOUPeriod{
		{0, TariffValley}, {8 * h, TariffFlat}, {10 * h, TariffPeak}, {12 * h, TariffFlat},
		{14 * h, TariffPeak}, {17 * h, TariffSharp}, {19 * h, TariffPeak}, {22 * h, TariffFlat},
	}
}

// Settlement is the monthly billing cut-off: day of month (1..28) and hour.
// The zero value means the 1st at 00:00.
type Settlement struct {
	Day  int
	Hour int
}

// Retention gives the depths of the meters' ring buffers and of the ground
// truth. Zero fields take the defaults shown.
type Retention struct {
	Daily          int // daily freezes kept (62)
	Hourly         int // hourly freezes kept (254)
	ProfileDays    int // days of 15-minute load profile kept (7)
	Settlements    int // settlement-day records kept (12)
	TruthDays      int // days of per-meter and per-area ground truth kept (62)
	TruthIntervals int // 15-minute intervals of per-meter true consumption kept (192)
}

func (r Retention) withDefaults() Retention {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&r.Daily, 62)
	def(&r.Hourly, 254)
	def(&r.ProfileDays, 7)
	def(&r.Settlements, 12)
	def(&r.TruthDays, 62)
	def(&r.TruthIntervals, 2*StepsPerDay)
	return r
}

// AreaConfig is one transformer area with its area meter and customers.
type AreaConfig struct {
	ID           string
	Name         string
	Feeder       string // feeder line
	VoltageLevel string // e.g. "10kV/0.4kV"
	TechLossPct  float64
	Concentrator Concentrator
	AreaMeter    MeterConfig   // Role is forced to RoleArea, Phases to 3
	Customers    []MeterConfig // archive: the customers registered in this area
}

// Concentrator is the concentrator of an area and how the simulator exposes
// it. The model only carries it for the wire layer.
type Concentrator struct {
	ID      string
	Address string // its own address (e.g. 1376.1 terminal address), free text
	Access  Access
}

// Access kinds.
const (
	AccessTCPListen = "tcp-listen" // simulator listens, head-end dials out
	AccessTCPDialIn = "tcp-dialin" // simulator dials in to the head-end
	AccessSerial    = "serial"     // serial line or pty
	AccessMQTT      = "mqtt"
	AccessModbusTCP = "modbus-tcp"
	AccessModbusRTU = "modbus-rtu"
)

// Access is plain data describing how a concentrator is reached.
type Access struct {
	Kind      string
	Listen    string        // host:port the simulator listens on
	Dial      string        // host:port the simulator dials
	Device    string        // serial device or pty path
	Baud      int           // serial bit rate
	Parity    string        // "E", "N" or "O"
	LineDelay time.Duration // simulated line delay per transaction
	Broker    string        // MQTT broker URL
	TopicDown string        // MQTT downlink topic
	TopicUp   string        // MQTT uplink topic
	UnitID    int           // Modbus unit id
}

// Role is what a meter measures.
type Role int

// Meter roles.
const (
	RoleCustomer Role = iota // customer meter
	RoleArea                 // area (transformer total) meter
)

func (r Role) String() string {
	if r == RoleArea {
		return "area"
	}
	return "customer"
}

// Class is a customer's load class.
type Class int

// Customer classes.
const (
	Residential Class = iota
	Commercial
	Industrial
)

func (c Class) String() string {
	switch c {
	case Commercial:
		return "commercial"
	case Industrial:
		return "industrial"
	}
	return "residential"
}

// MeterConfig describes one meter. Zero values: edition 2007, one phase
// (customers) / three (area meter), CT and PT 1, daily energy drawn from
// the class's range, no PV.
type MeterConfig struct {
	Address  string // 12 decimal digits
	Edition  int    // 2007 or 1997
	Class    Class
	Phases   int     // 1 or 3
	CT, PT   int     // ratios; registers are primary / (CT×PT)
	DailyKWh float64 // mean daily consumption; 0 = drawn from the class range
	PVKW     float64 // rooftop PV peak power in kW; 0 = none
	Faults   []Fault
}

// FaultKind names a planted fault or wire behaviour.
type FaultKind string

// Physical faults (change what the registers show).
const (
	FaultTheft         FaultKind = "theft"          // Fraction of consumption bypasses the meter
	FaultStopped       FaultKind = "stopped"        // registers stop, current still flows
	FaultReverseWiring FaultKind = "reverse_wiring" // consumption registers as reverse energy
	FaultJump          FaultKind = "register_jump"  // forward register jumps up by Amount at Start
	FaultBackwards     FaultKind = "register_back"  // forward register goes down by Amount at Start
	FaultClockDrift    FaultKind = "clock_drift"    // clock drifts DriftPerDay seconds per day from Start
	FaultPhaseLoss     FaultKind = "phase_loss"     // Phase loses voltage; its energy is not registered
	FaultCoverOpen     FaultKind = "cover_open"     // meter cover opened at Start
	FaultMoved         FaultKind = "moved"          // from Start physically in area Area (archive unchanged)
	FaultBatteryLow    FaultKind = "battery_low"    // clock battery low from Start
)

// Wire behaviours (only stored; see Meter.Behaviour).
const (
	WireNoAnswer    FaultKind = "no_answer"    // never answers
	WireOffline     FaultKind = "offline"      // drops off the bus for a period
	WireSlow        FaultKind = "slow"         // answers after Delay
	WireCorrupt     FaultKind = "corrupt"      // Bytes bytes of each reply corrupted (with probability Rate)
	WireBadChecksum FaultKind = "bad_checksum" // replies carry a wrong CS (with probability Rate)
	WireNoise       FaultKind = "fe_noise"     // Bytes bytes of FE/noise preamble before replies
	// WireNoBlocks: the meter answers ERR "no requested data" to block
	// DIs (an FF byte: 0201FF00) but answers their members one by one
	// (02010100), as many field meters do.
	WireNoBlocks FaultKind = "no_blocks"
)

// IsWire reports whether k is a wire behaviour rather than a physical fault.
func (k FaultKind) IsWire() bool {
	switch k {
	case WireNoAnswer, WireOffline, WireSlow, WireCorrupt, WireBadChecksum, WireNoise, WireNoBlocks:
		return true
	}
	return false
}

func (k FaultKind) valid() bool {
	switch k {
	case FaultTheft, FaultStopped, FaultReverseWiring, FaultJump, FaultBackwards, FaultClockDrift,
		FaultPhaseLoss, FaultCoverOpen, FaultMoved, FaultBatteryLow:
		return true
	}
	return k.IsWire()
}

// Fault is a planted fault or wire behaviour of one meter, active from
// Start until End (zero End = for ever). One-off faults (register jump and
// backwards, cover open) happen at Start; physical faults take effect at the
// first 15-minute step boundary at or after their time.
type Fault struct {
	Kind        FaultKind
	Start       time.Time
	End         time.Time
	Fraction    float64       // theft: share of consumption not registered (0..1]
	Amount      int64         // jump/backwards: 0.01 kWh
	DriftPerDay float64       // clock drift: seconds per day (signed)
	Phase       int           // phase loss: 0 A, 1 B, 2 C
	Area        string        // moved: physical area ID
	Delay       time.Duration // slow
	Rate        float64       // corrupt, bad checksum: probability per reply (0 = always)
	Bytes       int           // corrupt: bytes corrupted; fe_noise: preamble length
}

func (f Fault) activeAt(t time.Time) bool {
	return !t.Before(f.Start) && (f.End.IsZero() || t.Before(f.End))
}

// Validate checks a config as New does, without building the fleet.
func (c Config) Validate() error {
	_, err := c.validate()
	return err
}

// validate checks a config and fills defaults; it returns a copy.
func (c Config) validate() (Config, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Zone == nil {
		c.Zone = DefaultZone
	}
	if c.Start.IsZero() {
		bad("start: must be set")
	}
	c.Start = c.Start.In(c.Zone)
	if c.Start.Truncate(Step) != c.Start || c.Start.Sub(time.Date(c.Start.Year(), c.Start.Month(), c.Start.Day(), 0, 0, 0, 0, c.Zone))%Step != 0 {
		bad("start: %s is not on a 15-minute boundary", c.Start.Format(time.RFC3339))
	}
	if c.TOU == nil {
		c.TOU = DefaultTOU()
	}
	if len(c.TOU) == 0 || c.TOU[0].Start != 0 {
		bad("tou: the first period must start at 00:00")
	}
	for i, p := range c.TOU {
		if p.Tariff < 1 || p.Tariff > 4 {
			bad("tou[%d].tariff: must be 1..4", i)
		}
		if p.Start < 0 || p.Start >= 24*time.Hour || p.Start%time.Minute != 0 {
			bad("tou[%d].start: must be a whole minute in 00:00..23:59", i)
		}
		if i > 0 && p.Start <= c.TOU[i-1].Start {
			bad("tou[%d].start: periods must be in increasing order", i)
		}
	}
	if c.Settlement.Day == 0 {
		c.Settlement.Day = 1
	}
	if c.Settlement.Day < 1 || c.Settlement.Day > 28 {
		bad("settlement.day: must be 1..28")
	}
	if c.Settlement.Hour < 0 || c.Settlement.Hour > 23 {
		bad("settlement.hour: must be 0..23")
	}
	c.Retention = c.Retention.withDefaults()
	if len(c.Areas) == 0 {
		bad("areas: at least one area is needed")
	}
	areaIDs := map[string]bool{}
	for _, a := range c.Areas {
		areaIDs[a.ID] = true
	}
	seen := map[string]string{}
	areas := make([]AreaConfig, len(c.Areas))
	for i, a := range c.Areas {
		p := fmt.Sprintf("areas[%d]", i)
		if a.ID == "" {
			bad("%s.id: must be set", p)
		}
		if a.TechLossPct < 0 || a.TechLossPct >= 50 {
			bad("%s.tech_loss_pct: must be in [0, 50)", p)
		}
		a.AreaMeter.Phases = 3
		if a.AreaMeter.CT == 0 {
			a.AreaMeter.CT = 1
		}
		check := func(mp string, m *MeterConfig, isArea bool) {
			if !validAddress(m.Address) {
				bad("%s.address: %q is not 12 decimal digits", mp, m.Address)
			} else if other, dup := seen[m.Address]; dup {
				bad("%s.address: %s duplicates %s", mp, m.Address, other)
			} else {
				seen[m.Address] = mp
			}
			if m.Edition == 0 {
				m.Edition = 2007
			}
			if m.Edition != 2007 && m.Edition != 1997 {
				bad("%s.edition: must be 2007 or 1997", mp)
			}
			if m.Phases == 0 {
				m.Phases = 1
			}
			if m.Phases != 1 && m.Phases != 3 {
				bad("%s.phases: must be 1 or 3", mp)
			}
			if m.CT == 0 {
				m.CT = 1
			}
			if m.PT == 0 {
				m.PT = 1
			}
			if m.CT < 0 {
				bad("%s.ct_ratio: must be > 0", mp)
			}
			if m.PT < 0 {
				bad("%s.pt_ratio: must be > 0", mp)
			}
			if m.DailyKWh < 0 || m.PVKW < 0 {
				bad("%s: daily energy and PV power must be >= 0", mp)
			}
			m.Faults = append([]Fault(nil), m.Faults...)
			for j, f := range m.Faults {
				fp := fmt.Sprintf("%s.faults[%d]", mp, j)
				switch {
				case !f.Kind.valid():
					bad("%s.kind: unknown fault kind %q", fp, f.Kind)
				case f.Start.IsZero():
					bad("%s.start: must be set", fp)
				case !f.End.IsZero() && !f.End.After(f.Start):
					bad("%s.end: must be after start", fp)
				case f.Kind == FaultTheft && (f.Fraction <= 0 || f.Fraction > 1):
					bad("%s.fraction: must be in (0, 1]", fp)
				case (f.Kind == FaultJump || f.Kind == FaultBackwards) && f.Amount <= 0:
					bad("%s.amount: must be > 0", fp)
				case f.Kind == FaultClockDrift && f.DriftPerDay == 0:
					bad("%s.drift: must not be 0", fp)
				case f.Kind == FaultPhaseLoss && (m.Phases != 3 || f.Phase < 0 || f.Phase > 2):
					bad("%s.phase: phase loss needs a three-phase meter and phase A, B or C", fp)
				case f.Kind == FaultMoved && !areaIDs[f.Area]:
					bad("%s.area: unknown area %q", fp, f.Area)
				case f.Kind == FaultMoved && isArea:
					bad("%s.kind: an area meter cannot be moved", fp)
				case f.Rate < 0 || f.Rate > 1:
					bad("%s.rate: must be in [0, 1]", fp)
				}
			}
		}
		check(p+".area_meter", &a.AreaMeter, true)
		a.Customers = append([]MeterConfig(nil), a.Customers...)
		for j := range a.Customers {
			check(fmt.Sprintf("%s.customers[%d]", p, j), &a.Customers[j], false)
		}
		areas[i] = a
	}
	for i := range c.Areas {
		for j := range c.Areas[:i] {
			if c.Areas[i].ID == c.Areas[j].ID && c.Areas[i].ID != "" {
				bad("areas[%d].id: duplicates areas[%d]", i, j)
			}
		}
	}
	c.Areas = areas
	return c, errors.Join(errs...)
}

func validAddress(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
