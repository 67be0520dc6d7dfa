package archive

import "github.com/headend/headend/protocol/dtu"

// DTUPackets returns the registration and heartbeat packets of a dial-in
// channel's DTU, from its register, register_hex, heartbeat_packet and
// heartbeat_hex fields.
func (c *Channel) DTUPackets() (dtu.Packets, error) {
	return dtu.ConfigPackets(c.DialInID, c.Register, c.RegisterHex, c.HeartbeatPacket, c.HeartbeatHex)
}
