// Package deadapi checks that the plugin's packages export nothing no one
// uses: an exported function, type, variable or constant of pkg/... must be
// used by another package (its tests count, test/e2e's too) or by its own
// package's code, not only by its own tests. golangci-lint's unused does not
// flag exported names, so dead API would otherwise stay.
package deadapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/tracebloc/kubectl-tracebloc/"

// kept are exported names that stay on purpose although nothing in the
// module uses them, each with its reason.
var kept = map[string]string{
	// The packages below are being reworked on other branches of this
	// step (pkg/dataset and the new pkg/csvread; pkg/transfer); their
	// dead names go with that work, after which these lines go too.
	"pkg/dataset.CanCheck":  "pkg/dataset is being reworked (parity branch)",
	"pkg/dataset.ImagesDir": "pkg/dataset is being reworked (parity branch)",
	"pkg/dataset.SafeName":  "pkg/dataset is being reworked (parity branch)",
}

// file is one parsed Go file and the package directory it belongs to.
type file struct {
	dir  string
	test bool
	ast  *ast.File
}

func TestNoDeadExportedAPI(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	files := parseAll(t, root)
	declared := map[string]bool{} // "pkg/x.Name"
	for _, f := range files {
		if f.test || !strings.HasPrefix(f.dir, "pkg/") || f.ast.Name.Name == "main" {
			continue
		}
		for _, name := range exported(f.ast) {
			declared[f.dir+"."+name] = true
		}
	}
	used := map[string]bool{}
	for _, f := range files {
		imports := map[string]string{} // local name → dir
		for _, im := range f.ast.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if !strings.HasPrefix(p, module) {
				continue
			}
			dir := strings.TrimPrefix(p, module)
			local := filepath.Base(dir)
			if im.Name != nil {
				local = im.Name.Name
			}
			imports[local] = dir
		}
		selected := map[*ast.Ident]bool{} // the Sel of x.Sel: a field or another package's name
		ast.Inspect(f.ast, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				selected[n.Sel] = true
				if x, ok := n.X.(*ast.Ident); ok {
					if dir, ok := imports[x.Name]; ok {
						used[dir+"."+n.Sel.Name] = true
					}
				}
			case *ast.Ident:
				// A bare name in its own package's code (not its tests),
				// other than where it is declared.
				key := f.dir + "." + n.Name
				if !f.test && declared[key] && !selected[n] && (n.Obj == nil || !declares(n)) {
					used[key] = true
				}
			}
			return true
		})
	}
	var dead []string
	for name := range declared {
		if !used[name] && kept[name] == "" {
			dead = append(dead, name)
		}
	}
	for name := range kept {
		if !declared[name] || used[name] {
			t.Errorf("%s is kept as dead API but is gone or used now: remove it from kept", name)
		}
	}
	sort.Strings(dead)
	if len(dead) > 0 {
		t.Errorf("exported but used by no other package and not by its own code, only (if at all) by its own tests: remove them, unexport them, or add them to kept with the reason:\n  %s", strings.Join(dead, "\n  "))
	}
}

// declares reports whether id is the name in its own declaration.
func declares(id *ast.Ident) bool {
	switch d := id.Obj.Decl.(type) {
	case *ast.FuncDecl:
		return d.Name == id
	case *ast.TypeSpec:
		return d.Name == id
	case *ast.ValueSpec:
		for _, n := range d.Names {
			if n == id {
				return true
			}
		}
	}
	return false
}

// exported are the exported top-level names of f: functions (not
// methods), types, variables and constants.
func exported(f *ast.File) []string {
	var out []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.IsExported() {
				out = append(out, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						out = append(out, s.Name.Name)
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() {
							out = append(out, n.Name)
						}
					}
				}
			}
		}
	}
	return out
}

// parseAll parses every Go file of the module, whatever its build tags.
func parseAll(t *testing.T, root string) []file {
	t.Helper()
	var files []file
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root {
				return filepath.SkipDir // another module (hack/localcluster)
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		files = append(files, file{dir: filepath.ToSlash(rel), test: strings.HasSuffix(path, "_test.go"), ast: f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
