package spec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

func TestParseType(t *testing.T) {
	tests := []struct {
		in      string
		want    ColumnType
		wantErr string
	}{
		{in: "varchar(64)", want: ColumnType{SQL: "VARCHAR(64)", Kind: KindText, MaxChars: 64}},
		{in: "VARCHAR( 8 )", want: ColumnType{SQL: "VARCHAR(8)", Kind: KindText, MaxChars: 8}},
		{in: "CHAR", want: ColumnType{SQL: "CHAR", Kind: KindText, MaxChars: 1}},
		{in: "char(3)", want: ColumnType{SQL: "CHAR(3)", Kind: KindText, MaxChars: 3}},
		{in: "TEXT", want: ColumnType{SQL: "TEXT", Kind: KindText, MaxChars: 65535}},
		{in: "tinyint", wantErr: "the ingestor refuses TINYINT"},
		{in: "SMALLINT", wantErr: "declare INT"},
		{in: "mediumint", wantErr: "declare INT"},
		{in: "INT", want: ColumnType{SQL: "INT", Kind: KindInt, Min: -2147483648, Max: 2147483647}},
		{in: "BIGINT", want: ColumnType{SQL: "BIGINT", Kind: KindInt, Min: -1 << 63, Max: 1<<63 - 1}},
		{in: "float", want: ColumnType{SQL: "FLOAT", Kind: KindFloat}},
		{in: "DOUBLE", want: ColumnType{SQL: "DOUBLE", Kind: KindFloat}},
		{in: "DECIMAL", want: ColumnType{SQL: "DECIMAL", Kind: KindFloat}},
		{in: "decimal(10,2)", want: ColumnType{SQL: "DECIMAL(10,2)", Kind: KindFloat}},
		{in: "NUMERIC(5)", want: ColumnType{SQL: "NUMERIC(5)", Kind: KindFloat}},
		{in: "bool", want: ColumnType{SQL: "BOOL", Kind: KindBool}},
		{in: "BOOLEAN", want: ColumnType{SQL: "BOOLEAN", Kind: KindBool}},
		{in: "DATE", want: ColumnType{SQL: "DATE", Kind: KindDate}},
		{in: "DATETIME", want: ColumnType{SQL: "DATETIME", Kind: KindDateTime}},
		{in: "timestamp", want: ColumnType{SQL: "TIMESTAMP", Kind: KindDateTime}},
		{in: "TIME", want: ColumnType{SQL: "TIME", Kind: KindTime}},
		{in: "VARCHAR", wantErr: "needs a length"},
		{in: "VARCHAR(0)", wantErr: "needs a length"},
		{in: "VARCHAR(70000)", wantErr: "needs a length"},
		{in: "CHAR(300)", wantErr: "from 1 to 255"},
		{in: "TEXT(10)", wantErr: "takes no length"},
		{in: "INT(11)", wantErr: "takes no arguments"},
		{in: "DECIMAL(5,6)", wantErr: "scale"},
		{in: "DECIMAL()", wantErr: "give a precision"},
		{in: "STRING", wantErr: `unknown type "STRING"`},
		{in: "VARCHAR(x)", wantErr: "not a whole number"},
		{in: "VARCHAR(1", wantErr: "write arguments"},
		{in: "", wantErr: "unknown type"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseType(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseType(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseType(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseSchema(t *testing.T) {
	tests := []struct {
		name    string
		arg     string
		wantArg string
		wantErr []string
	}{
		{name: "plain", arg: "age:INT,city:varchar(64)", wantArg: "age:INT,city:VARCHAR(64)"},
		{name: "comma inside a type", arg: "price:DECIMAL(10,2), qty:int", wantArg: "price:DECIMAL(10,2),qty:INT"},
		{name: "trailing comma", arg: "a:INT,", wantArg: "a:INT"},
		{name: "reserved", arg: "id:INT,x:INT", wantErr: []string{`column "id" is reserved`}},
		{name: "reserved any case", arg: "Created_At:DATETIME", wantErr: []string{`column "Created_At" is reserved`}},
		{name: "twice", arg: "a:INT,a:FLOAT", wantErr: []string{`column "a" is declared twice`}},
		{name: "no type", arg: "age", wantErr: []string{`"age" has no type`}},
		{name: "no name", arg: ":INT", wantErr: []string{"has no column name"}},
		{name: "every problem", arg: "id:INT,b:STRING,c", wantErr: []string{`"id" is reserved`, `unknown type "STRING"`, `"c" has no type`}},
		{name: "empty", arg: " , ", wantErr: []string{"declares no column"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchema(tt.arg)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ParseSchema(%q) = %v, want an error", tt.arg, s.Arg())
				}
				if exitcode.Of(err) != exitcode.BadFlags {
					t.Errorf("exit code %d, want %d", exitcode.Of(err), exitcode.BadFlags)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantArg, s.Arg()); diff != "" {
				t.Errorf("Arg (-want +got):\n%s", diff)
			}
			again, err := ParseSchema(s.Arg())
			if err != nil {
				t.Fatalf("Arg() does not parse back: %v", err)
			}
			if diff := cmp.Diff(s, again); diff != "" {
				t.Errorf("round trip (-first +second):\n%s", diff)
			}
		})
	}
}

func TestSchemaJSONAndFlag(t *testing.T) {
	s, err := ParseSchema("zeta:INT,alpha:DECIMAL(4,1),name:VARCHAR(8)")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"zeta":"INT","alpha":"DECIMAL(4,1)","name":"VARCHAR(8)"}`, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(`--schema='zeta:INT,alpha:DECIMAL(4,1),name:VARCHAR(8)'`, s.Flag()); diff != "" {
		t.Errorf("Flag (-want +got):\n%s", diff)
	}
}

func TestLabelJSON(t *testing.T) {
	tests := []struct {
		in   Label
		want string
	}{
		{Label{Column: "label"}, `"label"`},
		{Label{Column: "price", Policy: PolicyBucket}, `{"column":"price","policy":"bucket"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, string(b)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
	if err := ValidatePolicy("bucket"); err != nil {
		t.Error(err)
	}
	if err := ValidatePolicy("raw"); exitcode.Of(err) != exitcode.BadFlags {
		t.Errorf("ValidatePolicy(raw) = %v, want exit 2", err)
	}
}
