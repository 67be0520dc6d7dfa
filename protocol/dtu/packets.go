package dtu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MaxConfiguredLen is the longest registration or heartbeat packet a DTU
// may be configured to send.
const MaxConfiguredLen = 256

// Packets are the registration and heartbeat packets one DTU is
// configured to send, as its user set them in the DTU's own tool: a string
// such as "REG 0001", or bytes such as the modem's IMEI. The zero Packets
// is the head-end's own format for the id given to [DefaultPackets].
type Packets struct {
	Register  []byte
	Heartbeat []byte // nil: the DTU sends no heartbeat packet of its own
}

// DefaultPackets returns "REG <id>\r\n" and "HB <id>\r\n".
func DefaultPackets(id string) (Packets, error) {
	reg, err := AppendRegistration(nil, id)
	if err != nil {
		return Packets{}, err
	}
	hb, _ := AppendHeartbeat(nil, id)
	return Packets{Register: reg, Heartbeat: hb}, nil
}

// ErrBadPacketConfig is wrapped by the errors of [ConfigPackets].
var ErrBadPacketConfig = errors.New("dtu: bad packet configuration")

// ConfigPackets builds a DTU's packets from its configuration fields: a
// packet as text (register, heartbeat; sent as written, with no CR LF
// added) or as hex bytes (register_hex, heartbeat_hex; spaces allowed, as
// in "38 36 30"). At most one of each pair may be set. With neither
// registration field set the packets are [DefaultPackets] of id; a
// heartbeat may be left out.
func ConfigPackets(id, register, registerHex, heartbeat, heartbeatHex string) (Packets, error) {
	reg, err := configPacket("register", register, registerHex)
	if err != nil {
		return Packets{}, err
	}
	hb, err := configPacket("heartbeat", heartbeat, heartbeatHex)
	if err != nil {
		return Packets{}, err
	}
	if reg == nil {
		def, err := DefaultPackets(id)
		if err != nil {
			return Packets{}, fmt.Errorf("%w: no register packet set and %q is no default id: %w", ErrBadPacketConfig, id, err)
		}
		reg = def.Register
		if hb == nil {
			hb = def.Heartbeat
		}
	}
	if hb != nil && (bytes.HasPrefix(reg, hb) || bytes.HasPrefix(hb, reg)) {
		return Packets{}, fmt.Errorf("%w: register and heartbeat packets must differ, and neither may begin the other", ErrBadPacketConfig)
	}
	return Packets{Register: reg, Heartbeat: hb}, nil
}

func configPacket(field, text, hexText string) ([]byte, error) {
	switch {
	case text != "" && hexText != "":
		return nil, fmt.Errorf("%w: %s and %s_hex are both set; set one", ErrBadPacketConfig, field, field)
	case text != "":
		if len(text) > MaxConfiguredLen {
			return nil, fmt.Errorf("%w: %s is %d bytes, at most %d", ErrBadPacketConfig, field, len(text), MaxConfiguredLen)
		}
		return []byte(text), nil
	case hexText != "":
		h := strings.Join(strings.Fields(hexText), "")
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("%w: %s_hex %q: %w", ErrBadPacketConfig, field, hexText, err)
		}
		if len(b) > MaxConfiguredLen {
			return nil, fmt.Errorf("%w: %s_hex is %d bytes, at most %d", ErrBadPacketConfig, field, len(b), MaxConfiguredLen)
		}
		return b, nil
	}
	return nil, nil
}

// Match looks for one of p's packets at the start of b. It returns the
// kind and length of the packet, ErrShort when b is a beginning of one
// (more bytes will tell), or ErrNotPacket.
func (p Packets) Match(b []byte) (Kind, int, error) {
	short := false
	for _, c := range [...]struct {
		k   Kind
		pkt []byte
	}{{Registration, p.Register}, {Heartbeat, p.Heartbeat}} {
		if len(c.pkt) == 0 {
			continue
		}
		if bytes.HasPrefix(b, c.pkt) {
			return c.k, len(c.pkt), nil
		}
		if len(b) < len(c.pkt) && bytes.HasPrefix(c.pkt, b) {
			short = true
		}
	}
	if short {
		return 0, 0, ErrShort
	}
	return 0, 0, ErrNotPacket
}

// Registry maps the registration packets of a set of DTUs to their ids.
// The zero Registry is empty; it is not safe for concurrent Add.
type Registry struct {
	byID map[string]Packets
	ids  []string // in order of Add
}

// Add registers DTU id with its packets. A registration packet that is
// another DTU's, or begins or is begun by one, is refused: the head-end
// could not tell the two apart.
func (r *Registry) Add(id string, p Packets) error {
	if len(p.Register) == 0 {
		return fmt.Errorf("%w: DTU %s has no register packet", ErrBadPacketConfig, id)
	}
	if r.byID == nil {
		r.byID = map[string]Packets{}
	}
	if _, ok := r.byID[id]; ok {
		return fmt.Errorf("%w: DTU %s added twice", ErrBadPacketConfig, id)
	}
	for _, o := range r.ids {
		q := r.byID[o].Register
		if bytes.HasPrefix(q, p.Register) || bytes.HasPrefix(p.Register, q) {
			return fmt.Errorf("%w: the register packet of DTU %s cannot be told from that of %s", ErrBadPacketConfig, id, o)
		}
	}
	r.byID[id] = p
	r.ids = append(r.ids, id)
	return nil
}

// Len returns the number of DTUs.
func (r *Registry) Len() int {
	if r == nil {
		return 0
	}
	return len(r.ids)
}

// Packets returns DTU id's packets.
func (r *Registry) Packets(id string) (Packets, bool) {
	if r == nil {
		return Packets{}, false
	}
	p, ok := r.byID[id]
	return p, ok
}

// Register looks for a registration packet at the start of b: the DTU's
// id and the packet's length, ErrShort while b may still become one, or
// ErrNotPacket. A default "REG <id>" packet of an id the Registry does not
// hold is returned too (the caller refuses the unknown id by name); one of
// an id configured with other packets is not.
func (r *Registry) Register(b []byte) (id string, n int, err error) {
	short := false
	if r != nil {
		for _, id := range r.ids {
			reg := r.byID[id].Register
			if bytes.HasPrefix(b, reg) {
				return id, len(reg), nil
			}
			if len(b) < len(reg) && bytes.HasPrefix(reg, b) {
				short = true
			}
		}
	}
	p, n, err := Parse(b)
	switch {
	case err == ErrShort || short && err == ErrNotPacket:
		return "", 0, ErrShort
	case err != nil:
		return "", n, err
	case p.Kind != Registration:
		return "", 0, ErrNotPacket
	}
	if _, ok := r.Packets(p.ID); ok {
		return "", 0, ErrNotPacket // configured otherwise: matched above if it were its packet
	}
	return p.ID, n, nil
}
