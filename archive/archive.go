// Package archive holds the head-end's archive (档案): the transformer
// areas, the concentrators serving them, the channels (one half-duplex bus
// each, and how the head-end reaches it) and the meters with their
// relations (line → area → meter), roles and multipliers.
//
// The types are plain data with yaml tags, so an archive can be written
// inline in a configuration file; meters can also be exchanged as CSV
// ([ReadMetersCSV], [WriteMetersCSV]), the form utilities export them in.
// [Archive.Validate] reports every problem at once, each naming where it
// is; [Archive.Index] answers the lookups the collector and the loss
// analysis need.
//
// Besides the relations, the archive keeps what the review rules and
// archive checks (analysis/review) look at: positions, the multiplier
// stored for billing, verification and rotation dates and the outcome of
// the last accuracy test of each meter, the day a transformer was
// suspended, and the meter exchanges on record ([Exchange], also as CSV:
// [ReadExchangesCSV], read from archive.exchanges_csv and written by
// "headend archive export --exchanges"). [Diff] tells what an edit
// changed and [ChangeLog] keeps who changed what, when, before and after.
package archive

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// Archive is the whole archive. Order is kept as given: it is the order
// of allocation (and of Modbus unit ids) and of reports.
type Archive struct {
	Areas         []Area         `yaml:"areas"`
	Concentrators []Concentrator `yaml:"concentrators"`
	Channels      []Channel      `yaml:"channels"`
	Meters        []Meter        `yaml:"meters"`
	// Exchanges are the meter exchanges (换表) on record, each with the
	// old meter's removal reading and the new meter's installation
	// reading.
	Exchanges []Exchange `yaml:"exchanges"`
}

// Area is a transformer area (台区).
type Area struct {
	ID           string  `yaml:"id"`
	Name         string  `yaml:"name"`
	Feeder       string  `yaml:"feeder"`        // feeder line (线路)
	VoltageLevel string  `yaml:"voltage_level"` // e.g. "10kV/0.4kV"
	CapacityKVA  float64 `yaml:"capacity_kva"`  // transformer capacity; 0 = unknown
	Responsible  string  `yaml:"responsible"`   // person assessed for the area's loss; optional
	// SuspendedSince is the day the transformer was taken out of service
	// (停运); zero = in service.
	SuspendedSince Date    `yaml:"suspended_since"`
	Lat            float64 `yaml:"lat"` // the transformer's position (WGS 84); 0, 0 = unknown
	Lon            float64 `yaml:"lon"`

	Source string `yaml:"-"` // where it was read from, for messages; empty = "areas[i]"
}

// Concentrator is a concentrator (集中器) or gateway: it serves an area
// and owns one or more channels.
type Concentrator struct {
	ID       string   `yaml:"id"`
	Area     string   `yaml:"area"`
	Channels []string `yaml:"channels"` // channel IDs
	Lat      float64  `yaml:"lat"`      // where it hangs (WGS 84); 0, 0 = unknown
	Lon      float64  `yaml:"lon"`

	Source string `yaml:"-"`
}

// ChannelKind is how the head-end reaches a bus.
type ChannelKind string

// The channel kinds.
const (
	KindSerial    ChannelKind = "serial"     // a local serial port (RS-485 adapter)
	KindTCP       ChannelKind = "tcp"        // dial out to a concentrator port or serial server
	KindDialIn    ChannelKind = "dialin"     // the concentrator dials in and registers with "REG <id>"
	KindMQTT      ChannelKind = "mqtt"       // a gateway on an MQTT broker
	KindModbusTCP ChannelKind = "modbus-tcp" // Modbus TCP gateway
	KindModbusRTU ChannelKind = "modbus-rtu" // Modbus RTU on a serial port
	// Modbus RTU frames (CRC and all) through TCP to a serial server or a
	// DTU in transparent mode
	KindModbusRTUOverTCP ChannelKind = "modbus-rtu-over-tcp"
	KindGDW3761          ChannelKind = "gdw3761" // a Q/GDW 1376.1 concentrator or terminal that dials in and logs in
)

// Kinds lists the channel kinds.
var Kinds = []ChannelKind{KindSerial, KindTCP, KindDialIn, KindMQTT, KindModbusTCP, KindModbusRTU, KindModbusRTUOverTCP, KindGDW3761}

// IsModbus reports whether the channel speaks Modbus rather than DL/T 645.
func (k ChannelKind) IsModbus() bool {
	return k == KindModbusTCP || k == KindModbusRTU || k == KindModbusRTUOverTCP
}

// IsSerial reports whether the channel is a local serial port.
func (k ChannelKind) IsSerial() bool { return k == KindSerial || k == KindModbusRTU }

// Channel defaults (zero fields are filled by [Archive.ApplyDefaults]).
const (
	DefaultBaud       = 2400 // DL/T 645-2007 meters; 1997 meters often 1200
	DefaultModbusBaud = 9600
	DefaultParity     = "E"
	DefaultDataBits   = 8
	DefaultStopBits   = 1
	DefaultTimeout    = 2 * time.Second
	DefaultGap        = 50 * time.Millisecond
	DefaultRetries    = 2
)

// Channel is one half-duplex bus and the way to it. One transaction is on
// a channel at a time; Timeout, Gap and Retries time them.
type Channel struct {
	ID   string      `yaml:"id"`
	Kind ChannelKind `yaml:"kind"`

	// serial, modbus-rtu
	Device   string `yaml:"device"`
	Baud     int    `yaml:"baud"`      // default 2400 (serial), 9600 (modbus-rtu)
	Parity   string `yaml:"parity"`    // E, N or O; default E (serial), N (modbus-rtu)
	DataBits int    `yaml:"data_bits"` // 7 or 8; default 8
	StopBits int    `yaml:"stop_bits"` // 1 or 2; default 1

	// tcp, modbus-tcp, modbus-rtu-over-tcp: host:port to dial
	Address string `yaml:"address"`

	// dialin: the identity the concentrator registers with ("REG <id>")
	DialInID string `yaml:"dialin_id"`
	// dialin: the packets the DTU is configured to send, as text or as
	// hex bytes (e.g. its IMEI); unset: "REG <dialin_id>" and
	// "HB <dialin_id>" (see dtu.ConfigPackets and Channel.DTUPackets)
	Register        string `yaml:"register"`
	RegisterHex     string `yaml:"register_hex"`
	HeartbeatPacket string `yaml:"heartbeat_packet"`
	HeartbeatHex    string `yaml:"heartbeat_hex"`

	// gdw3761: the terminal's address as it logs in, area code A1 and
	// terminal address A2 ("4401 0001"); how its meters are read (Mode:
	// forward, current or frozen; empty is forward); the heartbeat
	// interval it is configured with (0: 60 s)
	Terminal  string        `yaml:"terminal"`
	Mode      string        `yaml:"mode"`
	Heartbeat time.Duration `yaml:"heartbeat"`

	// mqtt
	Broker    string `yaml:"broker"`     // URL, e.g. tcp://host:1883
	Gateway   string `yaml:"gateway"`    // gateway id
	TopicDown string `yaml:"topic_down"` // optional; default decided by the link
	TopicUp   string `yaml:"topic_up"`   // optional
	// for a tls://, ssl:// or mqtts:// broker: the CA of its certificate
	// (empty: the system's roots), a client certificate and key if it
	// asks for one; PEM files
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`

	// timing
	Timeout time.Duration `yaml:"timeout"` // per request; default 2s
	Gap     time.Duration `yaml:"gap"`     // quiet time between transactions; default 50ms
	Retries *int          `yaml:"retries"` // after the first attempt; nil = default 2

	Source string `yaml:"-"`
}

// The modes of a gdw3761 channel.
const (
	ModeForward = "forward" // AFN 10 F1: the 645 reads forwarded to each meter
	ModeCurrent = "current" // AFN 0C: the terminal's current data of many points per request
	ModeFrozen  = "frozen"  // AFN 0D: the terminal's daily and monthly freezes of many points per request
)

// TerminalMode is Mode, forward when empty.
func (c *Channel) TerminalMode() string {
	if c.Mode == "" {
		return ModeForward
	}
	return c.Mode
}

// RetryCount is Retries, or the default when unset.
func (c *Channel) RetryCount() int {
	if c.Retries == nil {
		return DefaultRetries
	}
	return *c.Retries
}

// Edition is the protocol a meter is read with.
type Edition string

// The editions.
const (
	Edition2007   Edition = "2007"
	Edition1997   Edition = "1997"
	EditionModbus Edition = "modbus"
)

// DLT645 returns the DL/T 645 edition, false for Modbus meters.
func (e Edition) DLT645() (dlt645.Edition, bool) {
	switch e {
	case Edition2007:
		return dlt645.DLT2007, true
	case Edition1997:
		return dlt645.DLT1997, true
	}
	return 0, false
}

// ParseEdition accepts 2007, 1997 and modbus (any case, and the DL/T
// 645 full names); empty is 2007.
func ParseEdition(s string) (Edition, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "2007", "dl/t645-2007", "dlt645-2007", "645-2007":
		return Edition2007, nil
	case "1997", "dl/t645-1997", "dlt645-1997", "645-1997":
		return Edition1997, nil
	case "modbus":
		return EditionModbus, nil
	}
	return "", fmt.Errorf("unknown edition %q (want 2007, 1997 or modbus)", s)
}

// Role is what a meter measures for the loss balance.
type Role string

// The roles.
const (
	// RoleArea is the area's total meter (台区总表): its forward energy
	// is the area's supply, its reverse energy sales upstream.
	RoleArea Role = "area"
	// RoleCustomer is a consumer's meter: its forward energy is sales;
	// reverse energy on it is an anomaly.
	RoleCustomer Role = "customer"
	// RolePV is a customer meter with generation (net metering): forward
	// energy is sales, reverse energy (export) is supply.
	RolePV Role = "pv"
)

// ParseRole accepts area, customer and pv (any case, and 总表, 户表,
// 光伏); empty is customer.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "customer", "户表":
		return RoleCustomer, nil
	case "area", "总表", "考核表":
		return RoleArea, nil
	case "pv", "光伏":
		return RolePV, nil
	}
	return "", fmt.Errorf("unknown role %q (want area, customer or pv)", s)
}

// Meter is one meter in the archive.
type Meter struct {
	Address      string  `yaml:"address"` // 12 decimal digits
	Edition      Edition `yaml:"edition"` // 2007, 1997 or modbus
	Unit         int     `yaml:"unit"`    // Modbus unit id 1..247; Modbus meters only
	Channel      string  `yaml:"channel"`
	Area         string  `yaml:"area"`
	Role         Role    `yaml:"role"`
	Customer     string  `yaml:"customer"`      // customer id; optional
	CustomerName string  `yaml:"customer_name"` // optional
	CT           int     `yaml:"ct"`            // current transformer ratio, > 0
	PT           int     `yaml:"pt"`            // voltage transformer ratio, > 0
	Tariff       string  `yaml:"tariff"`        // tariff class; optional

	// The optional fields (CSV columns of the same names).
	Lat float64 `yaml:"lat"` // where it is (WGS 84); 0, 0 = unknown
	Lon float64 `yaml:"lon"`
	// Multiplier is the multiplier the archive stores for billing; 0 =
	// CT × PT. One that is not CT × PT is an archive error the checks
	// report (the loss balance uses CT × PT).
	Multiplier int `yaml:"multiplier"`
	// VerifiedOn is the meter's last verification (检定); it is due
	// again VerifyMonths later (0: no period on record).
	VerifiedOn   Date `yaml:"verified_on"`
	VerifyMonths int  `yaml:"verify_months"`
	// RotationDue is when the meter is due to be rotated out (轮换).
	RotationDue Date `yaml:"rotation_due"`
	// Tolerance is the outcome of its last accuracy test: "" (none on
	// record), "ok" or "out_of_tolerance".
	Tolerance Accuracy `yaml:"accuracy"`
	// CTVerifiedOn and CTVerifyMonths are the same for the meter's
	// current transformers (area and large customers' meters).
	CTVerifiedOn   Date `yaml:"ct_verified_on"`
	CTVerifyMonths int  `yaml:"ct_verify_months"`
	// Point is the meter's measuring point number (测量点号) in its
	// terminal's archive, 1..2040; meters on gdw3761 channels read in
	// current or frozen mode need one, others have none (0).
	Point int `yaml:"point"`

	Source string `yaml:"-"` // e.g. "D01.csv:5"; empty = "meters[i]"
}

// Ratio is CT × PT: primary energy = register delta × Ratio.
func (m *Meter) Ratio() int { return m.CT * m.PT }

// BillingMultiplier is the stored Multiplier, or CT × PT when none is
// stored.
func (m *Meter) BillingMultiplier() int {
	if m.Multiplier != 0 {
		return m.Multiplier
	}
	return m.Ratio()
}

// VerifyDue is when the meter's next verification is due: VerifiedOn +
// VerifyMonths; zero when either is not on record.
func (m *Meter) VerifyDue() Date {
	if m.VerifiedOn.IsZero() || m.VerifyMonths <= 0 {
		return Date{}
	}
	return m.VerifiedOn.AddMonths(m.VerifyMonths)
}

// CTVerifyDue is the same for the meter's current transformers.
func (m *Meter) CTVerifyDue() Date {
	if m.CTVerifiedOn.IsZero() || m.CTVerifyMonths <= 0 {
		return Date{}
	}
	return m.CTVerifiedOn.AddMonths(m.CTVerifyMonths)
}

// Accuracy is the outcome of a meter's last accuracy test.
type Accuracy string

// The accuracy outcomes.
const (
	AccuracyUnknown Accuracy = ""                 // none on record
	AccuracyOK      Accuracy = "ok"               // within its class
	OutOfTolerance  Accuracy = "out_of_tolerance" // beyond its class: replace or recalibrate
)

// ParseAccuracy accepts "", ok and out_of_tolerance (any case; also
// "out of tolerance", 合格, 超差).
func ParseAccuracy(s string) (Accuracy, error) {
	switch strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(s))) {
	case "":
		return AccuracyUnknown, nil
	case "ok", "pass", "合格":
		return AccuracyOK, nil
	case "out_of_tolerance", "fail", "超差":
		return OutOfTolerance, nil
	}
	return "", fmt.Errorf("unknown accuracy %q (want ok or out_of_tolerance)", s)
}

// MaxMultiplier bounds a stored multiplier (the largest CT × PT).
const MaxMultiplier = MaxRatio * MaxRatio

// MaxVerifyMonths bounds a verification period (50 years).
const MaxVerifyMonths = 600

// MaxRatio bounds CT and PT ratios (a 220 kV PT is 2200).
const MaxRatio = 100000

// ApplyDefaults fills zero channel settings with the defaults, and an
// empty meter edition or role with 2007 or customer.
func (a *Archive) ApplyDefaults() {
	for i := range a.Channels {
		c := &a.Channels[i]
		if c.Kind.IsSerial() {
			if c.Baud == 0 {
				c.Baud = DefaultBaud
				if c.Kind == KindModbusRTU {
					c.Baud = DefaultModbusBaud
				}
			}
			if c.Parity == "" {
				c.Parity = DefaultParity
				if c.Kind == KindModbusRTU {
					c.Parity = "N"
				}
			}
			if c.DataBits == 0 {
				c.DataBits = DefaultDataBits
			}
			if c.StopBits == 0 {
				c.StopBits = DefaultStopBits
			}
		}
		if c.Timeout == 0 {
			c.Timeout = DefaultTimeout
		}
		if c.Gap == 0 {
			c.Gap = DefaultGap
		}
		if c.Retries == nil {
			r := DefaultRetries
			c.Retries = &r
		}
	}
	for i := range a.Meters {
		m := &a.Meters[i]
		if m.Edition == "" {
			m.Edition = Edition2007
		}
		if m.Role == "" {
			m.Role = RoleCustomer
		}
	}
}

// FieldError is one validation problem: where (a file position or a
// path such as "meters[3]"), the field and the reason.
type FieldError struct {
	Where  string
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Where + ": " + e.Reason
	}
	return e.Where + ": " + e.Field + ": " + e.Reason
}

func where(source, path string, i int, id string) string {
	w := source
	if w == "" {
		w = fmt.Sprintf("%s[%d]", path, i)
	}
	if id != "" {
		w += " (" + id + ")"
	}
	return w
}

// CheckAddress reports whether s is a meter address the archive accepts:
// 12 decimal digits, not broadcast, no wildcard.
func CheckAddress(s string) error {
	if len(s) != 12 {
		return fmt.Errorf("%q is not a 12-digit address", s)
	}
	a, err := dlt645.ParseAddress(s)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "dlt645: "))
	}
	if a.HasWildcard() || a.IsBroadcast() {
		return fmt.Errorf("%q is a broadcast or wildcard address", s)
	}
	return nil
}

// NormalizeAddress pads a short address with leading zeros (spreadsheets
// drop them) and checks it with [CheckAddress].
func NormalizeAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty address")
	}
	a, err := dlt645.ParseAddress(s)
	if err != nil {
		return "", errors.New(strings.TrimPrefix(err.Error(), "dlt645: "))
	}
	n := a.String()
	if err := CheckAddress(n); err != nil {
		return "", err
	}
	return n, nil
}

// checkMeterFields checks a meter's own fields (no cross references);
// report is called with the field name and the reason. An empty edition
// or role stands for the default.
func checkMeterFields(m *Meter, report func(field, reason string)) {
	if err := CheckAddress(m.Address); err != nil {
		report("address", err.Error())
	}
	switch m.Edition {
	case "", Edition2007, Edition1997:
		if m.Unit != 0 {
			report("unit", "a unit id is for Modbus meters only")
		}
	case EditionModbus:
		if m.Unit < 1 || m.Unit > 247 {
			report("unit", fmt.Sprintf("%d is not a Modbus unit id 1..247", m.Unit))
		}
	default:
		report("edition", fmt.Sprintf("unknown edition %q (want 2007, 1997 or modbus)", m.Edition))
	}
	switch m.Role {
	case "", RoleArea, RoleCustomer, RolePV:
	default:
		report("role", fmt.Sprintf("unknown role %q (want area, customer or pv)", m.Role))
	}
	if m.CT <= 0 || m.CT > MaxRatio {
		report("ct", fmt.Sprintf("%d: must be 1..%d", m.CT, MaxRatio))
	}
	if m.PT <= 0 || m.PT > MaxRatio {
		report("pt", fmt.Sprintf("%d: must be 1..%d", m.PT, MaxRatio))
	}
	checkPlace(m.Lat, m.Lon, report)
	if m.Multiplier < 0 || m.Multiplier > MaxMultiplier {
		report("multiplier", fmt.Sprintf("%d: must be 1..%d (or empty for CT × PT)", m.Multiplier, MaxMultiplier))
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"verify_months", m.VerifyMonths}, {"ct_verify_months", m.CTVerifyMonths}} {
		if f.n < 0 || f.n > MaxVerifyMonths {
			report(f.name, fmt.Sprintf("%d: must be 1..%d months (or empty)", f.n, MaxVerifyMonths))
		}
	}
	for _, f := range []struct {
		name string
		d    Date
	}{{"verified_on", m.VerifiedOn}, {"rotation_due", m.RotationDue}, {"ct_verified_on", m.CTVerifiedOn}} {
		if err := f.d.check(); err != nil {
			report(f.name, err.Error())
		}
	}
	switch m.Tolerance {
	case AccuracyUnknown, AccuracyOK, OutOfTolerance:
	default:
		report("accuracy", fmt.Sprintf("unknown accuracy %q (want ok or out_of_tolerance)", m.Tolerance))
	}
}

// checkPlace checks a position: latitude −90..90, longitude −180..180.
func checkPlace(lat, lon float64, report func(field, reason string)) {
	if !(lat >= -90 && lat <= 90) {
		report("lat", fmt.Sprintf("%v: must be -90..90", lat))
	}
	if !(lon >= -180 && lon <= 180) {
		report("lon", fmt.Sprintf("%v: must be -180..180", lon))
	}
}
