// Package outputschema checks a command's -o json output against the
// contract (schema/<command>.json, docs/json-output.md) for tests: exactly
// one object, valid against the schema, no null anywhere, and no field the
// schema does not declare.
package outputschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/xeipuuv/gojsonschema"

	"github.com/tracebloc/kubectl-tracebloc/schema"
)

// Check validates stdout, the whole standard output of command run with
// -o json, and returns the object.
func Check(command string, stdout []byte) (map[string]any, error) {
	doc, err := schema.Output(command)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(stdout))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("stdout is not one JSON object: %w: %q", err, clip(stdout))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("stdout holds more than one JSON value: %q", clip(stdout))
	}
	res, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(doc), gojsonschema.NewBytesLoader(stdout))
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, e := range res.Errors() {
		problems = append(problems, e.String())
	}
	var s map[string]any
	if err := json.Unmarshal(doc, &s); err != nil {
		return nil, err
	}
	undeclared("", obj, s, &problems)
	if len(problems) > 0 {
		sort.Strings(problems)
		return obj, fmt.Errorf("%s -o json breaks schema/%s.json:\n  %s\nin %s", command, command, strings.Join(problems, "\n  "), clip(stdout))
	}
	return obj, nil
}

// undeclared reports nulls and the fields of v that s (a schema node)
// does not declare, where s lists its properties.
func undeclared(at string, v any, s map[string]any, problems *[]string) {
	switch v := v.(type) {
	case nil:
		*problems = append(*problems, fmt.Sprintf("%s is null: arrays are [] and absent fields are left out", orRoot(at)))
	case map[string]any:
		props, listed := s["properties"].(map[string]any)
		for k, sub := range v {
			var subSchema map[string]any
			if listed {
				p, ok := props[k].(map[string]any)
				if !ok {
					*problems = append(*problems, fmt.Sprintf("%s.%s is not declared in the schema (and so not in docs/json-output.md)", orRoot(at), k))
					continue
				}
				subSchema = p
			}
			undeclared(at+"."+k, sub, subSchema, problems)
		}
	case []any:
		items, _ := s["items"].(map[string]any)
		for i, sub := range v {
			undeclared(fmt.Sprintf("%s[%d]", at, i), sub, items, problems)
		}
	}
}

func orRoot(at string) string {
	if at == "" {
		return "the object"
	}
	return at
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}
