package ingest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

const rule60 = "════════════════════════════════════════════════════════════"

// bannerWith builds a banner of the given field lines.
func bannerWith(fields ...string) string {
	return strings.Join(append(append([]string{rule60, BannerTitle, rule60}, fields...), rule60), "\n")
}

var allFields = []string{
	"Ingestor ID: x",
	"📈 Total Records Found: 1,000",
	"✅ Successfully Processed: 1,000",
	"💾 Inserted to Database: 1,000",
	"🚀 Sent to API: 1,000",
	"⏭️  Skipped Records: 0",
	"📁 File Transfer Failures: 0",
	"❌ Failed DB Insertion: 0",
	"❌ Failed to Send to API: 0",
}

func without(label string) []string {
	var out []string
	for _, f := range allFields {
		if !strings.Contains(f, label) {
			out = append(out, f)
		}
	}
	return out
}

func replaced(label, line string) []string {
	out := append([]string{}, allFields...)
	for i, f := range out {
		if strings.Contains(f, label) {
			out[i] = line
		}
	}
	return out
}

// A banner that does not give every count, or gives one that is not a plain
// count, must not pass for a clean run: the parser reports no whole banner
// (result unknown, exit 9) instead.
func TestBannerIncompleteOrUnreadableIsNotClean(t *testing.T) {
	tests := []struct {
		name string
		log  string
	}{
		{"only the ingestor id", bannerWith("Ingestor ID: x")},
		{"no failed DB insertion line", bannerWith(without("Failed DB Insertion:")...)},
		{"no total line", bannerWith(without("Total Records Found:")...)},
		{"failures with a space as thousands separator", bannerWith(replaced("Failed DB Insertion:", "❌ Failed DB Insertion: 1 000")...)},
		{"failures followed by a word", bannerWith(replaced("Failed DB Insertion:", "❌ Failed DB Insertion: 3 records")...)},
		{"negative failures", bannerWith(replaced("Failed DB Insertion:", "❌ Failed DB Insertion: -3")...)},
		{"misplaced commas", bannerWith(replaced("Total Records Found:", "📈 Total Records Found: 1,0,00")...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, done := ParseBanner(tt.log)
			if done && s.Clean() {
				t.Errorf("banner read as a clean run: %+v", s)
			}
		})
	}
	// The whole banner still reads, in any field order and with CRLF.
	rev := append([]string{}, allFields...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	for name, log := range map[string]string{
		"in order":     bannerWith(allFields...),
		"reversed":     bannerWith(rev...),
		"CRLF":         strings.ReplaceAll(bannerWith(allFields...), "\n", "\r\n"),
		"plain digits": bannerWith(replaced("Total Records Found:", "📈 Total Records Found: 1000")...),
	} {
		s, done := ParseBanner(log)
		if !done || !s.Clean() || s.Total != 1000 {
			t.Errorf("%s: whole clean banner read as done=%v %+v", name, done, s)
		}
	}
}

// Whatever the jobs-manager writes back, the bearer token never reaches an
// error message (which also lands in the -o json report).
func TestSubmitErrorNeverEchoesTheToken(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.secret-token-value"
	for _, status := range []int{201, 400, 401, 403, 404, 409, 422, 500} {
		for _, shape := range []string{"plain", "detail", "list"} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h := r.Header.Get("Authorization")
				w.WriteHeader(status)
				switch shape {
				case "plain":
					_, _ = w.Write([]byte("echo: " + h))
				case "detail":
					_, _ = w.Write([]byte(`{"detail":"bad header ` + h + `"}`))
				case "list":
					_, _ = w.Write([]byte(`{"detail":[{"loc":["header","` + h + `"],"msg":"bad ` + h + `"}]}`))
				}
			}))
			_, err := Submit(context.Background(), srv.Client(), srv.URL, token, Request{IdempotencyKey: "k"})
			srv.Close()
			if err == nil {
				t.Errorf("%d %s: no error", status, shape)
				continue
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "secret-token-value") {
				t.Errorf("%d %s: the token leaked into the error: %v", status, shape, err)
			}
			want := exitcode.Submit
			if status == 401 || status == 403 {
				want = exitcode.Permission
			}
			if code := exitcode.Of(err); code != want {
				t.Errorf("%d %s: exit %d, want %d", status, shape, code, want)
			}
		}
	}
}

// A token request that fails for another reason than a missing account or
// permission (the apiserver erring, a timeout) leaves the run unsubmitted:
// exit 8, not the generic exit 1.
func TestTokenRequestServerErrorExits8(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcd timeout"))
	})
	_, err := Token(context.Background(), client, "tb", "ingestor")
	if code := exitcode.Of(err); code != exitcode.Submit {
		t.Errorf("exit %d, want %d (%v)", code, exitcode.Submit, err)
	}
}
