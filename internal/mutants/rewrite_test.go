package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// The properties below run on the library's own source: whatever shape
// the lead's refactors give it, planting must find what it is asked for
// and change nothing else.

// site is an expression or statement of one function's body that a
// property may rewrite.
type site struct {
	span  span
	toks  []tok  // normalised
	count int    // spans in the body with the same tokens, this one included
	stmt  bool   // a statement in a statement list: replaceable by a call
	expr  bool   // an expression that an identifier may replace
	file  string // its file's path
}

// corpus is the library's functions, each with its sites.
type corpus struct {
	lib   *pkgSource
	names []string // normalised function names, sorted
	sites map[string][]site
	raw   map[string][]tok // each file's tokens, unnormalised
	offs  map[string][]int // the offset of each
}

func loadCorpus(t *testing.T) *corpus {
	t.Helper()
	lib, err := loadPackage("../../lifecycle", "")
	if err != nil {
		t.Fatal(err)
	}
	c := &corpus{lib: lib, sites: map[string][]site{}, raw: map[string][]tok{}, offs: map[string][]int{}}
	for _, f := range lib.files {
		c.raw[f.path], c.offs[f.path], err = scan(f.src)
		if err != nil {
			t.Fatal(err)
		}
	}
	for name, decls := range lib.funcs {
		if len(decls) != 1 {
			continue
		}
		d := decls[0]
		ss := sitesOf(lib.fset, d)
		if len(ss) == 0 {
			continue
		}
		c.names = append(c.names, name)
		c.sites[name] = ss
	}
	slices.Sort(c.names)
	if len(c.names) < 20 {
		t.Fatalf("got %d functions in the library; want at least 20", len(c.names))
	}
	return c
}

// sitesOf lists the sites of d's body, with how each may be replaced so
// that the file still parses.
func sitesOf(fset *token.FileSet, d *funcDecl) []site {
	tf := fset.File(d.decl.Pos())
	bySpan := map[span]*site{}
	var order []span
	var stack []ast.Node
	inComm := 0 // depth inside a select case's send or receive
	ast.Inspect(d.decl.Body, func(n ast.Node) bool {
		if n == nil {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if isComm(stack, top) {
				inComm--
			}
			return true
		}
		var parent ast.Node
		if len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		stack = append(stack, n)
		if isComm(stack[:len(stack)-1], n) {
			inComm++
		}
		switch n.(type) {
		case ast.Expr, ast.Stmt: // what matching sees
		default:
			return true
		}
		if n == d.decl.Body {
			return true
		}
		s := span{tf.Offset(n.Pos()), tf.Offset(n.End())}
		st := bySpan[s]
		if st == nil {
			st = &site{span: s, file: d.file.path}
			bySpan[s] = st
			order = append(order, s)
		}
		if _, ok := n.(ast.Stmt); ok && inList(parent, n) {
			st.stmt = true
		}
		switch n.(type) {
		case *ast.Ident, *ast.BasicLit, *ast.SelectorExpr, *ast.BinaryExpr, *ast.ParenExpr,
			*ast.IndexExpr, *ast.UnaryExpr, *ast.StarExpr, *ast.CompositeLit:
			st.expr = st.expr || inComm == 0
		case *ast.CallExpr:
			switch parent.(type) {
			case *ast.GoStmt, *ast.DeferStmt:
			default:
				st.expr = st.expr || inComm == 0
			}
		}
		return true
	})
	var out []site
	for _, s := range order {
		st := bySpan[s]
		st.toks, _ = tokens(d.file.src[s.start:s.end])
		out = append(out, *st)
	}
	for i := range out {
		for j := range out {
			if slices.Equal(out[i].toks, out[j].toks) {
				out[i].count++
			}
		}
	}
	return out
}

// isComm reports whether n is the send or receive of a select case.
func isComm(stack []ast.Node, n ast.Node) bool {
	if len(stack) == 0 {
		return false
	}
	cc, ok := stack[len(stack)-1].(*ast.CommClause)
	return ok && cc.Comm == n
}

// inList reports whether n is one of parent's list of statements.
func inList(parent, n ast.Node) bool {
	var list []ast.Stmt
	switch p := parent.(type) {
	case *ast.BlockStmt:
		list = p.List
	case *ast.CaseClause:
		list = p.Body
	case *ast.CommClause:
		list = p.Body
	}
	switch n.(type) {
	case *ast.CaseClause, *ast.CommClause:
		return false
	}
	return slices.Contains(list, n.(ast.Stmt))
}

// relayout writes toks as Go source with a drawn layout: spaces and
// comments between tokens, never a newline (which could end a statement).
func relayout(t *rapid.T, toks []tok, label string) string {
	seps := rapid.SliceOfN(rapid.SampledFrom([]string{" ", "  ", "\t", " /* x */ ", " /**/ "}), len(toks), len(toks)).Draw(t, label)
	var b strings.Builder
	for i, k := range toks {
		if i > 0 {
			b.WriteString(seps[i])
		}
		b.WriteString(k.String())
	}
	return b.String()
}

// TestRewrite_ChangesExactlyWhatIsAsked: a random set of rewrites of one
// function, each Old written in a random layout, finds exactly the places
// drawn and yields a file that parses and whose tokens are the original's
// with those places, and nothing else, replaced.
func TestRewrite_ChangesExactlyWhatIsAsked(t *testing.T) {
	c := loadCorpus(t)
	rapid.Check(t, func(t *rapid.T) {
		name := rapid.SampledFrom(c.names).Draw(t, "func")
		var usable []site
		for _, s := range c.sites[name] {
			if s.count == 1 && (s.stmt || s.expr) {
				usable = append(usable, s)
			}
		}
		if len(usable) == 0 {
			t.Skip("no site with unique text")
		}
		picks := rapid.SliceOfNDistinct(rapid.IntRange(0, len(usable)-1), 1, 4, rapid.ID).Draw(t, "sites")
		var chosen []site
		var edits []edit
		for _, i := range picks {
			s := usable[i]
			if slices.ContainsFunc(chosen, func(o site) bool { return o.span.start < s.span.end && s.span.start < o.span.end }) {
				continue // nested in or around one already chosen
			}
			marker := fmt.Sprintf("mutantMarker%d", len(chosen))
			if s.stmt && (!s.expr || rapid.Bool().Draw(t, "as statement")) {
				marker += "()"
			}
			chosen = append(chosen, s)
			edits = append(edits, edit{name, relayout(t, s.toks, fmt.Sprintf("layout %d", len(edits))), marker})
		}

		// Each Old finds its site.
		for i, e := range edits {
			got, err := c.lib.find(e)
			if err != nil {
				t.Fatalf("find %q: %v", e.Old, err)
			}
			if got.span != chosen[i].span {
				t.Fatalf("find %q: got bytes %v; want %v", e.Old, got.span, chosen[i].span)
			}
		}

		files, err := c.lib.rewrite(edits)
		if err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		file := chosen[0].file
		if len(files) != 1 || files[file] == nil {
			t.Fatalf("rewrite changed %d files; want only %s", len(files), file)
		}
		if _, err := parser.ParseFile(token.NewFileSet(), file, files[file], 0); err != nil {
			t.Fatalf("the rewritten file does not parse: %v", err)
		}

		// The tokens are the original's with each site's replaced by its
		// marker's; an import left unused may gain a blank name.
		var want []tok
		raw, offs := c.raw[file], c.offs[file]
		for i := 0; i < len(raw); i++ {
			j := slices.IndexFunc(chosen, func(s site) bool { return s.span.start <= offs[i] && offs[i] < s.span.end })
			if j < 0 {
				want = append(want, raw[i])
				continue
			}
			m, _ := tokens([]byte(edits[j].New))
			want = append(want, m...)
			for i+1 < len(raw) && offs[i+1] < chosen[j].span.end {
				i++
			}
		}
		got, err := tokens(files[file])
		if err != nil {
			t.Fatal(err)
		}
		if got, want := unblank(got), unblank(normalise(want)); !slices.Equal(got, want) {
			t.Fatalf("tokens differ from the intended rewrite at token %d:\n got %v\nwant %v",
				firstDiff(got, want), around(got, firstDiff(got, want)), around(want, firstDiff(got, want)))
		}
	})
}

// TestFind_OneMatchOrAnError: any expression or statement of any function,
// in any layout, is found if its text is unique in the body and is
// otherwise an error saying how many times it matched; text that is not
// there is an error too.
func TestFind_OneMatchOrAnError(t *testing.T) {
	c := loadCorpus(t)
	rapid.Check(t, func(t *rapid.T) {
		name := rapid.SampledFrom(c.names).Draw(t, "func")
		s := rapid.SampledFrom(c.sites[name]).Draw(t, "site")
		old := relayout(t, s.toks, "layout")
		absent := rapid.Bool().Draw(t, "absent")
		count := s.count
		if absent {
			old, count = old+" + mutantAbsent", 0
		}
		spelling := name
		if i := strings.IndexByte(name, '.'); i >= 0 && rapid.Bool().Draw(t, "pointer spelling") {
			spelling = "(*" + name[:i] + ")" + name[i:]
		}
		got, err := c.lib.find(edit{spelling, old, ""})
		switch {
		case count == 1 && err != nil:
			t.Fatalf("find %q in %s: %v", old, spelling, err)
		case count == 1 && got.span != s.span:
			t.Fatalf("find %q in %s: got bytes %v; want %v", old, spelling, got.span, s.span)
		case count != 1 && err == nil:
			t.Fatalf("find %q in %s: got bytes %v; want an error (%d matches)", old, spelling, got.span, count)
		case count != 1 && !strings.Contains(err.Error(), fmt.Sprintf("matches %d times", count)) ||
			err != nil && !strings.Contains(err.Error(), spelling):
			t.Fatalf("find %q in %s: got error %q; want it to name the function and say %d matches", old, spelling, err, count)
		}
	})
}

// unblank drops the blank name an import gains when a rewrite leaves it
// unused: `_` just before a string can only be that.
func unblank(toks []tok) []tok {
	var out []tok
	for i, k := range toks {
		if k.t == token.IDENT && k.lit == "_" && i+1 < len(toks) && toks[i+1].t == token.STRING {
			continue
		}
		out = append(out, k)
	}
	return out
}

func firstDiff(a, b []tok) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func around(toks []tok, i int) []tok {
	return toks[max(i-5, 0):min(i+5, len(toks))]
}

// TestFinish_KeepsAVersionedImport: an import whose path ends in a major
// version ("math/rand/v2") is used by its package's name, not made blank.
func TestFinish_KeepsAVersionedImport(t *testing.T) {
	src := "package p\n\nimport (\n\t\"math/rand/v2\"\n\t\"strings\"\n)\n\nfunc f() float64 { return rand.Float64() }\n"
	out, err := finish("p.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); !strings.Contains(got, "\t\"math/rand/v2\"") || !strings.Contains(got, "_ \"strings\"") {
		t.Errorf("finish = %s; want math/rand/v2 kept and strings made blank", got)
	}
}

// toyFiles is a package p whose functions have the shapes a schema must
// forward: a method with a blank receiver and unnamed parameters, a
// variadic one, a generic function, named results, no results, labels,
// a deferred recover in a function literal.
var toyFiles = map[string]string{
	"p/a.go": `package p

import "fmt"

type T struct{ n int }

// Get returns n plus a.
func (T) Get(int, string) int { return 1 }

func (t *T) Sum(base int, _ string, xs ...int) (total int) {
	total = base
outer:
	for _, x := range xs {
		for range 2 {
			if x < 0 {
				break outer
			}
			total += x + t.n
		}
	}
	return
}

func Pick[K comparable, V any](m map[K]V, k K) (V, bool) {
	v, ok := m[k]
	return v, ok
}

func Log(out *[]string, format string, args ...any) {
	*out = append(*out, fmt.Sprintf(format, args...))
}
`,
	"p/b.go": `package p

func Safe(f func()) (panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	f()
	return false
}
`,
}

// toyMutants are planted in toyFiles.
var toyMutants = [][]edit{
	{{"T.Get", "1", "2"}},
	{{"(*T).Sum", "x < 0", "x > 100"}, {"Pick", "return v, ok", "return v, !ok"}},
	{{"(*T).Sum", "total += x + t.n", "total += 2*x + t.n"}},
	{{"Log", "fmt.Sprintf(format, args...)", `fmt.Sprint(format)`}},
	{{"Safe", "panicked = true", ""}, {"(*T).Sum", "total = base", "total = -base"}},
}

// toyMain prints what toyFiles' functions return.
const toyMain = `package main

import (
	"fmt"

	"toy/p"
)

func main() {
	t := &p.T{}
	var log []string
	p.Log(&log, "%d-%s", 1, "x")
	_, ok := p.Pick(map[string]int{}, "k")
	fmt.Println(t.Get(0, ""), t.Sum(10, "", 1, 2, -1, 3), ok, log, p.Safe(func() { panic(1) }))
}
`

// TestSchema_RunsAsEachMutantAlone builds toyFiles' schema once and runs
// it as each mutant, and as none: each run must print what the library
// with that one mutant planted alone (or none) prints.
func TestSchema_RunsAsEachMutantAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program per mutant")
	}
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module toy\n\ngo 1.26\n")
	write("main.go", toyMain)
	srcs := map[string][]byte{}
	for name, src := range toyFiles {
		write(name, src)
		srcs[filepath.Join(dir, name)] = []byte(src)
	}
	lib, err := parsePackage(filepath.Join(dir, "p"), srcs)
	if err != nil {
		t.Fatal(err)
	}
	// build builds the program with files overlaid; run runs it.
	build := func(name string, files map[string][]byte) string {
		t.Helper()
		replace := map[string]string{}
		for path, src := range files {
			dst := filepath.Join(t.TempDir(), filepath.Base(path))
			if err := os.WriteFile(dst, src, 0o644); err != nil {
				t.Fatal(err)
			}
			replace[path] = dst
		}
		overlay := filepath.Join(t.TempDir(), "overlay.json")
		b, _ := json.Marshal(map[string]any{"Replace": replace})
		if err := os.WriteFile(overlay, b, 0o644); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(t.TempDir(), name)
		cmd := exec.Command("go", "build", "-overlay", overlay, "-o", bin, ".")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", name, err, out)
		}
		return bin
	}
	run := func(bin string, id int) string {
		t.Helper()
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", schemaEnv, id))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("running %s as mutant %d: %v\n%s", bin, id, err, out)
		}
		return string(out)
	}

	files, err := lib.schema(toyMutants)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files[filepath.Join(dir, "p", schemaFile)]; !ok {
		t.Fatalf("the schema has no %s", schemaFile)
	}
	schema := build("schema", files) // once, run as each mutant

	want := run(build("unmutated", nil), 0)
	if got := run(schema, 0); got != want {
		t.Errorf("the schema planting none prints %q; the library prints %q", got, want)
	}
	seen := map[string]bool{want: true}
	for i, edits := range toyMutants {
		alone, err := lib.rewrite(edits)
		if err != nil {
			t.Fatal(err)
		}
		want := run(build(fmt.Sprint("mutant", i+1), alone), 0)
		if got := run(schema, i+1); got != want {
			t.Errorf("the schema planting mutant %d prints %q; the mutant alone prints %q", i+1, got, want)
		}
		if seen[want] {
			t.Errorf("mutant %d prints %q, as the library or another mutant does: the toy does not tell them apart", i+1, want)
		}
		seen[want] = true
	}
}

// TestSchema_RefusesRecover: a function that calls recover itself would
// recover nothing one call deeper, so a schema refuses to plant it.
func TestSchema_RefusesRecover(t *testing.T) {
	lib, err := parsePackage("p", map[string][]byte{
		"p/a.go": []byte("package p\n\nfunc handle(n int) {\n\tif v := recover(); v != nil && n > 0 {\n\t\tprintln(v)\n\t}\n}\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = lib.schema([][]edit{{{"handle", "n > 0", "n > 1"}}})
	if err == nil || !strings.Contains(err.Error(), "calls recover itself") {
		t.Errorf("schema of a function calling recover: got error %v; want one saying it calls recover itself", err)
	}
}
