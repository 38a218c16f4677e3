package cmd

import (
	"github.com/spf13/cobra"

	"github.com/tracebloc/kubectl-tracebloc/pkg/output"
)

// versionSchemaVersion is the version of the -o json object of version
// (schema/version.json): it changes only by additions.
const versionSchemaVersion = 1

// versionReport is the -o json object of version.
type versionReport struct {
	SchemaVersion int    `json:"schema_version"`
	Version       string `json:"version"`
	Error         string `json:"error,omitempty"`
	ExitCode      int    `json:"exit_code"`
}

// NewCmdVersion prints the version stamped at build time.
func NewCmdVersion(p *output.Printer) *cobra.Command {
	var format output.Format
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := format.Validate(); err != nil {
				return err
			}
			return output.Render(p, format, versionReport{SchemaVersion: versionSchemaVersion, Version: Version}, func(p *output.Printer) {
				p.Resultf("kubectl-tracebloc %s\n", Version)
			})
		},
	}
	output.AddOutputFlags(cmd.Flags(), &format, nil)
	return cmd
}
