package gdw3761

import "github.com/headend/headend/protocol/dlt645"

// Decimal is the exact decimal the codec carries values in, shared with
// the DL/T 645 codec so that a read through a concentrator and a read of
// the meter itself are the same numbers.
type Decimal = dlt645.Decimal

// MeterAddress is a meter's communication address (format A.12), most
// significant byte first as in protocol/dlt645.
type MeterAddress = dlt645.Address

// Num is one number of a data unit. Missing is set when the terminal sent
// the EE filler ("no data", 无效数据) in its place; Value is then zero.
type Num struct {
	Value   Decimal
	Missing bool
}

func (n Num) String() string {
	if n.Missing {
		return "--"
	}
	return n.Value.String()
}

// N returns a present Num of units × 10^-scale, for tests and encoders.
func N(units int64, scale uint8) Num { return Num{Value: Decimal{Units: units, Scale: scale}} }
