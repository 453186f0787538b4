package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
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
