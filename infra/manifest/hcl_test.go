package manifest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/melmastoon/bff-backoffice/infra/manifest"
)

// No terraform binary or HCL library is available where the tests run, so
// the terraform checks read the .tf files with this small parser. It knows
// just enough HCL to be robust: comments (#, //, /* */), quoted strings with
// escapes and ${...} interpolation (which may nest strings and braces),
// heredocs, and blocks with labels; attribute values are kept as raw text.

type tfBlock struct {
	Type   string
	Labels []string
	Attrs  map[string]string // name -> raw expression text, trimmed
	Blocks []tfBlock
}

func parseHCL(src string) ([]tfBlock, error) {
	p := &hclParser{src: src}
	b, err := p.body(len(src))
	if err != nil {
		return nil, err
	}
	return b.Blocks, nil
}

type hclParser struct {
	src string
	i   int
}

func (p *hclParser) errorf(format string, args ...any) error {
	line := 1 + strings.Count(p.src[:min(p.i, len(p.src))], "\n")
	return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
}

// body parses attributes and blocks up to end (exclusive).
func (p *hclParser) body(end int) (tfBlock, error) {
	out := tfBlock{Attrs: map[string]string{}}
	for {
		p.skipSpace(true)
		if p.i >= end {
			return out, nil
		}
		ident := p.ident()
		if ident == "" {
			return out, p.errorf("expected an attribute or block, got %q", p.src[p.i:min(p.i+20, len(p.src))])
		}
		p.skipSpace(false)
		if p.i < end && p.src[p.i] == '=' && !strings.HasPrefix(p.src[p.i:], "==") {
			p.i++
			start := p.i
			exprEnd, err := p.skipExpr(end)
			if err != nil {
				return out, err
			}
			out.Attrs[ident] = strings.TrimSpace(p.src[start:exprEnd])
			continue
		}
		blk := tfBlock{Type: ident}
		for {
			p.skipSpace(false)
			if p.i >= end {
				return out, p.errorf("block %s: unexpected end", ident)
			}
			switch c := p.src[p.i]; {
			case c == '"':
				start := p.i
				if err := p.skipString(); err != nil {
					return out, err
				}
				blk.Labels = append(blk.Labels, p.src[start+1:p.i-1])
				continue
			case c == '{':
				open := p.i
				closeAt, err := p.matchBrace(open)
				if err != nil {
					return out, err
				}
				p.i = open + 1
				inner, err := p.body(closeAt)
				if err != nil {
					return out, err
				}
				blk.Attrs, blk.Blocks = inner.Attrs, inner.Blocks
				p.i = closeAt + 1
				out.Blocks = append(out.Blocks, blk)
			default:
				if l := p.ident(); l != "" {
					blk.Labels = append(blk.Labels, l)
					continue
				}
				return out, p.errorf("block %s: unexpected %q", ident, c)
			}
			break
		}
	}
}

func (p *hclParser) ident() string {
	start := p.i
	for p.i < len(p.src) {
		r := rune(p.src[p.i])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' {
			p.i++
			continue
		}
		break
	}
	return p.src[start:p.i]
}

// skipSpace skips blanks and comments; newlines only when newlines is set.
func (p *hclParser) skipSpace(newlines bool) {
	for p.i < len(p.src) {
		switch c := p.src[p.i]; {
		case c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n'):
			p.i++
		case c == '#' || strings.HasPrefix(p.src[p.i:], "//"):
			for p.i < len(p.src) && p.src[p.i] != '\n' {
				p.i++
			}
		case strings.HasPrefix(p.src[p.i:], "/*"):
			if j := strings.Index(p.src[p.i+2:], "*/"); j >= 0 {
				p.i += j + 4
			} else {
				p.i = len(p.src)
			}
		default:
			return
		}
	}
}

// skipExpr moves past an attribute's expression: to the end of the line, or
// further while brackets are open. It returns where the expression's text
// ends, before any trailing comment.
func (p *hclParser) skipExpr(end int) (int, error) {
	depth, last := 0, p.i
	for p.i < end {
		c := p.src[p.i]
		switch {
		case c == '"':
			if err := p.skipString(); err != nil {
				return 0, err
			}
			last = p.i
			continue
		case strings.HasPrefix(p.src[p.i:], "<<") && p.heredocStart():
			if err := p.skipHeredoc(); err != nil {
				return 0, err
			}
			last = p.i
			continue
		case c == '#' || strings.HasPrefix(p.src[p.i:], "//") || strings.HasPrefix(p.src[p.i:], "/*"):
			// A line comment stops before its newline, which then ends the
			// expression when no bracket is open.
			p.skipSpace(false)
			continue
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == '\n' && depth == 0:
			return last, nil
		}
		p.i++
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			last = p.i
		}
	}
	if depth != 0 {
		return 0, p.errorf("unbalanced brackets in expression")
	}
	return last, nil
}

func (p *hclParser) skipString() error {
	start := p.i
	p.i++ // opening quote
	for p.i < len(p.src) {
		switch {
		case p.src[p.i] == '\\':
			p.i += 2
		case p.src[p.i] == '"':
			p.i++
			return nil
		case strings.HasPrefix(p.src[p.i:], "${") || strings.HasPrefix(p.src[p.i:], "%{"):
			closeAt, err := p.matchBrace(p.i + 1)
			if err != nil {
				return err
			}
			p.i = closeAt + 1
		case p.src[p.i] == '\n':
			p.i = start
			return p.errorf("unterminated string")
		default:
			p.i++
		}
	}
	p.i = start
	return p.errorf("unterminated string")
}

func (p *hclParser) skipHeredoc() error {
	nl := strings.IndexByte(p.src[p.i:], '\n')
	if nl < 0 {
		return p.errorf("unterminated heredoc")
	}
	marker := strings.TrimSpace(strings.TrimLeft(p.src[p.i+2:p.i+nl], "-~"))
	p.i += nl + 1
	for p.i < len(p.src) {
		nl := strings.IndexByte(p.src[p.i:], '\n')
		if nl < 0 {
			nl = len(p.src) - p.i
		}
		line := p.src[p.i : p.i+nl]
		p.i += nl
		if strings.TrimSpace(line) == marker {
			return nil
		}
		p.i++
	}
	return p.errorf("heredoc %q not terminated", marker)
}

// matchBrace returns the index of the '}' that closes the '{' at open.
func (p *hclParser) matchBrace(open int) (int, error) {
	saved := p.i
	defer func() { p.i = saved }()
	p.i = open + 1
	depth := 1
	for p.i < len(p.src) {
		c := p.src[p.i]
		switch {
		case c == '"':
			if err := p.skipString(); err != nil {
				return 0, err
			}
			continue
		case strings.HasPrefix(p.src[p.i:], "<<") && p.heredocStart():
			if err := p.skipHeredoc(); err != nil {
				return 0, err
			}
			continue
		case c == '#' || strings.HasPrefix(p.src[p.i:], "//") || strings.HasPrefix(p.src[p.i:], "/*"):
			p.skipSpace(false)
			continue
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				return p.i, nil
			}
		}
		p.i++
	}
	p.i = open
	return 0, p.errorf("unclosed {")
}

func (p *hclParser) heredocStart() bool {
	rest := strings.TrimLeft(p.src[p.i+2:], "-~")
	return len(rest) > 0 && (unicode.IsLetter(rune(rest[0])) || rest[0] == '_')
}

// stringLiteral returns the value of a plain "..." expression.
func stringLiteral(expr string) (string, bool) {
	if len(expr) < 2 || expr[0] != '"' || expr[len(expr)-1] != '"' || strings.ContainsAny(expr[1:len(expr)-1], `"\$`) {
		return "", false
	}
	return expr[1 : len(expr)-1], true
}

func TestParseHCL(t *testing.T) {
	t.Parallel()
	src := `
# a comment with { brace
module "fn_a" {
  source = "./modules/function" // trailing { comment
  name   = "a"
  spec   = local.functions["a"]
  tags   = { x = "${upper("}")}" }
  nested {
    name = "not-a"
  }
  /* block
     comment } */
  list = [
    "x",
    "y",
  ]
  doc = <<-EOT
    } not a brace
  EOT
}

resource "google_x" "y" { name = "z" }
`
	blocks, err := parseHCL(src)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Type   string
		Labels []string
		Name   string
		Source string
		Nested int
	}
	var got []summary
	for _, b := range blocks {
		got = append(got, summary{b.Type, b.Labels, b.Attrs["name"], b.Attrs["source"], len(b.Blocks)})
	}
	want := []summary{
		{"module", []string{"fn_a"}, `"a"`, `"./modules/function"`, 1},
		{"resource", []string{"google_x", "y"}, `"z"`, "", 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseHCL (-want +got):\n%s", diff)
	}
	if v, ok := stringLiteral(blocks[0].Attrs["name"]); !ok || v != "a" {
		t.Errorf(`stringLiteral(name) = %q, %v; want "a", true`, v, ok)
	}
	if _, err := parseHCL(`module "x" {`); err == nil {
		t.Error("parseHCL of an unclosed block: want an error")
	}
}

// What `terraform validate` would catch that can be seen without the
// provider: references to variables, locals, resources, data sources and
// module outputs that do not exist, in the root module and in every module
// it uses; and function modules that lack what their manifest kind needs.

// tfModule is one directory of .tf files: its definitions and the code of
// its files with comments removed (strings kept: they hold interpolations).
type tfModule struct {
	dir       string
	blocks    map[string][]tfBlock // file -> top-level blocks
	code      map[string]string    // file -> source without comments
	variables map[string]bool
	locals    map[string]bool
	resources map[string]bool // "type.name"
	data      map[string]bool // "type.name"
	modules   map[string]tfBlock
	outputs   map[string]bool
}

func loadTFModule(t *testing.T, dir string) *tfModule {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("%s: no .tf files (%v)", dir, err)
	}
	m := &tfModule{dir: dir, blocks: map[string][]tfBlock{}, code: map[string]string{},
		variables: map[string]bool{}, locals: map[string]bool{}, resources: map[string]bool{},
		data: map[string]bool{}, modules: map[string]tfBlock{}, outputs: map[string]bool{}}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := parseHCL(string(src))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		name := filepath.Base(p)
		m.blocks[name], m.code[name] = blocks, stripHCLComments(string(src))
		for _, b := range blocks {
			switch {
			case b.Type == "variable" && len(b.Labels) == 1:
				m.variables[b.Labels[0]] = true
			case b.Type == "locals":
				for k := range b.Attrs {
					m.locals[k] = true
				}
			case b.Type == "resource" && len(b.Labels) == 2:
				m.resources[b.Labels[0]+"."+b.Labels[1]] = true
			case b.Type == "data" && len(b.Labels) == 2:
				m.data[b.Labels[0]+"."+b.Labels[1]] = true
			case b.Type == "module" && len(b.Labels) == 1:
				m.modules[b.Labels[0]] = b
			case b.Type == "output" && len(b.Labels) == 1:
				m.outputs[b.Labels[0]] = true
			}
		}
	}
	return m
}

// interpolations keeps only the ${...} parts of string or heredoc text:
// the rest is prose (descriptions name locals and variables freely).
func interpolations(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if !strings.HasPrefix(s[i:], "${") {
			continue
		}
		depth := 0
		j := i
		for ; j < len(s); j++ {
			if s[j] == '{' {
				depth++
			} else if s[j] == '}' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		b.WriteString(" " + s[i:min(j+1, len(s))] + " ")
		i = j
	}
	return b.String()
}

// stripHCLComments removes #, // and /* */ comments, and the text of
// strings and heredocs outside their interpolations.
func stripHCLComments(src string) string {
	var b strings.Builder
	heredoc := regexp.MustCompile(`^<<-?([A-Za-z_][A-Za-z0-9_]*)\n`)
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(src))
			b.WriteString(`"` + interpolations(src[i:j]) + `"`)
			i = j
		case heredoc.MatchString(src[i:]):
			marker := heredoc.FindStringSubmatch(src[i:])[1]
			j := i + len(heredoc.FindString(src[i:]))
			for j < len(src) {
				end := strings.IndexByte(src[j:], '\n')
				if end < 0 {
					end = len(src) - j
				}
				line := src[j : j+end]
				j += end + 1
				if strings.TrimSpace(line) == marker {
					break
				}
			}
			j = min(j, len(src))
			b.WriteString(interpolations(src[i:j]) + "\n")
			i = j
		case c == '#' || strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				i = len(src)
			} else {
				i += end + 4
			}
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

var (
	refVar      = regexp.MustCompile(`\bvar\.([A-Za-z_][A-Za-z0-9_-]*)`)
	refLocal    = regexp.MustCompile(`\blocal\.([A-Za-z_][A-Za-z0-9_-]*)`)
	refModule   = regexp.MustCompile(`\bmodule\.([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_-]*))?`)
	refData     = regexp.MustCompile(`\bdata\.([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)`)
	refResource = regexp.MustCompile(`(?:^|[^.\w"])((?:google|google-beta|random|null|time)_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)`)
)

// undefinedRefs lists the references of m that name nothing; child
// resolves a module block to its loaded source module (nil: not local).
func undefinedRefs(m *tfModule, child func(tfBlock) *tfModule) []string {
	var bad []string
	for file, code := range m.code {
		add := func(format string, args ...any) {
			bad = append(bad, fmt.Sprintf("%s/%s: ", filepath.Base(m.dir), file)+fmt.Sprintf(format, args...))
		}
		for _, r := range refVar.FindAllStringSubmatch(code, -1) {
			if !m.variables[r[1]] {
				add("var.%s is not declared", r[1])
			}
		}
		for _, r := range refLocal.FindAllStringSubmatch(code, -1) {
			if !m.locals[r[1]] {
				add("local.%s is not defined", r[1])
			}
		}
		for _, r := range refData.FindAllStringSubmatch(code, -1) {
			if !m.data[r[1]+"."+r[2]] {
				add("data.%s.%s is not declared", r[1], r[2])
			}
		}
		for _, r := range refResource.FindAllStringSubmatch(code, -1) {
			if !m.resources[r[1]+"."+r[2]] {
				add("%s.%s is not declared", r[1], r[2])
			}
		}
		for _, r := range refModule.FindAllStringSubmatch(code, -1) {
			mod, ok := m.modules[r[1]]
			if !ok {
				add("module.%s is not declared", r[1])
				continue
			}
			if c := child(mod); c != nil && r[2] != "" && !c.outputs[r[2]] {
				add("module.%s.%s: %s has no output %q", r[1], r[2], filepath.Base(c.dir), r[2])
			}
		}
	}
	sort.Strings(bad)
	return slicesCompact(bad)
}

func slicesCompact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func TestTerraformReferencesResolve(t *testing.T) {
	t.Parallel()
	root, _ := repo(t)
	rootMod := loadTFModule(t, filepath.Join(root, "terraform"))
	children := map[string]*tfModule{}
	child := func(b tfBlock) *tfModule {
		src, ok := stringLiteral(b.Attrs["source"])
		if !ok || !strings.HasPrefix(src, "./") {
			return nil
		}
		dir := filepath.Join(rootMod.dir, filepath.FromSlash(src))
		if c, ok := children[dir]; ok {
			return c
		}
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("module source %s does not exist", src)
			return nil
		}
		c := loadTFModule(t, dir)
		children[dir] = c
		return c
	}
	bad := undefinedRefs(rootMod, child)
	for _, b := range rootMod.modules {
		c := child(b)
		if c == nil {
			continue
		}
		// Every argument a module call passes is a variable of the module,
		// and every variable without a default is passed.
		for arg := range b.Attrs {
			if arg != "source" && arg != "count" && arg != "for_each" && arg != "depends_on" && arg != "providers" && !c.variables[arg] {
				bad = append(bad, fmt.Sprintf("module %q passes %s, which %s does not declare", b.Labels[0], arg, filepath.Base(c.dir)))
			}
		}
		for file, blocks := range c.blocks {
			for _, v := range blocks {
				if v.Type == "variable" && len(v.Labels) == 1 {
					if _, hasDefault := v.Attrs["default"]; !hasDefault {
						if _, passed := b.Attrs[v.Labels[0]]; !passed {
							bad = append(bad, fmt.Sprintf("module %q does not pass %s (%s/%s, no default)", b.Labels[0], v.Labels[0], filepath.Base(c.dir), file))
						}
					}
				}
			}
		}
	}
	for _, c := range children {
		bad = append(bad, undefinedRefs(c, func(tfBlock) *tfModule { return nil })...)
	}
	for _, b := range bad {
		t.Error(b)
	}
}

// The checks above must find what they look for: a broken copy fails.
func TestTerraformReferenceCheckFindsBreakage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := `
variable "used" {}
locals { a = var.used } # local.ghost in a comment is fine
resource "google_service_account" "sa" { account_id = "${local.a}-${var.missing}" }
output "x" { value = google_service_account.sa.email }
output "y" { value = google_service_account.other.email }
output "z" { value = local.nope }
output "w" { value = module.m.out }
output "url" { value = "https://example.com//path var.prose" }
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got := undefinedRefs(loadTFModule(t, dir), func(tfBlock) *tfModule { return nil })
	want := []string{
		filepath.Base(dir) + "/main.tf: google_service_account.other is not declared",
		filepath.Base(dir) + "/main.tf: local.nope is not defined",
		filepath.Base(dir) + "/main.tf: module.m is not declared",
		filepath.Base(dir) + "/main.tf: var.missing is not declared",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("undefined references (-want +got):\n%s", diff)
	}
}

// Every function module gets, from terraform/modules/function, what its
// manifest kind needs: a runtime service account always; for event and
// scheduled functions an invoker account (its run.invoker binding on the
// function is added by deploy.sh, which terraform cannot see as a resource
// — checked there), an Eventarc trigger through deploy.sh's
// --trigger-topic for events, and a Cloud Scheduler job for scheduled ones.
func TestFunctionModulesHaveWhatTheirKindNeeds(t *testing.T) {
	t.Parallel()
	root, m := repo(t)
	rootMod := loadTFModule(t, filepath.Join(root, "terraform"))
	fn := loadTFModule(t, filepath.Join(root, "terraform", "modules", "function"))
	res := map[string]tfBlock{}
	for _, blocks := range fn.blocks {
		for _, b := range blocks {
			if b.Type == "resource" && len(b.Labels) == 2 {
				res[b.Labels[0]+"."+b.Labels[1]] = b
			}
		}
	}
	// The conditions the module creates each resource under, as written.
	want := map[string]string{
		"google_service_account.runtime":                         "",
		"google_service_account.invoker":                         "local.has_invoker ? 1 : 0",
		"google_cloud_scheduler_job.this":                        `local.kind == "scheduled" ? 1 : 0`,
		"google_service_account_iam_member.pubsub_token_creator": `local.kind == "event" ? 1 : 0`,
	}
	for name, count := range want {
		b, ok := res[name]
		switch {
		case !ok:
			t.Errorf("modules/function: no resource %s", name)
		case b.Attrs["count"] != count:
			t.Errorf("modules/function: %s has count = %q, want %q", name, b.Attrs["count"], count)
		}
	}
	var hasInvoker string
	for _, blocks := range fn.blocks {
		for _, b := range blocks {
			if b.Type == "locals" && b.Attrs["has_invoker"] != "" {
				hasInvoker = b.Attrs["has_invoker"]
			}
		}
	}
	if hasInvoker != `contains(["event", "scheduled"], local.kind)` {
		t.Errorf("modules/function: local.has_invoker = %q, want it true for event and scheduled functions", hasInvoker)
	}
	if job := res["google_cloud_scheduler_job.this"]; !strings.Contains(fn.code["main.tf"], "schedule    = var.spec.schedule") && job.Attrs["schedule"] != "var.spec.schedule" {
		t.Errorf("modules/function: the scheduler job's schedule is %q, want var.spec.schedule", job.Attrs["schedule"])
	}
	deploy, err := os.ReadFile(filepath.Join(root, "deploy.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"add-invoker-policy-binding", "--trigger-topic=", "--trigger-service-account=\"$INVOKER_SA_PREFIX$name"} {
		if !strings.Contains(string(deploy), s) {
			t.Errorf("deploy.sh lacks %q: event functions need their Eventarc trigger and the invoker binding", s)
		}
	}
	for _, f := range m.Functions {
		mod, ok := rootMod.modules[f.TerraformModule()]
		if !ok {
			continue // TestTerraformModulePerFunction reports it
		}
		if got, want := mod.Attrs["spec"], fmt.Sprintf(`local.functions[%q]`, f.Name); got != want {
			t.Errorf("module %q: spec = %s, want %s (its own manifest entry)", f.TerraformModule(), got, want)
		}
		switch f.Kind {
		case manifest.KindScheduled:
			if f.Schedule == "" {
				t.Errorf("%s: scheduled function without schedule: its Cloud Scheduler job would have none", f.Name)
			}
		case manifest.KindEvent:
			if f.Trigger == "" {
				t.Errorf("%s: event function without trigger: deploy.sh would create no Eventarc trigger", f.Name)
			}
		}
	}
}
