//go:build !race

package analysistest

const raceOn = false
