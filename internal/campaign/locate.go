package campaign

import (
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Locate returns ps with each problem's Line and Column (1-based, the column
// counted in characters) set to where its Path
// points in data, the campaign file the problems were found in (YAML, or JSON,
// which is read as YAML). A path names a key and its value
// ("strategies[0].awards[1].rate"): a scalar value is located at the value, a
// list or mapping at its key, a row ("awards[3]") at its first key. A path whose
// end is missing from the text (a required key left out) is located at the
// deepest part that is there; a problem without a path, or a file that does not
// parse, at line 1, column 1. Problems that already carry a line (syntax errors)
// are kept as they are. Locate does not modify ps.
func (ps Problems) Locate(data []byte) Problems {
	if len(ps) == 0 {
		return ps
	}
	out := make(Problems, len(ps))
	copy(out, ps)
	var body ast.Node
	if f, err := parseAST(data); err == nil && len(f.Docs) > 0 {
		body = f.Docs[0].Body
	}
	for i := range out {
		if out[i].Line > 0 {
			continue
		}
		out[i].Line, out[i].Column = 1, 1
		if body == nil || out[i].Path == "" {
			continue
		}
		if l, c, ok := locatePath(body, out[i].Path); ok {
			out[i].Line, out[i].Column = l, c
		}
	}
	return out
}

// parseAST parses data into goccy/go-yaml's syntax tree, recovering from a
// parser panic as Parse does.
func parseAST(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, &ParseError{Message: "parser failure"}
		}
	}()
	return parser.ParseBytes(data, 0)
}

// pathStep is one step of a problem path: a mapping key or a list index.
type pathStep struct {
	key   string
	index int // -1 for a key step
}

// splitPath turns "strategies[2].awards[0].tree" into its steps.
func splitPath(path string) []pathStep {
	var steps []pathStep
	for _, part := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			steps = append(steps, pathStep{key: key, index: -1})
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			if !ok {
				break
			}
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 {
				break
			}
			steps = append(steps, pathStep{index: n})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return steps
}

// locatePath walks body along path and returns the position of the deepest
// node reached; ok is false when not even the first step is in the text. A
// surprise in the syntax tree (a panic) leaves the problem unlocated rather
// than failing the validation.
func locatePath(body ast.Node, path string) (line, column int, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			line, column, ok = 0, 0, false
		}
	}()
	node := body
	for _, st := range splitPath(path) {
		node = unwrap(node)
		if st.index >= 0 {
			seq, isSeq := node.(*ast.SequenceNode)
			if !isSeq || st.index >= len(seq.Values) {
				return line, column, ok
			}
			node = seq.Values[st.index]
			if l, c, found := position(node); found {
				line, column, ok = l, c, true
			}
			continue
		}
		mv := mappingValue(node, st.key)
		if mv == nil {
			return line, column, ok
		}
		node = mv.Value
		// A scalar is marked where it is written; a list or mapping at its key.
		at := ast.Node(mv.Key)
		if _, scalar := unwrap(mv.Value).(ast.ScalarNode); scalar {
			at = mv.Value
		}
		if l, c, found := position(at); found {
			line, column, ok = l, c, true
		}
	}
	return line, column, ok
}

// unwrap looks through tags and anchors to the node they mark.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		default:
			return n
		}
	}
}

// mappingValue finds key in a mapping node (or a single key-value node).
func mappingValue(n ast.Node, key string) *ast.MappingValueNode {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	}
	for _, mv := range values {
		if mv.Key == nil {
			continue
		}
		k := unwrap(mv.Key)
		var name string
		if s, ok := k.(*ast.StringNode); ok {
			name = s.Value
		} else if tk := k.GetToken(); tk != nil {
			name = tk.Value
		}
		if name == key {
			return mv
		}
	}
	return nil
}

// position is where node n starts in the text: a mapping at its first key.
func position(n ast.Node) (line, column int, ok bool) {
	switch v := n.(type) {
	case nil:
		return 0, 0, false
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return position(v.Values[0])
		}
	case *ast.MappingValueNode:
		if v.Key != nil {
			return position(v.Key)
		}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil || tk.Position.Line <= 0 {
		return 0, 0, false
	}
	return tk.Position.Line, tk.Position.Column, true
}
