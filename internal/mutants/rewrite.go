package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/format"
	"go/parser"
	"go/scanner"
	"go/token"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// This file plants a mutant's edits. An edit names the function it targets
// and the expression or statement in its body to rewrite, so it survives a
// refactor that moves the function to another file, reflows it, renames
// its other variables or edits its other lines. What it cannot survive, a
// change to the code it rewrites, it reports: a target that is gone, or
// that matches more than once, is an error naming the function and the
// text, never a silent no-op.

// An edit is one rewrite of the library's source.
type edit struct {
	// Func is the function whose body holds Old: "guard" for a function,
	// "(*Manager).stopOne" or "Manager.stopOne" for a method (the receiver
	// may be a pointer or not). It is looked up by parsing the package, in
	// whichever of its files defines it.
	Func string
	// Old is Go source of one expression or statement in that body,
	// matched token by token: layout, comments, trailing commas and
	// semicolons do not matter. It must match exactly one place.
	Old string
	// New is the Go source put in Old's place; "" drops a statement.
	New string
}

// pkgSource is one package's non-test Go files, as the default build sees
// them, parsed.
type pkgSource struct {
	dir   string
	fset  *token.FileSet
	files []*srcFile
	funcs map[string][]*funcDecl // by funcKey
}

type srcFile struct {
	path string // as given: relative to the module root for the library
	src  []byte
	ast  *ast.File
}

// funcDecl is one function or method declaration with a body.
type funcDecl struct {
	file *srcFile
	decl *ast.FuncDecl
}

// loadPackage parses the Go files of the package in dir (relative to the
// module root) that a build with tags (as for go build -tags) compiles,
// test files excepted.
func loadPackage(dir, tags string) (*pkgSource, error) {
	ctxt := build.Default
	ctxt.BuildTags = strings.FieldsFunc(tags, func(r rune) bool { return r == ',' || r == ' ' })
	bp, err := ctxt.ImportDir(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("reading package %s: %v (run from the module root)", dir, err)
	}
	files := map[string][]byte{}
	for _, name := range bp.GoFiles {
		p := filepath.Join(dir, name)
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files[p] = src
	}
	return parsePackage(dir, files)
}

// parsePackage parses files (path to source) as the package in dir.
func parsePackage(dir string, files map[string][]byte) (*pkgSource, error) {
	p := &pkgSource{dir: dir, fset: token.NewFileSet(), funcs: map[string][]*funcDecl{}}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		f, err := parser.ParseFile(p.fset, name, files[name], parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		sf := &srcFile{path: name, src: files[name], ast: f}
		p.files = append(p.files, sf)
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				k := funcKey(fd)
				p.funcs[k] = append(p.funcs[k], &funcDecl{sf, fd})
			}
		}
	}
	return p, nil
}

// funcKey is a declaration's name as normalName writes it: "guard",
// "Manager.stopOne".
func funcKey(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
			continue
		case *ast.IndexExpr: // a generic receiver
			t = x.X
			continue
		case *ast.IndexListExpr:
			t = x.X
			continue
		case *ast.ParenExpr:
			t = x.X
			continue
		}
		break
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// normalName turns "(*Manager).stopOne" into "Manager.stopOne".
func normalName(name string) string {
	return strings.NewReplacer("(", "", ")", "", "*", "", " ", "").Replace(name)
}

// span is a byte range [start, end) of one file.
type span struct{ start, end int }

// target is where one edit applies.
type target struct {
	file *srcFile
	decl *funcDecl // the function whose body holds span
	span span
}

// find locates e's target: the one node in e.Func's body whose tokens are
// Old's.
func (p *pkgSource) find(e edit) (target, error) {
	decls := p.funcs[normalName(e.Func)]
	switch len(decls) {
	case 0:
		return target{}, fmt.Errorf("no function %s in package %s", e.Func, p.dir)
	case 1:
	default:
		var where []string
		for _, d := range decls {
			where = append(where, p.fset.Position(d.decl.Pos()).String())
		}
		return target{}, fmt.Errorf("function %s is declared %d times in package %s (%s)",
			e.Func, len(decls), p.dir, strings.Join(where, ", "))
	}
	d := decls[0]
	want, err := tokens([]byte(e.Old))
	if err != nil {
		return target{}, fmt.Errorf("%s: Old %q is not Go tokens: %v", e.Func, e.Old, err)
	}
	if len(want) == 0 {
		return target{}, fmt.Errorf("%s: empty Old", e.Func)
	}
	spans := p.matches(d, want)
	if len(spans) != 1 {
		tf := p.fset.File(d.decl.Pos())
		var lines []string
		for _, s := range spans {
			lines = append(lines, strconv.Itoa(tf.Line(tf.Pos(s.start))))
		}
		at := ""
		if len(lines) > 0 {
			at = " (lines " + strings.Join(lines, ", ") + ")"
		}
		return target{}, fmt.Errorf("%s (%s): %q matches %d times in its body%s, want 1",
			e.Func, filepath.Base(d.file.path), e.Old, len(spans), at)
	}
	return target{d.file, d, spans[0]}, nil
}

// matches returns the distinct spans of the nodes in d's body whose tokens
// are want.
func (p *pkgSource) matches(d *funcDecl, want []tok) []span {
	var out []span
	for _, s := range nodeSpans(p.fset, d.decl.Body) {
		got, err := tokens(d.file.src[s.start:s.end])
		if err == nil && slices.Equal(got, want) {
			out = append(out, s)
		}
	}
	return out
}

// nodeSpans returns the distinct spans of the expressions and statements
// within body (body itself excepted), in source order.
func nodeSpans(fset *token.FileSet, body *ast.BlockStmt) []span {
	f := fset.File(body.Pos())
	seen := map[span]bool{}
	var out []span
	ast.Inspect(body, func(n ast.Node) bool {
		if n == nil || n == body {
			return true
		}
		switch n.(type) {
		case ast.Expr, ast.Stmt:
		default:
			return true
		}
		s := span{f.Offset(n.Pos()), f.Offset(n.End())}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
		return true
	})
	slices.SortFunc(out, func(a, b span) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	return out
}

// tok is one Go token as matching sees it.
type tok struct {
	t   token.Token
	lit string // "" for operators and delimiters
}

func (k tok) String() string {
	if k.lit != "" {
		return k.lit
	}
	return k.t.String()
}

// tokens scans src into its tokens, comments dropped and layout
// normalised (see [normalise]).
func tokens(src []byte) ([]tok, error) {
	raw, _, err := scan(src)
	return normalise(raw), err
}

// normalise drops what layout decides rather than meaning: a semicolon or
// comma just before a closing bracket, a semicolon after an opening brace
// or another semicolon, and semicolons at either end. So `f(a,\n)` is
// `f(a)`, and a block written on one line is the same block written on
// several.
func normalise(raw []tok) []tok {
	out := make([]tok, 0, len(raw))
	for _, k := range raw {
		switch k.t {
		case token.RPAREN, token.RBRACE, token.RBRACK:
			for len(out) > 0 && (out[len(out)-1].t == token.SEMICOLON || out[len(out)-1].t == token.COMMA) {
				out = out[:len(out)-1]
			}
		case token.SEMICOLON:
			if len(out) == 0 || out[len(out)-1].t == token.SEMICOLON || out[len(out)-1].t == token.LBRACE {
				continue
			}
		}
		out = append(out, k)
	}
	for len(out) > 0 && out[len(out)-1].t == token.SEMICOLON {
		out = out[:len(out)-1]
	}
	return out
}

// scan returns src's tokens, comments dropped, with the offset of each.
func scan(src []byte) (toks []tok, offs []int, err error) {
	fset := token.NewFileSet()
	f := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	var errs scanner.ErrorList
	s.Init(f, src, func(pos token.Position, msg string) { errs.Add(pos, msg) }, 0)
	for {
		pos, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		if t.IsOperator() {
			lit = "" // a semicolon's is ";" or, inserted at a newline, "\n"
		}
		toks = append(toks, tok{t, lit})
		offs = append(offs, f.Offset(pos))
	}
	return toks, offs, errs.Err()
}

// rewrite applies edits to the package's source and returns each file it
// changed (by path) as gofmt'd source. Every edit must find its target
// (see [pkgSource.find]) and no two may overlap. An import the edits leave
// unused is made a blank import, so that a mutant that drops the only use
// of a package still compiles.
func (p *pkgSource) rewrite(edits []edit) (map[string][]byte, error) {
	byFile := map[*srcFile][]splice{}
	for _, e := range edits {
		t, err := p.find(e)
		if err != nil {
			return nil, err
		}
		byFile[t.file] = append(byFile[t.file], splice{t.span, e.New})
	}
	out := map[string][]byte{}
	for f, ss := range byFile {
		slices.SortFunc(ss, func(a, b splice) int { return a.span.start - b.span.start })
		for i := 1; i < len(ss); i++ {
			if ss[i].span.start < ss[i-1].span.end {
				return nil, fmt.Errorf("%s: two edits overlap at byte %d", f.path, ss[i].span.start)
			}
		}
		spans := make([]span, len(ss))
		news := make([]string, len(ss))
		for i, s := range ss {
			spans[i], news[i] = s.span, s.new
		}
		src, err := finish(f.path, splice1(f.src, spans, news))
		if err != nil {
			return nil, err
		}
		out[f.path] = src
	}
	return out, nil
}

// splice1 returns src with each spans[i] (sorted, disjoint) replaced by
// news[i].
func splice1(src []byte, spans []span, news []string) []byte {
	var b bytes.Buffer
	at := 0
	for i, s := range spans {
		b.Write(src[at:s.start])
		b.WriteString(news[i])
		at = s.end
	}
	b.Write(src[at:])
	return b.Bytes()
}

// finish parses a rewritten file, makes the imports it no longer uses
// blank, and formats it.
func finish(name string, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("the rewritten %s does not parse: %v", name, err)
	}
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				used[id.Name] = true
			}
		}
		return true
	})
	for _, is := range f.Imports {
		if p, _ := strconv.Unquote(is.Path.Value); is.Name == nil && !used[pkgName(p)] {
			is.Name = &ast.Ident{Name: "_", NamePos: is.Path.Pos()}
		}
	}
	var b bytes.Buffer
	if err := format.Node(&b, fset, f); err != nil {
		return nil, fmt.Errorf("the rewritten %s does not format: %v", name, err)
	}
	return b.Bytes(), nil
}

// pkgName is the name a package imported by path p is most likely
// declared with: its last element, or the one before a major version
// suffix ("math/rand/v2" is rand).
func pkgName(p string) string {
	base := path.Base(p)
	if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" && path.Dir(p) != "." {
		return path.Base(path.Dir(p))
	}
	return base
}

// A schema plants many mutants in one build. Each function a mutant edits
// keeps its own body, and each mutant's version of that body becomes a
// function of its own with the same signature, which the original calls
// and returns from at once when its mutant is the one the run selects:
// the one numbered by the environment variable schemaEnv (none when it is
// unset or 0). One compilation of the library, and of everything that
// imports it, then serves every mutant, where planting them one by one
// recompiles the sim and relinks its test for each.
//
// A planted body runs one call deeper than it would planted alone. No
// caller can tell, save through a stack trace, except for a function that
// calls recover itself (a deferred call recovers only if it is the one
// that calls recover): schema refuses such a function.
const (
	schemaEnv  = "LIFECYCLE_MUTANT"
	schemaVar  = "plantedMutant"
	schemaFile = "zz_planted_mutant.go"
)

// schema returns the package's source as a build that plants every one
// of muts at once sees it: each file that holds a function one of them
// edits, rewritten, and the new file schemaFile, which declares the
// variable schemaVar that selects one, read from schemaEnv. muts[i] is
// mutant i+1. The files are keyed by path; each edit must find its
// target as for [pkgSource.rewrite].
func (p *pkgSource) schema(muts [][]edit) (map[string][]byte, error) {
	for _, f := range p.files {
		if filepath.Base(f.path) == schemaFile {
			return nil, fmt.Errorf("package %s already has a file %s", p.dir, schemaFile)
		}
		for _, d := range f.ast.Decls {
			if g, ok := d.(*ast.GenDecl); ok {
				for _, s := range g.Specs {
					if v, ok := s.(*ast.ValueSpec); ok && slices.ContainsFunc(v.Names, func(n *ast.Ident) bool { return n.Name == schemaVar }) {
						return nil, fmt.Errorf("package %s already declares %s", p.dir, schemaVar)
					}
				}
			}
		}
	}
	type variant struct {
		id   int
		body string // braces included
	}
	variants := map[*funcDecl][]variant{}
	for i, edits := range muts {
		byDecl := map[*funcDecl][]splice{}
		for _, e := range edits {
			t, err := p.find(e)
			if err != nil {
				return nil, fmt.Errorf("mutant %d: %v", i+1, err)
			}
			byDecl[t.decl] = append(byDecl[t.decl], splice{t.span, e.New})
		}
		for _, d := range slices.SortedFunc(maps.Keys(byDecl), p.declOrder) {
			ss := byDecl[d]
			slices.SortFunc(ss, func(a, b splice) int { return a.span.start - b.span.start })
			base := p.offset(d.decl.Body.Lbrace)
			spans := make([]span, len(ss))
			news := make([]string, len(ss))
			for j, s := range ss {
				if j > 0 && s.span.start < ss[j-1].span.end {
					return nil, fmt.Errorf("mutant %d: %s: two edits overlap at byte %d", i+1, d.file.path, s.span.start)
				}
				spans[j], news[j] = span{s.span.start - base, s.span.end - base}, s.new
			}
			body := d.file.src[base : p.offset(d.decl.Body.Rbrace)+1]
			variants[d] = append(variants[d], variant{i + 1, string(splice1(body, spans, news))})
		}
	}

	byFile := map[*srcFile][]*funcDecl{}
	for d := range variants {
		byFile[d.file] = append(byFile[d.file], d)
	}
	out := map[string][]byte{}
	for f, decls := range byFile {
		slices.SortFunc(decls, p.declOrder)
		var b bytes.Buffer
		at := 0
		for _, d := range decls {
			if callsRecover(d.decl.Body) {
				return nil, fmt.Errorf("%s (%s) calls recover itself: a schema cannot plant it one call deeper",
					funcKey(d.decl), filepath.Base(f.path))
			}
			s := p.signature(d)
			// The original, its parameters all named, dispatching first.
			b.Write(f.src[at:p.offset(d.decl.Pos())])
			fmt.Fprintf(&b, "func %s%s%s(%s) %s {\n\tswitch %s {\n", s.recv, s.name, s.tparams, s.params, s.results, schemaVar)
			for _, v := range variants[d] {
				call := fmt.Sprintf("%smutant%d_%s%s(%s)", s.recvName, v.id, s.name, s.targs, s.args)
				if s.results == "" {
					fmt.Fprintf(&b, "\tcase %d:\n\t\t%s\n\t\treturn\n", v.id, call)
				} else {
					fmt.Fprintf(&b, "\tcase %d:\n\t\treturn %s\n", v.id, call)
				}
			}
			b.WriteString("\t}\n")
			at = p.offset(d.decl.Body.Lbrace) + 1
		}
		b.Write(f.src[at:])
		for _, d := range decls {
			s := p.signature(d)
			for _, v := range variants[d] {
				fmt.Fprintf(&b, "\n// mutant%[2]d_%[1]s is %[1]s as mutant %[2]d plants it.\nfunc %[3]smutant%[2]d_%[1]s%[4]s(%[5]s) %[6]s %[7]s\n",
					s.name, v.id, s.recv, s.tparams, s.params, s.results, v.body)
			}
		}
		src, err := format.Source(b.Bytes())
		if err != nil {
			return nil, fmt.Errorf("the schema of %s does not parse: %v", f.path, err)
		}
		out[f.path] = src
	}
	out[filepath.Join(p.dir, schemaFile)] = fmt.Appendf(nil, `package %s

import (
	"os"
	"strconv"
)

// %s is the planted mutant this run executes (internal/mutants): 0 for none.
var %s, _ = strconv.Atoi(os.Getenv(%q))
`, p.files[0].ast.Name.Name, schemaVar, schemaVar, schemaEnv)
	return out, nil
}

// splice is one edit's replacement of a span.
type splice struct {
	span span
	new  string
}

// offset is pos's byte offset in its file.
func (p *pkgSource) offset(pos token.Pos) int { return p.fset.Position(pos).Offset }

// declOrder orders declarations by file, then position.
func (p *pkgSource) declOrder(a, b *funcDecl) int {
	if c := strings.Compare(a.file.path, b.file.path); c != 0 {
		return c
	}
	return int(a.decl.Pos() - b.decl.Pos())
}

// callsRecover reports whether body calls recover itself, outside the
// function literals it holds.
func callsRecover(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.CallExpr:
			if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "recover" {
				found = true
			}
		}
		return !found
	})
	return found
}

// sig is a function's signature as source, every parameter named, and
// what a call forwarding its own parameters passes.
type sig struct {
	recv     string // "(s *service) ", or "" for a function
	recvName string // "s.", or ""
	name     string
	tparams  string // "[T any]", or ""
	targs    string // "[T]", or "": a function's own type parameters
	params   string // "a, b int, rest ...string"
	args     string // "a, b, rest..."
	results  string // "(int, error)", "int", or ""
}

// signature is d's, a parameter that is unnamed or blank given a name.
func (p *pkgSource) signature(d *funcDecl) sig {
	fd := d.decl
	text := func(n ast.Node) string { return string(d.file.src[p.offset(n.Pos()):p.offset(n.End())]) }
	s := sig{name: fd.Name.Name}
	if fd.Recv != nil && len(fd.Recv.List) == 1 {
		f := fd.Recv.List[0]
		name := "mutantRecv"
		if len(f.Names) == 1 && f.Names[0].Name != "_" {
			name = f.Names[0].Name
		}
		s.recv, s.recvName = "("+name+" "+text(f.Type)+") ", name+"."
	}
	if tp := fd.Type.TypeParams; tp != nil && len(tp.List) > 0 {
		var params, names []string
		for _, f := range tp.List {
			var ns []string
			for _, n := range f.Names {
				ns = append(ns, n.Name)
			}
			params = append(params, strings.Join(ns, ", ")+" "+text(f.Type))
			names = append(names, ns...)
		}
		s.tparams, s.targs = "["+strings.Join(params, ", ")+"]", "["+strings.Join(names, ", ")+"]"
	}
	var params, args []string
	n := 0
	for _, f := range fd.Type.Params.List {
		var ns []string
		for i := 0; i < max(len(f.Names), 1); i++ {
			name := fmt.Sprintf("mutantArg%d", n)
			if i < len(f.Names) && f.Names[i].Name != "_" {
				name = f.Names[i].Name
			}
			n++
			ns = append(ns, name)
			if _, ok := f.Type.(*ast.Ellipsis); ok {
				name += "..."
			}
			args = append(args, name)
		}
		params = append(params, strings.Join(ns, ", ")+" "+text(f.Type))
	}
	s.params, s.args = strings.Join(params, ", "), strings.Join(args, ", ")
	if fd.Type.Results != nil && len(fd.Type.Results.List) > 0 {
		s.results = text(fd.Type.Results)
	}
	return s
}
