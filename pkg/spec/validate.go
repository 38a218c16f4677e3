package spec

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/xeipuuv/gojsonschema"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/schema"
)

var ingestSchema = mustLoad(schema.IngestV1)

func mustLoad(doc []byte) *gojsonschema.Schema {
	s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(doc))
	if err != nil {
		panic(fmt.Sprintf("embedded schema does not compile: %v", err))
	}
	return s
}

// compile compiles a draft-07 schema document.
func compile(schemaDoc []byte) (*gojsonschema.Schema, error) {
	return gojsonschema.NewSchema(gojsonschema.NewBytesLoader(schemaDoc))
}

// Violations validates doc (a JSON document) against s and returns every
// violation as "<path>: <message>", sorted. Tests use it to compare the
// embedded schema with the ingestor's published one.
func Violations(s *gojsonschema.Schema, doc []byte) ([]string, error) {
	res, err := s.Validate(gojsonschema.NewBytesLoader(doc))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Errors()))
	for _, e := range res.Errors() {
		out = append(out, fmt.Sprintf("%s: %s", e.Field(), e.Description()))
	}
	sort.Strings(out)
	return out, nil
}

// Validate checks s against the embedded ingest.v1 schema. A violation is a
// bad flag: the error lists each one on its own line and exits 2.
func Validate(s Spec) error {
	doc, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding spec: %w", err)
	}
	v, err := Violations(ingestSchema, doc)
	if err != nil {
		return fmt.Errorf("validating spec: %w", err)
	}
	if len(v) == 0 {
		return nil
	}
	msg := "the ingest spec built from your flags is not valid (schema ingest.v1):\n  " + strings.Join(v, "\n  ")
	if hint := categoryHint(s.Category); hint != "" {
		msg += "\n" + hint
	}
	return exitcode.Errorf(exitcode.BadFlags, "%s", msg)
}

func categoryHint(name string) string {
	if _, ok := category.Lookup(name); ok {
		return ""
	}
	return fmt.Sprintf("--task %q is not a task the ingestor knows; the tasks are:\n%s", name, category.List())
}
