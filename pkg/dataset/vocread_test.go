package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// flatTree renders a tree as one line per element: depth, name, start line
// and text, so two readers' trees compare with cmp.Diff.
func flatTree(n *xnode) []string {
	var out []string
	var walk func(n *xnode, depth int)
	walk = func(n *xnode, depth int) {
		out = append(out, fmt.Sprintf("%d <%s> line %d text %q", depth, n.name, n.line, n.text))
		for _, k := range n.kids {
			walk(k, depth+1)
		}
	}
	walk(n, 0)
	return out
}

// checkScanAgrees fails when scanVOC takes a document that encoding/xml
// refuses or reads differently.
func checkScanAgrees(t *testing.T, doc string) (taken bool) {
	t.Helper()
	fast, ok := scanVOC(doc)
	if !ok {
		return false
	}
	ref, err := decodeXML([]byte(doc))
	if err != nil {
		t.Fatalf("scanVOC takes %q, encoding/xml refuses it: %v", doc, err)
	}
	if d := cmp.Diff(flatTree(ref), flatTree(fast)); d != "" {
		t.Fatalf("scanVOC reads %q unlike encoding/xml (-encoding/xml +scanVOC):\n%s", doc, d)
	}
	return true
}

var vocDocs = func() []string {
	valid := string(fixture.VOC("img_00000.jpg", 40, 32, []string{"car", "person"}))
	return []string{
		valid,
		`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + valid,
		`<?xml version='1.0' encoding='utf-8' standalone='no'?>` + valid,
		`<?xml version="1.1"?>` + valid,
		`<?xml version="1.0" encoding="ISO-8859-1"?>` + valid,
		`<?xml-stylesheet href="a.xsl"?>` + valid,
		strings.ReplaceAll(valid, "\n", "\r\n"),
		strings.ReplaceAll(valid, "\n", "\r"),
		strings.Replace(valid, "<annotation>", `<annotation verified="yes" n='1'>`, 1),
		strings.Replace(valid, "<annotation>", `<annotation a="1"b="2">`, 1),
		strings.Replace(valid, "<annotation>", `<annotation a=1>`, 1),
		strings.Replace(valid, "<annotation>", `<annotation a="x<y">`, 1),
		strings.Replace(valid, "<annotation>", `<annotation a="&amp;">`, 1),
		strings.Replace(valid, "<annotation>", `<annotation a>`, 1),
		strings.Replace(valid, "<segmented>0</segmented>", "<segmented/>", 1),
		strings.Replace(valid, "<segmented>0</segmented>", "<segmented />", 1),
		strings.Replace(valid, "<segmented>0</segmented>", "<segmented/ >", 1),
		strings.Replace(valid, "<name>car</name>", "<name>ca<!-- c -->r</name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name>car<!-- a -- b --></name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name>car<!---></name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name>R&amp;D</name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name>café 🚗</name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name>caf\xe9</name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name>a\x01b</name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name>a]]>b</name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name>a > b</name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name><![CDATA[car]]></name>", 1),
		strings.Replace(valid, "<name>car</name>", "<x:name>car</x:name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name>car</nam>", 1),
		strings.Replace(valid, "<name>car</name>", "<name>car</name >", 1),
		strings.Replace(valid, "<name>car</name>", "<name>car</name x>", 1),
		strings.Replace(valid, "<name>car</name>", "<1name>car</1name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name-1.a>car</name-1.a>", 1),
		strings.Replace(valid, "<name>car</name>", "<näme>car</näme>", 1),
		strings.Replace(valid, "<name>car</name>", "< name>car</name>", 1),
		`<!DOCTYPE a [<!ENTITY x "car">]>` + valid,
		"\xef\xbb\xbf" + valid,
		"text before" + valid + "text after",
		valid + valid,
		valid + "<more/>",
		"<annotation>\n  <folder>images</folder>\n  <object>\n",
		"",
		"   \n",
		"<a/>",
		"<a><b></a></b>",
		"</a>",
		"<a>",
		"<a",
		"<!--",
		"<!-- x --",
		"<?xml",
		"<a><b><c><d><e><f><g><h><i><j><k><l><m><n><o><p>x</p></o></n></m></l></k></j></i></h></g></f></e></d></c></b></a>",
		"<a><b><c><d><e><f><g><h><i><j><k><l><m><n><o><p><q>x</q></p></o></n></m></l></k></j></i></h></g></f></e></d></c></b></a>",
		"<a><b><c><d><e><f><g><h><i><j><k><l><m><n><o><p><q/></p></o></n></m></l></k></j></i></h></g></f></e></d></c></b></a>",
	}
}()

// TestScanVOCAgrees: on every document scanVOC takes, encoding/xml gives the
// same tree; and scanVOC takes the plain files annotation tools write.
func TestScanVOCAgrees(t *testing.T) {
	taken := 0
	for _, doc := range vocDocs {
		if checkScanAgrees(t, doc) {
			taken++
		}
	}
	valid := string(fixture.VOC("img_00000.jpg", 40, 32, []string{"car", "person"}))
	for _, doc := range []string{valid, `<?xml version="1.0"?>` + "\n" + valid, strings.ReplaceAll(valid, "\n", "\r\n"),
		strings.Replace(valid, "<annotation>", `<annotation verified="yes">`, 1)} {
		if _, ok := scanVOC(doc); !ok {
			t.Errorf("scanVOC declines a plain annotation:\n%s", doc)
		}
	}
	if taken < 10 {
		t.Errorf("scanVOC took only %d of %d documents", taken, len(vocDocs))
	}
}

// TestScanVOCDeclines: what scanVOC must leave to encoding/xml.
func TestScanVOCDeclines(t *testing.T) {
	valid := string(fixture.VOC("img_00000.jpg", 40, 32, []string{"car"}))
	for _, doc := range []string{
		`<!DOCTYPE a [<!ENTITY x "car">]>` + valid,
		strings.Replace(valid, "<name>car</name>", "<name>R&amp;D</name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name><![CDATA[car]]></name>", 1),
		strings.Replace(valid, "<name>car</name>", "<name>caf\xe9</name>", 1),
		"<annotation>\n  <folder>images</folder>\n  <object>\n",
		valid + valid,
	} {
		if _, ok := scanVOC(doc); ok {
			t.Errorf("scanVOC takes %q", doc)
		}
	}
}

// TestParseXMLBounded: a file over the cap is refused with its own message,
// and a file bigger than the read buffer is read whole.
func TestParseXMLBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.xml")
	writeFile(t, big, "<annotation>"+strings.Repeat(" ", maxAnnotationBytes)+"</annotation>")
	_, err := parseXML(big)
	if err == nil || !strings.Contains(err.Error(), "an annotation may hold") {
		t.Fatalf("parseXML of a file over the cap: %v", err)
	}
	long := filepath.Join(dir, "long.xml")
	writeFile(t, long, "<annotation><folder>"+strings.Repeat("x", 100<<10)+"</folder></annotation>")
	root, err := parseXML(long)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(root.child("folder").text); got != 100<<10 {
		t.Fatalf("<folder> text is %d bytes, want %d", got, 100<<10)
	}
	if _, err := parseXML(filepath.Join(dir, "none.xml")); !os.IsNotExist(err) {
		t.Fatalf("parseXML of a missing file: %v", err)
	}
}

// FuzzScanVOC: scanVOC never takes what encoding/xml refuses or reads
// differently.
func FuzzScanVOC(f *testing.F) {
	for _, doc := range vocDocs {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		checkScanAgrees(t, doc)
	})
}
