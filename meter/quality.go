package meter

// Quality says how far a validated value may be trusted: what validation
// (VEE, analysis/vee) said of it.
//
// Its spelling is the constants' (estimated_interpolation); decoding also
// takes the hyphenated names line-loss results were stored with before
// (estimated-interpolation, estimated-profile). See [Quality.UnmarshalText].
type Quality string

// The qualities, from best to worst for billing: a valid or edited value
// may be billed, an estimated one is billed and flagged, a suspect one is
// held for a person, a failed one is not a value.
const (
	Valid                  Quality = "valid"                   // read and passed every check
	EstimatedInterpolation Quality = "estimated_interpolation" // filled by linear interpolation
	EstimatedProfile       Quality = "estimated_profile"       // filled from the meter's similar-day profile
	Edited                 Quality = "edited"                  // set by a person (see vee's Audit)
	Suspect                Quality = "suspect"                 // read, but a check failed
	FailedQuality          Quality = "failed"                  // no value: the read failed, or it is missing
)

// Usable reports whether a value of quality q may be used for billing or
// a balance: valid, edited and estimated values may; suspect, failed and
// unknown (also empty) ones may not.
func (q Quality) Usable() bool { return q == Valid || q == Edited || q.Estimated() }

// Estimated reports whether q is an estimate.
func (q Quality) Estimated() bool { return q == EstimatedInterpolation || q == EstimatedProfile }

// formerly are the spellings results were once stored with, and the
// quality each stands for.
var formerly = map[string]Quality{
	"estimated-interpolation": EstimatedInterpolation,
	"estimated-profile":       EstimatedProfile,
}

// UnmarshalText sets q from text, taking a former spelling for the
// quality it named: "estimated-interpolation" is EstimatedInterpolation.
// Any other text is kept as it is (an unknown quality is not usable).
func (q *Quality) UnmarshalText(text []byte) error {
	if was, ok := formerly[string(text)]; ok {
		*q = was
		return nil
	}
	*q = Quality(text)
	return nil
}
