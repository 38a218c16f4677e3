package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
)

// hostile is a folder name as a tenant could plant it on the shared volume:
// it retitles the window, moves the cursor up, erases the line, paints a
// green "staged OK", rings the bell, uses the one-byte C1 CSI and reverses
// the text after it.
const hostile = "x\x1b]0;pwned\x07\x1b[1A\x1b[2K\x1b[32mstaged OK\x1b[0m\r\b\x7f\u009b31m\u202egnp.exe\xff"

// noControls fails when out holds a byte a terminal acts on (other than the
// newline and tab), a C1 control or a bidi override.
func noControls(t *testing.T, where, out string) {
	t.Helper()
	for i, r := range out {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e || r == 0xfffd && out[i] == 0xff {
			t.Errorf("%s: %q reached the output raw at byte %d: %q", where, r, i, out)
			return
		}
	}
}

func TestSafeEscapesVisibly(t *testing.T) {
	got := Safe(hostile)
	want := `x\x1b]0;pwned\x07\x1b[1A\x1b[2K\x1b[32mstaged OK\x1b[0m\x0d\x08\u007f\u009b31m\u202egnp.exe\xff`
	if got != want {
		t.Errorf("Safe(%q)\n = %s\nwant %s", hostile, got, want)
	}
	for _, keep := range []string{"plain", "two\nlines\tand a tab", "café 日本語 🐱", ""} {
		if Safe(keep) != keep {
			t.Errorf("Safe changed %q to %q", keep, Safe(keep))
		}
	}
}

// TestEveryOutputPathIsSafe prints the hostile name through each way the
// plugin writes: notes, warnings, errors (as main prints them), a log block
// line, a text result, a table through a tabwriter on Out, and JSON.
func TestEveryOutputPathIsSafe(t *testing.T) {
	err := fmt.Errorf("staging: remove /data/shared/.tracebloc-staging/.partial-t/%s: operation not permitted", hostile)
	paths := map[string]func(p *Printer){
		"note":    func(p *Printer) { p.Notef("removed %s", hostile) },
		"warning": func(p *Printer) { p.Warnf("leftover %s", hostile) },
		"error":   func(p *Printer) { p.Error(err) },
		"wrapped": func(p *Printer) { p.Error(fmt.Errorf("push: %w", errors.New(hostile))) },
		"log":     func(p *Printer) { p.LogLine("ingestor: " + hostile) },
		"result":  func(p *Printer) { p.Resultf("staged %s\n", hostile) },
		"table": func(p *Printer) {
			tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "NAME\tWHY\n%s\t%s\n", hostile, hostile)
			_ = tw.Flush()
		},
		"json": func(p *Printer) { _ = p.JSON(map[string]string{"name": hostile}) },
	}
	for name, print := range paths {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			p := New(&out, &errOut, false)
			print(p)
			all := out.String() + errOut.String()
			if !strings.Contains(all, "pwned") {
				t.Fatalf("nothing printed: %q", all)
			}
			noControls(t, name, all)
			if !strings.Contains(all, `\x1b]0;pwned`) && !strings.Contains(all, `\u001b]0;pwned`) {
				t.Errorf("%s: the escape is not shown visibly: %q", name, all)
			}
		})
	}
}

// TestJSONStaysValidThroughTheSafeWriter: the escapes Safe writes inside a
// JSON string are JSON's own, so a script still reads the same name.
func TestJSONStaysValidThroughTheSafeWriter(t *testing.T) {
	var out bytes.Buffer
	p := New(&out, &bytes.Buffer{}, false)
	name := "a\u009bb\u202ec\x7fd\x1be"
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.JSON(map[string]string{"name": name}))
	var back map[string]string
	must(json.Unmarshal(out.Bytes(), &back))
	if back["name"] != name {
		t.Errorf("JSON round trip: %q, want %q (output %s)", back["name"], name, out.String())
	}
}

// TestSafeWriterKeepsACharacterSplitAcrossWrites: a multi-byte character
// cut in two by the writer's caller is not taken for two bad bytes.
func TestSafeWriterKeepsACharacterSplitAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	w := NewSafeWriter(&out)
	s := []byte("日本\u009b")
	for i := range s {
		_, _ = w.Write(s[i : i+1])
	}
	if got, want := out.String(), `日本\u009b`; got != want {
		t.Errorf("byte by byte: %q, want %q", got, want)
	}
}
