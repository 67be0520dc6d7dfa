package meter

// Quality says how far a validated value may be trusted: what validation
// (VEE, analysis/vee) said of it.
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
