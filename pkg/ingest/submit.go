package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// SubmitPath is the jobs-manager's endpoint for a new ingestion run.
const SubmitPath = "/internal/submit-ingestion-run"

// SubmitTimeout bounds one submit request.
const SubmitTimeout = 30 * time.Second

// Request is the body of a submit.
type Request struct {
	// IngestConfig is the ingest spec as a YAML document.
	IngestConfig   string `json:"ingest_config"`
	IdempotencyKey string `json:"idempotency_key"`
	ImageDigest    string `json:"image_digest,omitempty"`
}

// Submission is the jobs-manager's answer: the run's Job, and whether it
// already existed for this key.
type Submission struct {
	JobName   string `json:"job_name"`
	Namespace string `json:"namespace"`
	Replay    bool   `json:"replay"`
}

// Submit posts req to the jobs-manager at baseURL with token as Bearer. A
// refused token exits 5; any other failure exits 8.
func Submit(ctx context.Context, httpClient *http.Client, baseURL, token string, req Request) (*Submission, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, SubmitTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+SubmitPath, bytes.NewReader(body))
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Submit, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+token)
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	resp, err := httpClient.Do(hreq)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, exitcode.Errorf(exitcode.Submit, "the jobs-manager did not answer within %s: check its pod (kubectl logs -l app=manager -c api)", SubmitTimeout)
		}
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
			return nil, err
		}
		return nil, exitcode.Errorf(exitcode.Submit, "submitting the ingestion run: %v: check that the jobs-manager is running (kubectl get pods -l app=manager)", redact(err.Error(), token))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	// A reply may echo the request's headers: the token goes before any of
	// it reaches a message (or the -o json report).
	raw = []byte(redact(string(raw), token))
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusOK:
		var s Submission
		if err := json.Unmarshal(raw, &s); err != nil || s.JobName == "" {
			return nil, exitcode.Errorf(exitcode.Submit, "the jobs-manager answered %d without a job name (%q): is this the tracebloc jobs-manager?", resp.StatusCode, clip(string(raw)))
		}
		return &s, nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, exitcode.Errorf(exitcode.Permission,
			"the jobs-manager refused the ingestor's token (%d): %s: check the ingestion authz ConfigMap allows this service account, namespace and table prefix", resp.StatusCode, detail(raw))
	}
	return nil, exitcode.Errorf(exitcode.Submit, "the jobs-manager refused the run (%d): %s", resp.StatusCode, detail(raw))
}

// detail reads a FastAPI error body: {"detail": "..."} or a list of
// validation errors.
func detail(raw []byte) string {
	var body struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(raw, &body) != nil || len(body.Detail) == 0 {
		if s := strings.TrimSpace(string(raw)); s != "" {
			return clip(s)
		}
		return "no reason given"
	}
	var s string
	if json.Unmarshal(body.Detail, &s) == nil {
		return s
	}
	var list []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	if json.Unmarshal(body.Detail, &list) == nil && len(list) > 0 {
		parts := make([]string, len(list))
		for i, e := range list {
			loc := make([]string, len(e.Loc))
			for j, l := range e.Loc {
				loc[j] = fmt.Sprint(l)
			}
			parts[i] = strings.Join(loc, ".") + ": " + e.Msg
		}
		return strings.Join(parts, "; ")
	}
	return clip(string(body.Detail))
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// redact keeps the token out of any message.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}
