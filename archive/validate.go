package archive

import (
	"errors"
	"fmt"
	"github.com/headend/headend/protocol/gdw3761"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Validate checks the archive and returns every problem at once
// (errors.Join of [*FieldError]s, in archive order), each naming where it
// is: a missing or duplicate ID or address, a reference to an area,
// channel or concentrator that does not exist, a channel without the
// field its kind needs, a bad address, edition, role or ratio, a meter
// whose protocol does not fit its channel, and an area with more than one
// area meter. An area without an area meter is valid: its meters are read
// as any others, and only its balance (analysis/loss) is not computable,
// which the balance says. Zero channel settings and an empty edition or role
// count as their defaults. It returns nil for a valid archive.
func (a *Archive) Validate() error {
	var errs []error
	bad := func(w, field, format string, args ...any) {
		errs = append(errs, &FieldError{Where: w, Field: field, Reason: fmt.Sprintf(format, args...)})
	}

	areas := map[string]string{} // id -> where
	for i := range a.Areas {
		ar := &a.Areas[i]
		w := where(ar.Source, "areas", i, ar.ID)
		switch {
		case ar.ID == "":
			bad(w, "id", "must be set")
		case areas[ar.ID] != "":
			bad(w, "id", "duplicate area %s, also %s", ar.ID, areas[ar.ID])
		default:
			areas[ar.ID] = where(ar.Source, "areas", i, "")
		}
		if ar.CapacityKVA < 0 {
			bad(w, "capacity_kva", "%v: must be >= 0", ar.CapacityKVA)
		}
		checkPlace(ar.Lat, ar.Lon, func(field, reason string) { bad(w, field, "%s", reason) })
		if err := ar.SuspendedSince.check(); err != nil {
			bad(w, "suspended_since", "%v", err)
		}
	}

	channels := map[string]*Channel{}
	chanWhere := map[string]string{}
	dialIDs := map[string]string{}
	for i := range a.Channels {
		c := &a.Channels[i]
		w := where(c.Source, "channels", i, c.ID)
		switch {
		case c.ID == "":
			bad(w, "id", "must be set")
		case channels[c.ID] != nil:
			bad(w, "id", "duplicate channel %s, also %s", c.ID, chanWhere[c.ID])
		default:
			channels[c.ID] = c
			chanWhere[c.ID] = where(c.Source, "channels", i, "")
		}
		checkChannel(c, func(field, reason string) { bad(w, field, "%s", reason) })
		if c.Kind == KindGDW3761 && c.Terminal != "" {
			if ta, err := gdw3761.ParseAddress(c.Terminal); err == nil {
				if o, ok := dialIDs["gdw3761 "+ta.String()]; ok {
					bad(w, "terminal", "terminal %s is also that of %s", ta, o)
				}
				dialIDs["gdw3761 "+ta.String()] = where(c.Source, "channels", i, c.ID)
			}
		}
		if c.Kind == KindDialIn && c.DialInID != "" {
			if o, ok := dialIDs[c.DialInID]; ok {
				bad(w, "dialin_id", "%q is also the dial-in id of %s", c.DialInID, o)
			}
			dialIDs[c.DialInID] = where(c.Source, "channels", i, c.ID)
		}
	}

	concs := map[string]string{}
	owner := map[string]string{} // channel -> concentrator
	for i := range a.Concentrators {
		k := &a.Concentrators[i]
		w := where(k.Source, "concentrators", i, k.ID)
		switch {
		case k.ID == "":
			bad(w, "id", "must be set")
		case concs[k.ID] != "":
			bad(w, "id", "duplicate concentrator %s, also %s", k.ID, concs[k.ID])
		default:
			concs[k.ID] = where(k.Source, "concentrators", i, "")
		}
		switch {
		case k.Area == "":
			bad(w, "area", "must be set")
		case areas[k.Area] == "":
			bad(w, "area", "area %q does not exist", k.Area)
		}
		if len(k.Channels) == 0 {
			bad(w, "channels", "must list at least one channel")
		}
		checkPlace(k.Lat, k.Lon, func(field, reason string) { bad(w, field, "%s", reason) })
		for j, ch := range k.Channels {
			f := fmt.Sprintf("channels[%d]", j)
			switch {
			case channels[ch] == nil:
				bad(w, f, "channel %q does not exist", ch)
			case owner[ch] != "":
				bad(w, f, "channel %s already belongs to concentrator %s", ch, owner[ch])
			default:
				owner[ch] = k.ID
			}
		}
	}

	addrs := map[string]string{}
	units := map[string]map[int]string{}  // channel -> unit -> meter
	points := map[string]map[int]string{} // gdw3761 channel -> point -> meter
	areaMeters := map[string][]string{}
	for i := range a.Meters {
		m := &a.Meters[i]
		w := where(m.Source, "meters", i, m.Address)
		checkMeterFields(m, func(field, reason string) { bad(w, field, "%s", reason) })
		if m.Address != "" {
			if o, ok := addrs[m.Address]; ok {
				bad(w, "address", "duplicate meter address %s, also %s", m.Address, o)
			} else {
				addrs[m.Address] = where(m.Source, "meters", i, "")
			}
		}
		ch := channels[m.Channel]
		switch {
		case m.Channel == "":
			bad(w, "channel", "must be set")
		case ch == nil:
			bad(w, "channel", "channel %q does not exist", m.Channel)
		case m.Edition == EditionModbus && !ch.Kind.IsModbus():
			bad(w, "channel", "a Modbus meter on %s channel %s", ch.Kind, ch.ID)
		case m.Edition != EditionModbus && ch.Kind.IsModbus():
			bad(w, "channel", "a DL/T 645 meter on %s channel %s (edition modbus with a unit id?)", ch.Kind, ch.ID)
		}
		if ch != nil {
			checkPoint(m, ch, points, func(reason string) { bad(w, "point", "%s", reason) })
		}
		if ch != nil && m.Edition == EditionModbus && m.Unit > 0 {
			if units[ch.ID] == nil {
				units[ch.ID] = map[int]string{}
			}
			if o, ok := units[ch.ID][m.Unit]; ok {
				bad(w, "unit", "unit %d on channel %s is also meter %s", m.Unit, ch.ID, o)
			} else {
				units[ch.ID][m.Unit] = m.Address
			}
		}
		switch {
		case m.Area == "":
			bad(w, "area", "must be set")
		case areas[m.Area] == "":
			bad(w, "area", "area %q does not exist", m.Area)
		case m.Role == RoleArea:
			areaMeters[m.Area] = append(areaMeters[m.Area], m.Address)
		}
	}
	for i := range a.Areas {
		ar := &a.Areas[i]
		if ar.ID == "" {
			continue
		}
		w := where(ar.Source, "areas", i, ar.ID)
		// no area meter: a line of customer meters, read all the same;
		// only its balance needs one (loss.Area says so)
		switch n := len(areaMeters[ar.ID]); {
		case n > 1 && areas[ar.ID] == where(ar.Source, "areas", i, ""):
			bad(w, "", "%d area meters (%s), want one", n, strings.Join(areaMeters[ar.ID], ", "))
		}
	}
	meterArea := map[string]string{}
	for _, m := range a.Meters {
		if _, ok := meterArea[m.Address]; !ok {
			meterArea[m.Address] = m.Area
		}
	}
	for i := range a.Exchanges {
		e := &a.Exchanges[i]
		w := where(e.Source, "exchanges", i, e.OldMeter)
		checkExchange(e, func(field, reason string) { bad(w, field, "%s", reason) })
		if e.Area != "" && areas[e.Area] == "" {
			bad(w, "area", "area %q does not exist", e.Area)
		}
		if ma, ok := meterArea[e.NewMeter]; ok && e.Area != "" && ma != e.Area {
			bad(w, "new_meter", "meter %s is in area %s, not %s", e.NewMeter, ma, e.Area)
		}
	}
	return errors.Join(errs...)
}

var parities = map[string]bool{"E": true, "N": true, "O": true}

// checkChannel checks one channel's own fields.
func checkChannel(c *Channel, report func(field, reason string)) {
	need := func(field, v string) bool {
		if strings.TrimSpace(v) == "" {
			report(field, fmt.Sprintf("must be set for kind %s", c.Kind))
			return false
		}
		return true
	}
	hostport := func(field, v string) {
		if need(field, v) {
			if err := CheckHostPort(v, false); err != nil {
				report(field, err.Error())
			}
		}
	}
	switch c.Kind {
	case KindSerial, KindModbusRTU:
		need("device", c.Device)
	case KindTCP, KindModbusTCP, KindModbusRTUOverTCP:
		hostport("address", c.Address)
	case KindDialIn:
		need("dialin_id", c.DialInID)
		if c.DialInID != "" {
			if _, err := c.DTUPackets(); err != nil {
				report("register", err.Error())
			}
		}
	case KindGDW3761:
		if need("terminal", c.Terminal) {
			if _, err := gdw3761.ParseAddress(c.Terminal); err != nil {
				report("terminal", err.Error())
			}
		}
		switch c.Mode {
		case "", ModeForward, ModeCurrent, ModeFrozen:
		default:
			report("mode", fmt.Sprintf("%q: want forward, current or frozen", c.Mode))
		}
		if c.Heartbeat < 0 {
			report("heartbeat", fmt.Sprintf("%s: must be >= 0", c.Heartbeat))
		}
	case KindMQTT:
		if need("broker", c.Broker) {
			if err := CheckBrokerURL(c.Broker); err != nil {
				report("broker", err.Error())
			}
		}
		need("gateway", c.Gateway)
	case "":
		report("kind", "must be set (one of "+kindList()+")")
	default:
		report("kind", fmt.Sprintf("%q is not one of %s", c.Kind, kindList()))
	}
	if !c.Kind.IsSerial() && (c.Device != "" || c.Baud != 0 || c.Parity != "") && c.Kind != "" && knownKind(c.Kind) {
		report("device", fmt.Sprintf("serial settings on a %s channel", c.Kind))
	}
	if c.Baud != 0 && !slices.Contains(Bauds, c.Baud) {
		report("baud", fmt.Sprintf("%d: not a standard rate (%s)", c.Baud, baudList()))
	}
	if c.Parity != "" && !parities[c.Parity] {
		report("parity", fmt.Sprintf("%q: must be E, N or O", c.Parity))
	}
	if c.DataBits != 0 && c.DataBits != 7 && c.DataBits != 8 {
		report("data_bits", fmt.Sprintf("%d: must be 7 or 8", c.DataBits))
	} else if c.DataBits == 7 && c.Kind == KindModbusRTU {
		report("data_bits", "7: Modbus RTU has 8 data bits")
	}
	if c.StopBits != 0 && c.StopBits != 1 && c.StopBits != 2 {
		report("stop_bits", fmt.Sprintf("%d: must be 1 or 2", c.StopBits))
	}
	if c.Timeout < 0 {
		report("timeout", fmt.Sprintf("%s: must be > 0", c.Timeout))
	}
	if c.Gap < 0 {
		report("gap", fmt.Sprintf("%s: must be >= 0", c.Gap))
	}
	if c.Retries != nil && (*c.Retries < 0 || *c.Retries > 10) {
		report("retries", fmt.Sprintf("%d: must be 0..10", *c.Retries))
	}
}

// Bauds are the serial rates a channel may use.
var Bauds = []int{300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200}

func baudList() string {
	s := make([]string, len(Bauds))
	for i, b := range Bauds {
		s[i] = strconv.Itoa(b)
	}
	return strings.Join(s, ", ")
}

// CheckHostPort reports whether v is host:port with a port 1..65535, or
// 0..65535 when listen (0: any free port).
func CheckHostPort(v string, listen bool) error {
	_, p, err := net.SplitHostPort(v)
	if err != nil || p == "" {
		return fmt.Errorf("%q is not host:port", v)
	}
	lo := 1
	if listen {
		lo = 0
	}
	n, err := strconv.Atoi(p)
	if err != nil || strings.Trim(p, "0123456789") != "" || n < lo || n > 65535 {
		return fmt.Errorf("%q: port %s is not a number %d..65535", v, p, lo)
	}
	return nil
}

// CheckBrokerURL reports whether s is an MQTT broker URL with a host and,
// when it names one, a port 1..65535.
func CheckBrokerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || !brokerSchemes[u.Scheme] {
		return fmt.Errorf("%q is not a broker URL (tcp://, ssl://, tls://, ws://, wss://, mqtt://, mqtts://)", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || strings.Trim(p, "0123456789") != "" || n < 1 || n > 65535 {
			return fmt.Errorf("%q: port %s is not a number 1..65535", s, p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("%q: empty port", s)
	}
	return nil
}

var brokerSchemes = map[string]bool{"tcp": true, "ssl": true, "tls": true, "ws": true, "wss": true, "mqtt": true, "mqtts": true}

func knownKind(k ChannelKind) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// checkPoint checks a meter's measuring point number against its
// channel: 1..2040 and unique on a gdw3761 channel, required there in
// current and frozen mode, absent on other channels.
func checkPoint(m *Meter, ch *Channel, points map[string]map[int]string, bad func(string)) {
	switch {
	case ch.Kind != KindGDW3761:
		if m.Point != 0 {
			bad(fmt.Sprintf("%d: a measuring point only means something on a gdw3761 channel, not %s channel %s", m.Point, ch.Kind, ch.ID))
		}
		return
	case m.Point == 0 && ch.TerminalMode() != ModeForward:
		bad(fmt.Sprintf("must be set: channel %s reads its terminal's %s data by measuring point", ch.ID, ch.TerminalMode()))
		return
	case m.Point == 0:
		return
	case m.Point < 1 || m.Point > 2040:
		bad(fmt.Sprintf("%d: must be 1..2040", m.Point))
		return
	}
	if points[ch.ID] == nil {
		points[ch.ID] = map[int]string{}
	}
	if o, ok := points[ch.ID][m.Point]; ok {
		bad(fmt.Sprintf("point %d on channel %s is also meter %s", m.Point, ch.ID, o))
		return
	}
	points[ch.ID][m.Point] = m.Address
}
