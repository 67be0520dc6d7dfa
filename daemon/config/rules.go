package config

// The analysis rules: analysis.vee, analysis.loss, analysis.anomaly and
// analysis.review, written in the file only (no environment variable or
// flag: they are nested lists and tables), each starting from its
// package's defaults.

import (
	"fmt"

	"github.com/headend/headend/analysis/vee"
	"go.yaml.in/yaml/v3"
)

// rules decodes the analysis rules over their defaults and validates
// them, reporting each problem at its file:line.
func (ld *loader) rules(doc *yaml.Node, cfg *Config) {
	an := child(doc, "analysis")
	if an == nil {
		return
	}
	a := &cfg.Analysis
	decode := func(key string, n *yaml.Node, into any) bool {
		if err := n.Decode(into); err != nil {
			ld.bad(fmt.Sprintf("%s:%d", ld.name, n.Line), "analysis."+key, "%v", err)
			return false
		}
		return true
	}
	if n := child(an, "vee"); n != nil {
		base := vee.DefaultSettings()
		if decode("vee", n, &a.VEE) {
			// each version written starts from the default settings: a
			// version gives only what it changes
			if vs := child(n, "versions"); vs != nil && vs.Kind == yaml.SequenceNode {
				a.VEE.Versions = a.VEE.Versions[:0]
				for i, item := range vs.Content {
					s := base
					if decode(fmt.Sprintf("vee.versions[%d]", i), item, &s) {
						a.VEE.Versions = append(a.VEE.Versions, s)
					}
				}
			}
			if err := a.VEE.Validate(); err != nil {
				ld.bad(ld.at("analysis.vee"), "analysis.vee", "%v", err)
			}
		}
	}
	if n := child(an, "loss"); n != nil && decode("loss", n, &a.Loss) {
		if err := a.Loss.Check(); err != nil {
			ld.bad(ld.at("analysis.loss"), "analysis.loss", "%v", err)
		}
	}
	if n := child(an, "anomaly"); n != nil && decode("anomaly", n, &a.Anomaly) {
		if child(n, "clock_tolerance") != nil {
			ld.bad(ld.at("analysis.anomaly.clock_tolerance"), "analysis.anomaly.clock_tolerance", "set analysis.clock_tolerance instead")
		}
	}
	a.Anomaly.ClockTolerance = a.ClockTolerance
	if n := child(an, "review"); n != nil {
		// the review rules are decoded by their user (analysis/review
		// imports this package's importers): kept as written
		b, err := yaml.Marshal(n)
		if err != nil {
			ld.bad(ld.at("analysis.review"), "analysis.review", "%v", err)
			return
		}
		a.Review = string(b)
		if ReviewCheck != nil {
			if err := ReviewCheck(a.Review); err != nil {
				ld.bad(ld.at("analysis.review"), "analysis.review", "%v", err)
			}
		}
	}
}

// ReviewCheck, if set, validates analysis.review as written (the daemon
// sets it to decoding it into review.Config), so that Load reports a bad
// rule at its line.
var ReviewCheck func(yamlText string) error
