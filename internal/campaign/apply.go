package campaign

import (
	"context"
	"errors"
	"fmt"
)

// ValidateBytes parses and validates a campaign file (YAML or JSON) and returns its
// problems; none means the file can be applied. A syntax or type error is one
// problem without a path, its message carrying the line and column. Every
// problem is located at its line and column in data (Problems.Locate).
func ValidateBytes(data []byte) Problems {
	_, ps := parseAndValidate(data)
	return ps.Locate(data)
}

// Apply parses and validates a campaign file and, only when it has no problems,
// writes it with store.Apply (all or nothing, upserts by id). A file with problems
// changes nothing: Apply returns them, located in data, with a nil error and
// never calls the store.
// A store failure is returned as the error, wrapped with the operation.
func Apply(ctx context.Context, store Store, data []byte) (Summary, Problems, error) {
	c, ps := parseAndValidate(data)
	if len(ps) > 0 {
		return Summary{}, ps.Locate(data), nil
	}
	sum, err := store.Apply(ctx, c)
	if err != nil {
		return Summary{}, nil, fmt.Errorf("apply campaign: %w", err)
	}
	return sum, nil, nil
}

// parseAndValidate turns bytes into a Campaign or the list of problems.
func parseAndValidate(data []byte) (*Campaign, Problems) {
	f, err := Parse(data)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return nil, Problems{{Message: pe.Detail(), Line: pe.Line, Column: pe.Column}}
		}
		return nil, Problems{{Message: err.Error()}}
	}
	return Validate(f)
}
