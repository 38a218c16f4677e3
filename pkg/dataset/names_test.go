package dataset

import (
	"strings"
	"testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
)

// TestLongNamesAreRefusedWithTheRule: a name over 255 bytes (possible on
// macOS and Windows, which count characters) passed the pre-flight and was
// refused by the stream once the Pod existed, without a reason. The
// pre-flight refuses it first and says which rule.
func TestLongNamesAreRefusedWithTheRule(t *testing.T) {
	for _, tt := range []struct {
		name, want string
	}{
		{strings.Repeat("a", 252) + ".png", "256 bytes long, over the 255"},
		{strings.Repeat("猫", 100) + ".png", "304 bytes long"},
		{"caf\xe9.png", "not valid UTF-8"},
		{"a\x1b[2Kb.png", "control character"},
		{`a\b.png`, "backslash"},
	} {
		if SafeName(tt.name) {
			t.Errorf("SafeName(%.20q…) = true: the stream refuses it", tt.name)
		}
		if got := NameRule(tt.name); !strings.Contains(got, tt.want) {
			t.Errorf("NameRule(%.20q…) = %q, want it to say %q", tt.name, got, tt.want)
		}
	}
	for _, ok := range []string{strings.Repeat("a", 251) + ".png", strings.Repeat("猫", 83) + ".png", "kätzchen 1.png"} {
		if r := NameRule(ok); r != "" {
			t.Errorf("NameRule(%.20q…) = %q, want it staged", ok, r)
		}
	}
}

// TestNameRuleAgreesWithTheStream: every name the pre-flight takes, the
// stream takes in a folder.
func TestNameRuleAgreesWithTheStream(t *testing.T) {
	names := []string{"a.png", strings.Repeat("x", 255), strings.Repeat("x", 256), ".hidden", "a b", "a\u200bb", "a\u0085b", "..x", "x..", "-x", " x ", "日本.png"}
	for _, n := range names {
		staged := NameRule(n) == ""
		if err := proto.CheckRel("images/" + n); staged && err != nil {
			t.Errorf("the pre-flight takes %q, the stream refuses it: %v", n, err)
		}
	}
}
