package manifest_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
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
