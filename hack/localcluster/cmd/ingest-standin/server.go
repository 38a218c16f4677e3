package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	authnv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// Fault switches, by the table's prefix (documented in hack/localcluster/README.md).
const (
	faultGone    = "fault_gone_"    // the jobs-manager drops the connection without an answer
	faultNoStart = "fault_nostart_" // the Job's pod uses an image that does not exist
	faultFail    = "fault_fail_"    // the ingestor fails
	faultSkip    = "fault_skip_"    // the ingestor skips a record
	faultSlow    = "fault_slow_"    // the ingestor takes about 20 s
	faultRetry   = "fault_retry_"   // the Job's first pod fails, its second (backoffLimit 1) succeeds
	faultMemory  = "fault_memory_"  // the ingestor outgrows its memory limit and the node kills it
)

const (
	runLabel      = "tracebloc.io/ingestion-run"
	missingImage  = "localhost/tracebloc/does-not-exist:1"
	configKey     = "ingest.yaml"
	authzKey      = "ingestion-authz.yaml"
	maxBodyBytes  = 1 << 20
	ingestorUID   = 65534
	jobDeadline   = 600
	serviceAcctNS = "system:serviceaccount:"
)

var (
	keyRule   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	tableRule = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
)

type server struct {
	client    kubernetes.Interface
	namespace string
	release   string
	image     string
	pvc       string
	log       io.Writer
	// perIngestionTables is the chart's switch (env PER_INGESTION_TABLES).
	perIngestionTables bool
}

type submitRequest struct {
	IngestConfig   string `json:"ingest_config"`
	IdempotencyKey string `json:"idempotency_key"`
	ImageDigest    string `json:"image_digest"`
}

type submitReply struct {
	JobName   string `json:"job_name"`
	Namespace string `json:"namespace"`
	Replay    bool   `json:"replay"`
}

// spec is the part of ingest.v1 the stand-in checks and uses.
type spec struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Category   string `json:"category"`
	Table      string `json:"table"`
	Intent     string `json:"intent"`
	CSV        string `json:"csv"`
	Images     string `json:"images"`
	// Annotations is object detection's folder of Pascal VOC files: its
	// records since layout contract v4, which has no csv for it.
	Annotations string `json:"annotations"`
	Texts       string `json:"texts"`
	DataID      dataID `json:"data_id"`
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/internal/submit-ingestion-run", s.submit)
	return mux
}

func detail(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"detail": fmt.Sprintf(format, args...)})
}

func (s *server) submit(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		detail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		detail(w, http.StatusUnauthorized, "missing bearer token")
		return
	}
	var req submitRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(&req); err != nil {
		detail(w, http.StatusUnprocessableEntity, "body is not JSON: %v", err)
		return
	}
	ctx := r.Context()
	sa, err := s.authenticate(ctx, token)
	if err != nil {
		fmt.Fprintf(s.log, "refused a token: %v\n", err)
		detail(w, http.StatusUnauthorized, "%v", err)
		return
	}
	sp, err := validate(req)
	if err != nil {
		detail(w, http.StatusUnprocessableEntity, "%v", err)
		return
	}
	if err := s.authorize(ctx, sa, sp.Table); err != nil {
		fmt.Fprintf(s.log, "refused %s for table %s: %v\n", sa, sp.Table, err)
		detail(w, http.StatusForbidden, "%v", err)
		return
	}
	if err := s.perIngestionRefusal(sp.Category); err != nil {
		fmt.Fprintf(s.log, "refused table %s: %v\n", sp.Table, err)
		detail(w, http.StatusUnprocessableEntity, "%v", err)
		return
	}
	if strings.HasPrefix(sp.Table, faultGone) {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	reply, code, err := s.createRun(ctx, req, sp, token)
	if err != nil {
		fmt.Fprintf(s.log, "creating the run for key %s: %v\n", req.IdempotencyKey, err)
		detail(w, http.StatusInternalServerError, "creating the run: %v", err)
		return
	}
	fmt.Fprintf(s.log, "run %s for table %s, key %s, replay %v\n", reply.JobName, sp.Table, req.IdempotencyKey, reply.Replay)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(reply)
}

// authenticate asks the apiserver who the token is, and accepts only a
// ServiceAccount of the stand-in's namespace.
func (s *server) authenticate(ctx context.Context, token string) (string, error) {
	tr, err := s.client.AuthenticationV1().TokenReviews().Create(ctx,
		&authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token review failed: %v", err)
	}
	if !tr.Status.Authenticated {
		return "", fmt.Errorf("invalid token")
	}
	rest, ok := strings.CutPrefix(tr.Status.User.Username, serviceAcctNS)
	ns, name, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || ns != s.namespace {
		return "", fmt.Errorf("%s is not a service account of namespace %s", tr.Status.User.Username, s.namespace)
	}
	return name, nil
}

type authzPolicy struct {
	Allowed []struct {
		ServiceAccount string   `json:"service_account"`
		Namespace      string   `json:"namespace"`
		TablePrefixes  []string `json:"table_prefixes"`
	} `json:"allowed"`
}

// authorize reads the authz ConfigMap on every request, so a test can
// change it and see the effect at once.
func (s *server) authorize(ctx context.Context, sa, table string) error {
	name := s.release + "-ingestion-authz"
	cm, err := s.client.CoreV1().ConfigMaps(s.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the authz policy %s: %v", name, err)
	}
	var pol authzPolicy
	if err := yaml.Unmarshal([]byte(cm.Data[authzKey]), &pol); err != nil {
		return fmt.Errorf("the authz policy %s does not parse: %v", name, err)
	}
	for _, a := range pol.Allowed {
		if a.ServiceAccount != sa || a.Namespace != s.namespace {
			continue
		}
		for _, p := range a.TablePrefixes {
			if p == "*" || strings.HasPrefix(table, p) {
				return nil
			}
		}
	}
	return fmt.Errorf("service account %s/%s may not ingest table %s", s.namespace, sa, table)
}

func validate(req submitRequest) (*spec, error) {
	if !keyRule.MatchString(req.IdempotencyKey) {
		return nil, fmt.Errorf("idempotency_key must match %s", keyRule)
	}
	if req.ImageDigest != "" && !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(req.ImageDigest) {
		return nil, fmt.Errorf("image_digest must be sha256:<64 hex>")
	}
	var sp spec
	if err := yaml.Unmarshal([]byte(req.IngestConfig), &sp); err != nil {
		return nil, fmt.Errorf("ingest_config is not YAML: %v", err)
	}
	var problems []string
	if sp.APIVersion != "tracebloc.io/v1" || sp.Kind != "IngestConfig" {
		problems = append(problems, "apiVersion/kind must be tracebloc.io/v1 IngestConfig")
	}
	if !tableRule.MatchString(sp.Table) {
		problems = append(problems, fmt.Sprintf("table %q is not a valid table name", sp.Table))
	}
	if sp.Category == "" {
		problems = append(problems, "category is required")
	}
	if sp.Intent != "train" && sp.Intent != "test" {
		problems = append(problems, "intent must be train or test")
	}
	paths := map[string]string{"csv": sp.CSV, "images": sp.Images}
	if sp.Category == objectDetection {
		problems = append(problems, odSpecProblems(req.IngestConfig)...)
		paths = map[string]string{"images": sp.Images, "annotations": sp.Annotations}
	}
	for field, p := range paths {
		if p == "" && field == "images" {
			continue // tabular data has no images
		}
		if !strings.HasPrefix(p, "/data/shared/") || strings.Contains(p, "..") {
			problems = append(problems, field+" must be a path under /data/shared/")
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("ingest_config is not valid: %s", strings.Join(problems, "; "))
	}
	return &sp, nil
}

// createRun makes the ConfigMap, Secret and Job of a run, or finds the Job
// an earlier submit with the same key made.
func (s *server) createRun(ctx context.Context, req submitRequest, sp *spec, token string) (*submitReply, int, error) {
	if job, err := s.existing(ctx, req.IdempotencyKey); err != nil || job != "" {
		return &submitReply{JobName: job, Namespace: s.namespace, Replay: true}, http.StatusOK, err
	}
	sum := sha256.Sum256([]byte(s.namespace + "/" + req.IdempotencyKey))
	h := hex.EncodeToString(sum[:])[:10]
	labels := map[string]string{runLabel: req.IdempotencyKey, "app.kubernetes.io/managed-by": "jobs-manager"}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: s.namespace, Labels: labels}
	}
	cm := &corev1.ConfigMap{ObjectMeta: meta("ingest-config-" + h), Data: map[string]string{configKey: req.IngestConfig}}
	if _, err := s.client.CoreV1().ConfigMaps(s.namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, 0, err
	}
	sec := &corev1.Secret{ObjectMeta: meta("ingest-token-" + h), StringData: map[string]string{"token": token}}
	if _, err := s.client.CoreV1().Secrets(s.namespace).Create(ctx, sec, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, 0, err
	}
	job := s.buildJob(meta("ingest-job-"+h), h, sp)
	if _, err := s.client.BatchV1().Jobs(s.namespace).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return &submitReply{JobName: job.Name, Namespace: s.namespace, Replay: true}, http.StatusOK, nil
		}
		return nil, 0, err
	}
	return &submitReply{JobName: job.Name, Namespace: s.namespace}, http.StatusCreated, nil
}

func (s *server) existing(ctx context.Context, key string) (string, error) {
	list, err := s.client.BatchV1().Jobs(s.namespace).List(ctx, metav1.ListOptions{LabelSelector: runLabel + "=" + key})
	if err != nil || len(list.Items) == 0 {
		return "", err
	}
	return list.Items[0].Name, nil
}

func (s *server) buildJob(meta metav1.ObjectMeta, h string, sp *spec) *batchv1.Job {
	image := s.image
	if strings.HasPrefix(sp.Table, faultNoStart) {
		image = missingImage
	}
	backoff := int32(0)
	if strings.HasPrefix(sp.Table, faultRetry) {
		backoff = 1
	}
	small := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}
	limit := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	return &batchv1.Job{
		ObjectMeta: meta,
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To(backoff),
			ActiveDeadlineSeconds: ptr.To(int64(jobDeadline)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{runLabel: meta.Labels[runLabel]}},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					AutomountServiceAccountToken:  ptr.To(false),
					TerminationGracePeriodSeconds: ptr.To(int64(2)),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(ingestorUID)), RunAsGroup: ptr.To(int64(ingestorUID)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name: "ingestor", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
						Command: []string{"/bin/ingest-standin", "ingestor", "--config", "/etc/ingest/" + configKey},
						Env:     []corev1.EnvVar{{Name: "INGESTOR_ID", Value: meta.Name}},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						Resources: corev1.ResourceRequirements{Requests: small, Limits: limit},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "shared", MountPath: "/data/shared"},
							{Name: "config", MountPath: "/etc/ingest", ReadOnly: true},
							{Name: "token", MountPath: "/var/run/secrets/ingest", ReadOnly: true},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "shared", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: s.pvc}}},
						{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "ingest-config-" + h}}}},
						{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "ingest-token-" + h}}},
					},
				},
			},
		},
	}
}
