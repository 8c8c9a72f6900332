package main

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestGoModMarksDirectDependencies checks go.mod as `go mod tidy` leaves it: a
// module imported by the module's own code is a direct requirement (no
// "// indirect"), and a direct requirement is imported somewhere.
func TestGoModMarksDirectDependencies(t *testing.T) {
	root := filepath.Join("..", "..")
	reqs := readRequires(t, filepath.Join(root, "go.mod"))
	imported := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "vendor", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			imported[path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	uses := func(mod string) bool {
		for path := range imported {
			if path == mod || strings.HasPrefix(path, mod+"/") {
				return true
			}
		}
		return false
	}
	for mod, indirect := range reqs {
		switch used := uses(mod); {
		case used && indirect:
			t.Errorf("go.mod marks %s indirect, but the module imports it: run go mod tidy", mod)
		case !used && !indirect:
			t.Errorf("go.mod requires %s directly, but nothing imports it: run go mod tidy", mod)
		}
	}
}

// readRequires returns go.mod's required modules and whether each is marked
// "// indirect".
func readRequires(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	inBlock := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "require (":
			inBlock = true
			continue
		case inBlock && line == ")":
			inBlock = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !inBlock:
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		out[fields[0]] = strings.HasSuffix(line, "// indirect")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no requirements found", path)
	}
	return out
}
