package campaign

import (
	_ "embed"
	"slices"
)

// demoYAML is a copy of shared/campaigns/demo.yaml.
//
//go:embed demo.yaml
var demoYAML []byte

// Demo returns the demo campaign file (the original platform's sample data set),
// a fresh copy on every call so callers may modify it.
func Demo() []byte { return slices.Clone(demoYAML) }
