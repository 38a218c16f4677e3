package ingest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func TestSubmit(t *testing.T) {
	const token = "secret-token-value"
	tests := []struct {
		name     string
		status   int
		body     string
		want     *Submission
		wantCode int
		wantErr  string
	}{
		{name: "created", status: 201, body: `{"job_name":"ingest-job-ab12","namespace":"tracebloc","replay":false}`,
			want: &Submission{JobName: "ingest-job-ab12", Namespace: "tracebloc"}},
		{name: "replay", status: 200, body: `{"job_name":"ingest-job-ab12","namespace":"tracebloc","replay":true}`,
			want: &Submission{JobName: "ingest-job-ab12", Namespace: "tracebloc", Replay: true}},
		{name: "forbidden", status: 403, body: `{"detail":"table cats not allowed for system:serviceaccount:tracebloc:ingestor"}`,
			wantCode: exitcode.Permission, wantErr: "table cats not allowed"},
		{name: "unauthorized", status: 401, body: `{"detail":"invalid token"}`, wantCode: exitcode.Permission, wantErr: "invalid token"},
		{name: "validation error", status: 422, body: `{"detail":[{"loc":["body","ingest_config"],"msg":"field required","type":"missing"}]}`,
			wantCode: exitcode.Submit, wantErr: "body.ingest_config: field required"},
		{name: "server error, plain body", status: 500, body: `Internal Server Error`, wantCode: exitcode.Submit, wantErr: "(500): Internal Server Error"},
		{name: "success without a job", status: 201, body: `{}`, wantCode: exitcode.Submit, wantErr: "without a job name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Request
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != SubmitPath {
					t.Errorf("request %s %s", r.Method, r.URL.Path)
				}
				if h := r.Header.Get("Authorization"); h != "Bearer "+token {
					t.Errorf("Authorization = %q", h)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
					t.Errorf("body: %v", err)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			req := Request{IngestConfig: "table: cats\n", IdempotencyKey: "k-1"}
			sub, err := Submit(context.Background(), srv.Client(), srv.URL+"/", token, req)
			if diff := cmp.Diff(req, got); diff != "" {
				t.Errorf("body sent (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, sub); diff != "" {
				t.Errorf("submission (-want +got):\n%s", diff)
			}
			if code := exitcode.Of(err); code != tt.wantCode {
				t.Errorf("exit code %d, want %d (%v)", code, tt.wantCode, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want it to contain %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("the token leaked into the error: %v", err)
			}
		})
	}
}

func TestSubmitUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := Submit(context.Background(), nil, url, "t", Request{IdempotencyKey: "k"})
	if code := exitcode.Of(err); code != exitcode.Submit {
		t.Fatalf("exit code %d, want %d (%v)", code, exitcode.Submit, err)
	}
}

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"cats-2026.07_30", true},
		{"A", true},
		{strings.Repeat("a", 63), true},
		// The Job carries the key as a label value: at most 63
		// characters, a letter or digit at each end.
		{strings.Repeat("a", 64), false},
		{strings.Repeat("a", 65), false},
		{"run.", false},
		{".run", false},
		{"-run", false},
		{"run-", false},
		{"_run", false},
		{"run_", false},
		{"_", false},
		{"", false},
		{"has space", false},
		{"slash/no", false},
		{"ünïcode", false},
		{NewKey(), true},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			err := ValidateKey(tt.key)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateKey(%q) = %v, want ok=%v", tt.key, err, tt.ok)
			}
			if err != nil && exitcode.Of(err) != exitcode.BadFlags {
				t.Errorf("exit code %d", exitcode.Of(err))
			}
			if err != nil && !strings.Contains(err.Error(), "beginning and ending with a letter or digit (e.g. --idempotency-key=cats-2026-07-30)") {
				t.Errorf("the error names neither the rule nor the fix: %v", err)
			}
		})
	}
	if a, b := NewKey(), NewKey(); a == b {
		t.Error("two fresh keys are equal")
	}
}
