package campaign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// ErrParse is wrapped by every error Parse returns.
var ErrParse = errors.New("campaign: cannot parse file")

// File is a campaign file as written: the raw rows, before validation. Its `yaml`
// tags are the file's keys (see shared/campaigns/demo.yaml); its `json` tags are the
// same keys, so the JSON form of a campaign file has the same structure. Validate
// turns a File into a Campaign.
type File struct {
	Version    int           `yaml:"version" json:"version"`
	Timezone   string        `yaml:"timezone,omitempty" json:"timezone,omitempty"` // empty means the server's time zone
	Awards     []AwardRow    `yaml:"awards,omitempty" json:"awards,omitempty"`
	Trees      []TreeRow     `yaml:"rule_trees,omitempty" json:"rule_trees,omitempty"`
	Strategies []StrategyRow `yaml:"strategies,omitempty" json:"strategies,omitempty"`
	Activities []ActivityRow `yaml:"activities,omitempty" json:"activities,omitempty"`
	Counts     []CountRow    `yaml:"counts,omitempty" json:"counts,omitempty"`
	SKUs       []SKURow      `yaml:"skus,omitempty" json:"skus,omitempty"`
	Rebates    []RebateRow   `yaml:"rebates,omitempty" json:"rebates,omitempty"`
	Stages     []StageRow    `yaml:"stages,omitempty" json:"stages,omitempty"`
	Grants     []GrantRow    `yaml:"grants,omitempty" json:"grants,omitempty"`
}

// AwardRow is one prize kind: how it is delivered (key) and with what parameter.
type AwardRow struct {
	ID     int64  `yaml:"id" json:"id"`
	Key    string `yaml:"key" json:"key"`
	Config Scalar `yaml:"config,omitempty" json:"config,omitempty"`
	Desc   string `yaml:"desc,omitempty" json:"desc,omitempty"`
}

// TreeRow is a rule tree: its nodes and the lines between them.
type TreeRow struct {
	ID    string    `yaml:"id" json:"id"`
	Name  string    `yaml:"name,omitempty" json:"name,omitempty"`
	Desc  string    `yaml:"desc,omitempty" json:"desc,omitempty"`
	Root  string    `yaml:"root" json:"root"`
	Nodes []NodeRow `yaml:"nodes,omitempty" json:"nodes,omitempty"`
	Lines []LineRow `yaml:"lines,omitempty" json:"lines,omitempty"`
}

// NodeRow is one node of a rule tree; Value is empty for rule_stock.
type NodeRow struct {
	Key   string `yaml:"key" json:"key"`
	Value Scalar `yaml:"value,omitempty" json:"value,omitempty"`
	Desc  string `yaml:"desc,omitempty" json:"desc,omitempty"`
}

// LineRow leads from node From to node To when From answers When (ALLOW or
// TAKE_OVER).
type LineRow struct {
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
	When string `yaml:"when" json:"when"`
}

// StrategyRow is a prize table with its strategy-level rules. An empty
// WeightMatch means "equal".
type StrategyRow struct {
	ID          int64              `yaml:"id" json:"id"`
	Desc        string             `yaml:"desc,omitempty" json:"desc,omitempty"`
	WeightMatch string             `yaml:"weight_match,omitempty" json:"weight_match,omitempty"`
	Rules       []RuleRow          `yaml:"rules,omitempty" json:"rules,omitempty"`
	Awards      []StrategyAwardRow `yaml:"awards,omitempty" json:"awards,omitempty"`
}

// RuleRow is one strategy-level rule (rule_blacklist or rule_weight), in chain
// order.
type RuleRow struct {
	Model string `yaml:"model" json:"model"`
	Value Scalar `yaml:"value" json:"value"`
	Desc  string `yaml:"desc,omitempty" json:"desc,omitempty"`
}

// StrategyAwardRow is one row of a strategy's prize table. An empty Tree means the
// award runs no rule tree.
type StrategyAwardRow struct {
	Award    int64  `yaml:"award" json:"award"`
	Title    string `yaml:"title,omitempty" json:"title,omitempty"`
	Subtitle string `yaml:"subtitle,omitempty" json:"subtitle,omitempty"`
	Count    int64  `yaml:"count" json:"count"`
	Rate     Scalar `yaml:"rate" json:"rate"`
	Tree     string `yaml:"tree,omitempty" json:"tree,omitempty"`
	Sort     int    `yaml:"sort" json:"sort"`
	// Image is optional: a path on the server's own origin ("/img/x.png") or a
	// data: URL of an image; never another host.
	Image string `yaml:"image,omitempty" json:"image,omitempty"`
}

// ActivityRow is a raffle activity. Begin and End are RFC 3339 times.
type ActivityRow struct {
	ID       int64  `yaml:"id" json:"id"`
	Name     string `yaml:"name,omitempty" json:"name,omitempty"`
	Desc     string `yaml:"desc,omitempty" json:"desc,omitempty"`
	Strategy int64  `yaml:"strategy" json:"strategy"`
	State    string `yaml:"state" json:"state"`
	Begin    string `yaml:"begin" json:"begin"`
	End      string `yaml:"end" json:"end"`
}

// CountRow is a quota package: draws added in total, per day and per month.
type CountRow struct {
	ID    int64 `yaml:"id" json:"id"`
	Total int64 `yaml:"total" json:"total"`
	Day   int64 `yaml:"day" json:"day"`
	Month int64 `yaml:"month" json:"month"`
}

// SKURow is a purchasable quota package of an activity; Price is in credits.
type SKURow struct {
	SKU      int64  `yaml:"sku" json:"sku"`
	Activity int64  `yaml:"activity" json:"activity"`
	Count    int64  `yaml:"count" json:"count"`
	Stock    int64  `yaml:"stock" json:"stock"`
	Price    Scalar `yaml:"price" json:"price"`
}

// RebateRow is what a behaviour earns. A zero ID is assigned by Validate: the
// row's 1-based position in the file.
type RebateRow struct {
	ID       int64  `yaml:"id,omitempty" json:"id,omitempty"`
	Behavior string `yaml:"behavior" json:"behavior"`
	Type     string `yaml:"type" json:"type"`
	Config   Scalar `yaml:"config" json:"config"`
	Desc     string `yaml:"desc,omitempty" json:"desc,omitempty"`
	State    string `yaml:"state" json:"state"`
}

// StageRow says which activity a channel/source pair shows. A zero ID is
// assigned by Validate: the row's 1-based position in the file.
type StageRow struct {
	ID       int64  `yaml:"id,omitempty" json:"id,omitempty"`
	Channel  string `yaml:"channel" json:"channel"`
	Source   string `yaml:"source" json:"source"`
	Activity int64  `yaml:"activity" json:"activity"`
	State    string `yaml:"state" json:"state"`
}

// GrantRow gives a user draws on an activity directly, idempotent by ID.
type GrantRow struct {
	ID       string `yaml:"id" json:"id"`
	User     string `yaml:"user" json:"user"`
	Activity int64  `yaml:"activity" json:"activity"`
	Total    int64  `yaml:"total" json:"total"`
	Day      int64  `yaml:"day" json:"day"`
	Month    int64  `yaml:"month" json:"month"`
}

// Scalar is a scalar field kept exactly as written: a string's value, or the
// literal text of a number or boolean ("0.10" stays "0.10"; it never goes through
// float64). Rates, prices, award and rebate configs and rule values are Scalars.
// The zero value is the empty (or absent, or null) scalar.
type Scalar string

// UnmarshalYAML reads the scalar's literal text from the YAML (or JSON) node. A
// mapping or sequence returns an error with the node's position.
func (s *Scalar) UnmarshalYAML(node ast.Node) error {
	for {
		switch n := node.(type) {
		case *ast.TagNode:
			node = n.Value
			continue
		case *ast.NullNode:
			*s = ""
		case *ast.StringNode:
			*s = Scalar(n.Value)
		case *ast.LiteralNode:
			*s = Scalar(n.Value.Value)
		case ast.ScalarNode:
			*s = Scalar(n.GetToken().Value)
		default:
			pe := &ParseError{Message: "want a scalar (string or number)"}
			if node != nil {
				if tk := node.GetToken(); tk != nil && tk.Position != nil {
					pe.Line, pe.Column = tk.Position.Line, tk.Position.Column
				}
			}
			return pe
		}
		return nil
	}
}

// UnmarshalJSON reads a JSON string's value or a JSON number's literal text, for
// callers that decode a File with encoding/json.
func (s *Scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = Scalar(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("campaign: want a string or a number, got %s", b)
	}
	*s = Scalar(n)
	return nil
}

// ParseError is a syntax or type error in a campaign file, with the position the
// parser reported (Line and Column are 0 when it gave none).
type ParseError struct {
	Line    int
	Column  int
	Message string
}

// Error formats the error as "campaign: cannot parse file: line L, column C: message".
func (e *ParseError) Error() string {
	return ErrParse.Error() + ": " + e.Detail()
}

// Detail formats the position and message without the package prefix.
func (e *ParseError) Detail() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
	}
	return e.Message
}

// Unwrap lets errors.Is(err, ErrParse) match.
func (e *ParseError) Unwrap() error { return ErrParse }

// Parse reads a campaign file in YAML or JSON (JSON is read as YAML). Unknown keys,
// duplicate keys, wrong types and syntax errors return a *ParseError (wrapping
// ErrParse) with the line and column where the parser gives them; so does a panic
// inside the YAML parser, which Parse recovers. Parse checks only the shape;
// Validate checks the content.
func Parse(data []byte) (f *File, err error) {
	// The file comes from operators and the admin API: a parser bug must not take
	// the process down.
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, &ParseError{Message: fmt.Sprintf("parser failure: %v", r)}
		}
	}()
	return parse(data)
}

func parse(data []byte) (*File, error) {
	var f File
	err := yaml.UnmarshalWithOptions(data, &f, yaml.DisallowUnknownField())
	if err == nil {
		return &f, nil
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return nil, pe
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		pe = &ParseError{Message: ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			pe.Line, pe.Column = tk.Position.Line, tk.Position.Column
		}
		return nil, pe
	}
	return nil, &ParseError{Message: err.Error()}
}
