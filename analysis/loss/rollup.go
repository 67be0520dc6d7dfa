package loss

// Level names what a roll-up groups by.
type Level string

// Roll-up levels (分线, 分压).
const (
	ByFeeder       Level = "feeder"
	ByVoltageLevel Level = "voltage_level"
)
